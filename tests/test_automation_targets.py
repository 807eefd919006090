"""Each target against a real server on 127.0.0.1: webhook and Twilio-shaped HTTP sinks
(stdlib http.server), SMTP with STARTTLS and AUTH (aiosmtpd), and a real command.

`Sink` and the helpers here are shared with test_automation_dispatch.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import sys
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from conftest import REP, add_lead

from leadtui import config
from leadtui.automation.targets import SMS_MAX

pytestmark = [pytest.mark.usefixtures("isolated_dirs"), pytest.mark.engines]  # user folders in tmp_path

WAIT = 10  # seconds any server waits on the test before giving up, so nothing hangs


class LocalHTTP:
    """An HTTP server on 127.0.0.1 in a thread of its own, whose every POST goes to `self.post(handler)`."""

    def __init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                server.post(self)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def post(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(WAIT)


class Sink(LocalHTTP):
    """An HTTP endpoint on 127.0.0.1 that records every POST and answers from a script.

    `statuses`: the codes of the first answers (then 200). `hold(request_number)`, when given,
    runs in the handler before it answers (to keep a delivery in flight).
    """

    def __init__(self, statuses=(), hold=None):
        super().__init__()
        self.statuses = list(statuses)
        self.hold = hold
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def post(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length", 0)))
        with self.lock:
            number = len(self.requests)
            status = self.statuses.pop(0) if self.statuses else 200
            self.requests.append(
                {
                    "path": handler.path,
                    "headers": {k.lower(): v for k, v in handler.headers.items()},
                    "body": body,
                    "status": status,
                }
            )
        if self.hold:
            self.hold(number)
        reply = json.dumps({"sid": f"SM{number:032d}"} if status < 300 else {"message": "no"}).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(reply)))
            handler.end_headers()
            handler.wfile.write(reply)
        except OSError:  # the client went away (killed, or timed out)
            pass

    def delivered(self) -> list[str]:
        """webhook-id of every request answered 2xx."""
        with self.lock:
            return [r["headers"].get("webhook-id") for r in self.requests if r["status"] < 300]


def write_config(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load(str(path))


def webhook_config(url: str, *, max_attempts: int = 8, extra: str = "") -> str:
    return f"""
[automation]
mode = "dispatch"
max_attempts = {max_attempts}
[automation.routes]
text_underwriter = "underwriter"
[automation.targets.underwriter]
kind = "webhook"
url = "{url}"
secret_env = "TEST_WEBHOOK_SECRET"
{extra}
"""


SECRET_BYTES = b"the underwriter's shared secret"
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()


def verify(request: dict, key: bytes = SECRET_BYTES) -> bool:
    """Standard Webhooks, checked from the spec: v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    h = request["headers"]
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(f"v1,{expected}", part) for part in h["webhook-signature"].split())


def needs_offer(svc, **fields) -> dict:
    """A lead set to Needs Offer by alice: one text_underwriter action, due in 30 s."""
    lead = add_lead(svc, **fields)
    svc.set_status(lead["id"], "needs-offer", REP)
    return lead


def states(svc, lead_id: int) -> list[tuple[str, str, int]]:
    return [(a["action"], a["state"], a["attempts"]) for a in svc.outbox(lead_id=lead_id)]


# --- webhook ----------------------------------------------------------------------------------


