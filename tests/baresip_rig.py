"""Real baresip instances on 127.0.0.1 for the telephony tests: free ports, a config folder under the
test's tmp_path, a control connection read by a thread of the rig's own, and a stop by PID
(SIGTERM, again after 1 s, then SIGKILL: leadtui.telephony.baresip.stop).

    phone = Baresip(tmp_path / "lead", {"+12145550101": "auto", "+12145550102": "manual"})
    phone.uri("+12145550101")            # sip:+12145550101@127.0.0.1:PORT
    phone.wait("CALL_INCOMING", "+12145550102")
    phone.hangup("+12145550102")         # that account's newest call
    phone.stop()
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

from phone_events import WAIT

from leadtui.telephony.baresip import Netstrings, netstring, spawn, stop, write_config
from leadtui.telephony.base import quickack, tcp

_CALLEE_AUDIO = {"audio_source": "ausine,440", "audio_player": "aubridge,leadtui_rig"}


def free_port(*, sip: bool = False) -> int:
    """A port nothing on 127.0.0.1 holds; for SIP also its UDP twin and the TCP port after it (baresip
    binds both, and exits 98 when either is taken)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if not sip:
                return port
            try:
                with socket.socket() as after, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    after.bind(("127.0.0.1", port + 1))
                    udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def account(user: str, port: int, answermode: str) -> str:
    return f"<sip:{user}@127.0.0.1:{port}>;regint=0;answermode={answermode}"


def baresip_pids(under: Path) -> list[int]:
    """Live (not zombie) baresip processes whose config folder is under `under`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if args[0].endswith("baresip") and len(args) > 2 and args[2].startswith(str(under)) and state != b"Z":
            pids.append(int(entry))
    return pids


class Baresip:
    """One baresip with `accounts` (user -> answermode: "auto" picks up, "manual" rings until told)."""

    def __init__(self, folder: Path, accounts: dict[str, str], *, max_calls: int = 4):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.users = folder, list(accounts)
        self.sip_port, self.control_port = free_port(sip=True), free_port()
        lines = [account(user, self.sip_port, mode) for user, mode in accounts.items()]
        write_config(
            folder,
            accounts=lines,
            sip_port=self.sip_port,
            control_port=self.control_port,
            address="127.0.0.1",
            max_calls=max_calls,
            **_CALLEE_AUDIO,
        )
        self.proc = spawn(folder)
        self.events: list[dict] = []  # every event, each with "at": time.perf_counter() on arrival
        self.responses: dict[str, dict] = {}
        self.changed = threading.Condition()
        self.tokens = iter(range(1, 1 << 30))
        try:
            self.sock = self._connect()
        except BaseException:
            stop(self.proc)
            raise
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        data = self.command("reginfo")["data"]
        assert all(self.aor(user) in data for user in self.users), data  # our instance, not another

    def _connect(self) -> socket.socket:
        until = time.monotonic() + WAIT
        while True:
            assert self.proc.poll() is None, (self.proc.returncode, (self.folder / "baresip.log").read_text())
            try:
                return tcp("127.0.0.1", self.control_port, 1.0)
            except OSError:
                assert time.monotonic() < until, "baresip never opened its control port"
                time.sleep(0.005)

    def _read(self) -> None:
        reader = Netstrings()
        self.sock.settimeout(None)
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            at = time.perf_counter()
            quickack(self.sock)
            with self.changed:
                for message in reader.feed(data):
                    if message.get("response"):
                        self.responses[message["token"]] = message
                    else:
                        self.events.append({**message, "at": at})
                self.changed.notify_all()

    def aor(self, user: str) -> str:
        return f"sip:{user}@127.0.0.1:{self.sip_port}"

    uri = aor

    def command(self, command: str, params: str = "") -> dict:
        token = f"rig-{next(self.tokens)}"
        self.sock.sendall(netstring({"command": command, "params": params, "token": token}))
        with self.changed:
            assert self.changed.wait_for(lambda: token in self.responses, WAIT), f"no answer to {command}"
            return self.responses.pop(token)

    def wait(self, kind: str, user: str | None = None, *, after: int = 0) -> dict:
        """The first event `kind` (for `user`'s account) among events[after:], waiting for it."""

        def found() -> dict | None:
            return next(
                (
                    e
                    for e in self.events[after:]
                    if e.get("type") == kind and (user is None or e.get("accountaor") == self.aor(user))
                ),
                None,
            )

        with self.changed:
            assert self.changed.wait_for(found, WAIT), (kind, user, [e.get("type") for e in self.events])
            event = found()
            assert event is not None
            return event

    def seen(self, kind: str, user: str | None = None) -> list[dict]:
        with self.changed:
            return [
                e
                for e in self.events
                if e.get("type") == kind and (user is None or e.get("accountaor") == self.aor(user))
            ]

    def as_user(self, user: str) -> None:
        """Make `user`'s account the current one (the one `hangup` and `dial` act on)."""
        assert self.command("uafind", self.aor(user))["ok"]

    def hangup(self, user: str) -> None:
        self.as_user(user)
        self.command("hangup")

    def dial(self, user: str, uri: str) -> None:
        self.as_user(user)
        assert self.command("dial", uri)["ok"]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(WAIT)
        stop(self.proc)
