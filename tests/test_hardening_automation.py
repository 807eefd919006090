"""Issue 17, automation deliveries (item 5) and the command target (item 19), against real servers on
127.0.0.1 (stdlib http.server and socketserver) and real commands. Nothing here asserts on time: a slow
server is one that would, given long enough, answer 2xx; a delivery cut off by its deadline ends failed
and the server sees its connection broken before it has written its answer.
"""

from __future__ import annotations

import json
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest
from test_automation_targets import (
    SECRET,
    WAIT,
    LocalHTTP,
    needs_offer,
    webhook_config,
    write_config,
)

from leadtui.automation.targets import REPLY_CAP

pytestmark = [pytest.mark.usefixtures("isolated_dirs"), pytest.mark.engines]  # user folders in tmp_path

GAP = 0.2  # seconds between two bytes of a trickling server: well under any per-read timeout here
TIMEOUT = 1  # the target's timeout_seconds: a whole delivery, not one read

SMS = """
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "underwriter"
[automation.targets.underwriter]
kind = "sms"
api_base = "{url}"
account_sid = "AC0123456789abcdef"
auth_token = "tok-secret"
from = "+15555550100"
to = "{{lead.phone}}"
timeout_seconds = {timeout}
"""


class Server(LocalHTTP):
    """An HTTP server on 127.0.0.1 whose answer to every POST is written by `answer(handler, server)`.

    `broken` is set when a write failed because the client went away, and `done` when the handler
    has finished; `written` counts the bytes written.
    """

    def __init__(self, answer):
        super().__init__()
        self.answer = answer
        self.written = 0
        self.broken = threading.Event()
        self.done = threading.Event()

    def post(self, handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers.get("content-length", 0)))
        try:
            self.answer(handler, self)
        except OSError:
            self.broken.set()
        finally:
            self.done.set()

    def write(self, handler, data: bytes) -> None:
        handler.wfile.write(data)
        handler.wfile.flush()
        self.written += len(data)