def test_webhook_fails_then_succeeds_retried_once_per_key_signed(
    make_service, open_worker, clock, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    svc = make_service()
    with Sink(statuses=[500]) as sink:
        worker = open_worker(write_config(tmp_path, webhook_config(sink.url + "/hooks/leadtui")))
        lead = needs_offer(svc)
        assert worker.run_once() == {}  # inside the undo window: not due
        clock.advance(seconds=31)
        assert worker.run_once() == {"failed": 1}
        [row] = svc.outbox(lead_id=lead["id"])
        assert (row["state"], row["attempts"]) == ("failed", 1) and "HTTP 500" in row["last_error"]
        assert worker.run_once() == {}  # backing off
        clock.advance(hours=1)
        assert worker.run_once() == {"sent": 1}
        clock.advance(hours=1)
        assert worker.run_once() == {}  # sent is done
    assert states(svc, lead["id"]) == [("text_underwriter", "sent", 2)]
    first, second = sink.requests
    assert first["path"] == second["path"] == "/hooks/leadtui"
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == row["idempotency_key"]
    assert sink.delivered() == [row["idempotency_key"]]  # delivered once per key
    assert verify(first) and verify(second)
    assert not verify(second, key=b"another secret")
    body = json.loads(second["body"])
    assert body["type"] == "text_underwriter" and body["id"] == row["idempotency_key"]
    assert body["data"]["lead_id"] == lead["id"] and body["data"]["address"] == lead["address"]
    assert lead["address"] in body["data"]["text"]
    assert second["headers"]["webhook-timestamp"] == str(int(clock.now().timestamp()) - 3600)
    kinds = [e["kind"] for e in svc.lead(lead["id"], events=True)["events"]]
    assert kinds[-2:] == ["automation_failed", "automation_sent"]


def test_w19_undo_while_in_flight_the_action_is_recorded_as_sent(
    make_service, open_worker, clock, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    svc, station = make_service(), make_service()
    undone = []
    with Sink(hold=lambda n: undone.append(station.undo(lead["id"], REP))) as sink:
        worker = open_worker(write_config(tmp_path, webhook_config(sink.url)))
        lead = needs_offer(svc)
        clock.advance(seconds=31)
        assert worker.run_once() == {"sent": 1}
    assert len(undone) == 1
    assert undone[0].warnings == ["text_underwriter is being delivered right now; it may still arrive"]
    [row] = svc.outbox(lead_id=lead["id"])
    assert (row["state"], row["attempts"]) == ("sent", 1)  # it went: the outbox says so
    *_, undo, last = svc.lead(lead["id"], events=True)["events"]
    assert undo["kind"] == "undo" and undo["data"]["cancelled"] == [f"text_underwriter #{row['id']}"]
    assert last["kind"] == "automation_sent" and "cancelled while in flight" in last["data"]["note"]


def test_webhook_4xx_is_dead_at_once_and_kept(make_service, open_worker, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    svc = make_service()
    with Sink(statuses=[410]) as sink:
        worker = open_worker(write_config(tmp_path, webhook_config(sink.url)))
        lead = needs_offer(svc)
        clock.advance(seconds=31)
        assert worker.run_once() == {"dead": 1}
    [row] = svc.outbox(lead_id=lead["id"])
    assert (row["state"], row["attempts"]) == ("dead", 1) and "HTTP 410" in row["last_error"]


# --- sms (Twilio) -----------------------------------------------------------------------------

SMS_CONFIG = """
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "underwriter"
[automation.targets.underwriter]
kind = "sms"
api_base = "{url}"
account_sid = "AC0123456789abcdef"
auth_token_env = "TEST_TWILIO_TOKEN"
from = "+15555550100"
to = "{{lead.phone}}"
timeout_seconds = 0.5
"""


def test_sms_twilio_path_form_fields_and_basic_auth(make_service, open_worker, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_TWILIO_TOKEN", "tok-secret")
    svc = make_service()
    with Sink() as sink:
        worker = open_worker(write_config(tmp_path, SMS_CONFIG.format(url=sink.url + "/")))
        lead = needs_offer(svc, owner_name="Ana {{ 7*7 }} Ruiz", notes="gate code 12; " + "long notes " * 300)
        clock.advance(seconds=31)
        assert worker.run_once() == {"sent": 1}
    [request] = sink.requests
    assert request["path"] == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    assert (
        request["headers"]["authorization"]
        == "Basic " + base64.b64encode(b"AC0123456789abcdef:tok-secret").decode()
    )
    assert request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v for k, [v] in parse_qs(request["body"].decode(), strict_parsing=True).items()}
    assert set(form) == {"To", "From", "Body"}
    assert (form["To"], form["From"]) == (lead["phones"][0]["number"], "+15555550100")
    assert "Ana {{ 7*7 }} Ruiz" in form["Body"] and "49" not in form["Body"]  # lead data is never a template
    assert len(form["Body"]) == SMS_MAX and form["Body"].endswith("…")
    events = svc.lead(lead["id"], events=True)["events"]
    assert events[-1]["kind"] == "automation_sent" and "SM" in events[-1]["data"]["detail"]


def test_sms_4xx_dead_at_once_5xx_and_timeout_retried(
    make_service, open_worker, clock, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEST_TWILIO_TOKEN", "tok-secret")
    svc = make_service()
    release = threading.Event()
    with Sink(statuses=[400, 503], hold=lambda n: n == 2 and release.wait(WAIT)) as sink:
        worker = open_worker(write_config(tmp_path, SMS_CONFIG.format(url=sink.url)))
        leads = [needs_offer(svc) for _ in range(3)]
        clock.advance(seconds=31)
        try:
            assert worker.run_once() == {"dead": 1, "failed": 2}
        finally:
            release.set()
    rows = [svc.outbox(lead_id=lead["id"])[0] for lead in leads]
    assert [(r["state"], r["attempts"]) for r in rows] == [("dead", 1), ("failed", 1), ("failed", 1)]
    assert "HTTP 400" in rows[0]["last_error"] and "HTTP 503" in rows[1]["last_error"]
    assert "no answer" in rows[2]["last_error"]
    assert len(sink.requests) == 3


def test_sms_with_no_phone_to_text_is_dead_and_never_posted(
    make_service, open_worker, clock, tmp_path, monkeypatch
):
    monkeypatch.setenv("TEST_TWILIO_TOKEN", "tok-secret")
    svc = make_service()
    with Sink() as sink:
        worker = open_worker(write_config(tmp_path, SMS_CONFIG.format(url=sink.url)))
        lead = needs_offer(svc, phones=0)
        clock.advance(seconds=31)
        assert worker.run_once() == {"dead": 1}
    assert "automation.targets.underwriter.to is empty" in svc.outbox(lead_id=lead["id"])[0]["last_error"]
    assert sink.requests == []


# --- email (aiosmtpd) ---------------------------------------------------------------------------


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """aiosmtpd on 127.0.0.1 that requires STARTTLS and AUTH; its self-signed cert is trusted via SSL_CERT_FILE.

    Yields (port, messages, replies): `replies` are the answers to the first DATA commands (then 250).
    """
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    messages: list[dict] = []
    replies: list[str] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if replies:
                return replies.pop(0)
            messages.append(
                {
                    "tls": session.ssl is not None,
                    "login": session.auth_data,
                    "rcpt": envelope.rcpt_tos,
                    "mail": message_from_bytes(envelope.content),
                }
            )
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"leadtui" and auth_data.password == b"smtp-pass"
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield port, messages, replies
    finally:
        controller.stop()


def test_email_starttls_auth_and_stable_message_id(
    make_service, open_worker, clock, tmp_path, monkeypatch, smtp_server
):
    port, messages, replies = smtp_server
    replies.append("451 try again later")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-pass")
    cfg = write_config(
        tmp_path,
        f"""
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "deals"
[automation.targets.deals]
kind = "email"
smtp = "127.0.0.1:{port}"
username = "leadtui"
password_env = "TEST_SMTP_PASSWORD"
from = "floor@example.test"
to = "deals@example.test"
""",
    )
    svc = make_service()
    worker = open_worker(cfg)
    lead = needs_offer(svc)
    clock.advance(seconds=31)
    assert worker.run_once() == {"failed": 1}  # 451: transient
    clock.advance(hours=1)
    assert worker.run_once() == {"sent": 1}
    [row] = svc.outbox(lead_id=lead["id"])
    [got] = messages
    mail = got["mail"]
    assert got["tls"] and got["login"] == b"leadtui" and got["rcpt"] == ["deals@example.test"]
    assert mail["Message-ID"] == f"<{row['idempotency_key']}@leadtui>"
    assert (mail["From"], mail["To"]) == ("floor@example.test", "deals@example.test")
    assert lead["address"] in mail["Subject"] and lead["address"] in mail.get_payload()
    events = svc.lead(lead["id"], events=True)["events"]
    assert events[-1]["data"]["detail"] == mail["Message-ID"]  # the same Message-ID on every try


def test_email_wrong_password_is_dead(make_service, open_worker, clock, tmp_path, monkeypatch, smtp_server):
    port, messages, _ = smtp_server
    cfg = write_config(
        tmp_path,
        f"""
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "deals"
[automation.targets.deals]
kind = "email"
smtp = "127.0.0.1:{port}"
username = "leadtui"
password = "wrong"
to = "deals@example.test"
""",
    )
    svc = make_service()
    worker = open_worker(cfg)
    lead = needs_offer(svc)
    clock.advance(seconds=31)
    assert worker.run_once() == {"dead": 1}
    assert "SMTP 535" in svc.outbox(lead_id=lead["id"])[0]["last_error"] and messages == []


# --- command ------------------------------------------------------------------------------------


def test_command_gets_the_json_on_stdin_exit_0_is_sent(make_service, open_worker, clock, tmp_path):
    script = tmp_path / "notify.py"
    script.write_text(
        "import pathlib, sys\n"
        "out = pathlib.Path(sys.argv[1]) / f'lead-{sys.argv[2]}.json'\n"
        "out.write_bytes(sys.stdin.buffer.read())\n"
        "sys.exit(0 if out.stat().st_size else 5)\n"
    )
    cfg = write_config(
        tmp_path,
        f"""
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "notify"
[automation.targets.notify]
kind = "command"
argv = [{json.dumps(sys.executable)}, {json.dumps(str(script))}, {json.dumps(str(tmp_path))}, "{{lead.id}}"]
""",
    )
    svc = make_service()
    worker = open_worker(cfg)
    lead = needs_offer(svc)
    clock.advance(seconds=31)
    assert worker.run_once() == {"sent": 1}
    [row] = svc.outbox(lead_id=lead["id"])
    got = json.loads((tmp_path / f"lead-{lead['id']}.json").read_text())
    assert got["id"] == row["idempotency_key"] and got["type"] == "text_underwriter"
    assert got["data"]["phone"] == lead["phones"][0]["number"]