def trickle_headers(handler, server: Server) -> None:
    """A complete 200 answer, one byte at a time (the status line and headers trickle)."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}":
        server.write(handler, bytes([byte]))
        time.sleep(GAP)


def trickle_body(handler, server: Server) -> None:
    """The headers at once, then a 40-byte body one byte at a time."""
    server.write(handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n")
    for _ in range(40):
        time.sleep(GAP)
        server.write(handler, b" ")


def huge_reply(handler, server: Server) -> None:
    """A 200 with a 256 MiB body, written until the client stops reading."""
    size, chunk = 256 * 2**20, b"0" * 2**20
    server.write(
        handler, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size
    )
    for _ in range(size // len(chunk)):
        server.write(handler, chunk)


def config_for(kind: str, url: str, tmp_path, monkeypatch):
    if kind == "webhook":
        monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
        return write_config(tmp_path, webhook_config(url, extra=f"timeout_seconds = {TIMEOUT}"))
    return write_config(tmp_path, SMS.format(url=url, timeout=TIMEOUT))


@pytest.mark.parametrize("kind", ["webhook", "sms"])
@pytest.mark.parametrize("answer", [trickle_headers, trickle_body])
def test_hardening_delivery_timeout_bounds_the_whole_delivery(
    make_service, open_worker, clock, tmp_path, monkeypatch, kind, answer
):
    svc = make_service()
    with Server(answer) as server:
        worker = open_worker(config_for(kind, server.url, tmp_path, monkeypatch))
        lead = needs_offer(svc)
        clock.advance(seconds=31)
        assert worker.run_once() == {"failed": 1}  # before: "sent", the slow answer read to its end
        assert server.done.wait(WAIT)
    assert server.broken.is_set()  # the connection was closed on the server mid-answer
    [row] = svc.outbox(lead_id=lead["id"])
    assert row["state"] == "failed" and f"no answer from {server.url}" in row["last_error"]
    assert f"in {TIMEOUT}s" in row["last_error"]
    assert worker.router.lease_seconds > TIMEOUT  # the lease outlasts the bounded delivery


@pytest.mark.parametrize("kind", ["webhook", "sms"])
def test_hardening_delivery_reply_read_up_to_a_cap(
    make_service, open_worker, clock, tmp_path, monkeypatch, kind
):
    svc = make_service()
    with Server(huge_reply) as server:
        worker = open_worker(config_for(kind, server.url, tmp_path, monkeypatch))
        lead = needs_offer(svc)
        clock.advance(seconds=31)
        assert worker.run_once() == {"sent": 1}  # a 2xx is delivered; its body needn't be read
        assert server.done.wait(WAIT)
    assert server.broken.is_set()  # before: all 256 MiB were read
    assert server.written < 64 * 2**20  # the cap plus what the sockets' buffers held
    assert REPLY_CAP <= 64 * 1024
    [row] = svc.outbox(lead_id=lead["id"])
    assert row["state"] == "sent"


class SlowGreetingSMTP(socketserver.StreamRequestHandler):
    """An SMTP server that trickles its greeting a byte at a time, then accepts any mail."""

    delivered: ClassVar[list[bytes]] = []  # shared by the handler of every connection
    broken: ClassVar[threading.Event] = threading.Event()

    def handle(self):
        try:
            for byte in b"220 slow.example ESMTP ready\r\n":
                self.wfile.write(bytes([byte]))
                time.sleep(GAP)
            data = None
            for line in self.rfile:
                if data is not None:
                    if line in (b".\r\n", b".\n"):
                        self.delivered.append(b"".join(data))
                        data = None
                        self.wfile.write(b"250 OK\r\n")
                    else:
                        data.append(line)
                elif line.upper().startswith(b"DATA"):
                    data = []
                    self.wfile.write(b"354 go ahead\r\n")
                elif line.upper().startswith(b"QUIT"):
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 OK\r\n")
        except OSError:
            self.broken.set()


def test_hardening_delivery_timeout_bounds_a_whole_email(make_service, open_worker, clock, tmp_path):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SlowGreetingSMTP)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SlowGreetingSMTP.delivered = []
    try:
        worker = open_worker(
            write_config(
                tmp_path,
                f"""
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "deals"
[automation.targets.deals]
kind = "email"
smtp = "127.0.0.1:{server.server_address[1]}"
starttls = false
from = "floor@example.test"
to = "deals@example.test"
timeout_seconds = {TIMEOUT}
""",
            )
        )
        svc = make_service()
        lead = needs_offer(svc)
        clock.advance(seconds=31)
        assert worker.run_once() == {"failed": 1}  # before: "sent", after the greeting trickled in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)
    assert SlowGreetingSMTP.delivered == []
    [row] = svc.outbox(lead_id=lead["id"])
    assert "no answer in 1s (the whole delivery)" in row["last_error"]


# --- item 19: a lead's value can't become a command's option ------------------------------------

COMMAND = """
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "notify"
[automation.targets.notify]
kind = "command"
argv = {argv}
"""


@pytest.fixture
def argv_script(tmp_path):
    """A command that writes the arguments it got to args.json."""
    script = tmp_path / "args.py"
    script.write_text(
        "import json, pathlib, sys\n"
        f"pathlib.Path({str(tmp_path / 'args.json')!r}).write_text(json.dumps(sys.argv[1:]))\n"
    )
    return script


@pytest.mark.parametrize("owner", ["--output=/etc/shadow", "-rf"])
def test_hardening_command_value_starting_with_dash_is_refused(
    make_service, open_worker, clock, tmp_path, argv_script, owner
):
    argv = json.dumps([sys.executable, str(argv_script), "--name", "{lead.owner_name}"])
    worker = open_worker(write_config(tmp_path, COMMAND.format(argv=argv)))
    svc = make_service()
    lead = needs_offer(svc, owner_name=owner)
    clock.advance(seconds=31)
    assert worker.run_once() == {"dead": 1}  # before: "sent", the program got it as an option
    assert not (tmp_path / "args.json").exists()  # never ran
    [row] = svc.outbox(lead_id=lead["id"])
    assert "automation.targets.notify.argv[3]" in row["last_error"] and "starts with '-'" in row["last_error"]
    assert '"--"' in row["last_error"]


def test_hardening_command_value_starting_with_dash_after_double_dash_is_passed(
    make_service, open_worker, clock, tmp_path, argv_script
):
    argv = json.dumps(
        [sys.executable, str(argv_script), "--name={lead.owner_name}", "--", "{lead.owner_name}"]
    )
    worker = open_worker(write_config(tmp_path, COMMAND.format(argv=argv)))
    svc = make_service()
    needs_offer(svc, owner_name="--output=/etc/shadow")
    clock.advance(seconds=31)
    assert worker.run_once() == {"sent": 1}
    # the template's own "--name=" is the author's option; after "--" the value is an operand
    assert json.loads((tmp_path / "args.json").read_text()) == [
        "--name=--output=/etc/shadow",
        "--",
        "--output=/etc/shadow",
    ]
