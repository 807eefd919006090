"""baresip, a SIP user agent, driven over its ctrl_tcp control socket (netstring-framed JSON).

The station either starts its own baresip (a config folder leadtui writes, the account and
ports from [dialer]) or connects to one already running (`control`). baresip answers `dial`
with ok even for a target that can't be reached: the outcome comes as call events
(CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED with the reason), which may arrive before the
response to the command. baresip 1.0's `hangup` takes no call id: it ends the newest call, so
the station keeps one call up at a time. ctrl_tcp serves one client: another program connecting
to a running baresip takes its events away from the station (whose calls then end on their ring
time, unconfirmed).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from leadtui.telephony.base import Call, Emit, Line, TelephonyError, dialable, one_line, tcp

MARK = "# written by leadtui: it writes this file again at every start"
START_SECONDS = 10.0  # how long a starting baresip may take to answer on its control socket
PIDFILE = "baresip.pid"
MAX_MESSAGE = 1 << 20


def netstring(message: dict) -> bytes:
    """One ctrl_tcp message: LEN:JSON,"""
    data = json.dumps(message).encode()
    return b"%d:%s," % (len(data), data)


class Netstrings:
    """Splits ctrl_tcp's byte stream into messages; ValueError on anything that isn't one."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[dict]:
        self.buffer += data
        messages: list[dict] = []
        while self.buffer:
            colon = self.buffer.find(b":", 0, 12)
            if colon < 0:
                if len(self.buffer) >= 12 or not self.buffer.isdigit():
                    raise ValueError(f"not a netstring: {bytes(self.buffer[:40])!r}")
                return messages
            head = bytes(self.buffer[:colon])
            if not head.isdigit() or int(head) > MAX_MESSAGE:
                raise ValueError(f"not a netstring length: {head[:20]!r}")
            end = colon + 1 + int(head)
            if len(self.buffer) <= end:
                return messages
            if self.buffer[end : end + 1] != b",":
                raise ValueError("a netstring without its closing comma")
            message = json.loads(self.buffer[colon + 1 : end])
            del self.buffer[: end + 1]
            if isinstance(message, dict):
                messages.append(message)
        return messages


def ask(
    sock: socket.socket, reader: Netstrings, command: str, params: str = "", *, timeout: float = 5.0
) -> tuple[dict, list[dict]]:
    """Send one command and read until its response: (the response, the messages that came before it)."""
    token = f"ask-{command}-{time.monotonic_ns()}"
    sock.sendall(netstring({"command": command, "params": params, "token": token}))
    kept: list[dict] = []
    until = time.monotonic() + timeout
    while True:
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer to {command!r} in {timeout:g} s")
        sock.settimeout(left)
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the control connection closed")
        for message in reader.feed(data):
            if message.get("response") and message.get("token") == token:
                return message, kept
            kept.append(message)


# -- a baresip process of our own ----------------------------------------------------------------


def modules() -> Path:
    """baresip's module folder (it needs menu.so and ctrl_tcp.so), found beside the installed binary."""
    binary = shutil.which("baresip")
    if binary is None:
        raise TelephonyError("baresip is not installed (Debian: apt-get install baresip-core)")
    prefix = Path(binary).resolve().parent.parent
    candidates = [prefix / "lib" / "baresip" / "modules", *sorted(prefix.glob("lib/*/baresip/modules"))]
    for folder in candidates:
        if (folder / "ctrl_tcp.so").exists() and (folder / "menu.so").exists():
            return folder
    raise TelephonyError(f"baresip's ctrl_tcp.so and menu.so are not in {candidates[0]}")


def write_config(
    folder: Path,
    *,
    accounts: list[str],
    sip_port: int,
    control_port: int,
    address: str | None = None,
    audio_source: str = "alsa,default",
    audio_player: str = "alsa,default",
    max_calls: int = 1,
) -> None:
    """baresip's `config`, `accounts` and an empty `contacts` in `folder` (a folder leadtui owns)."""
    config = folder / "config"
    if config.exists() and not config.read_text(errors="replace").startswith(MARK):
        raise TelephonyError(
            f"{folder} holds a baresip config leadtui didn't write; give dialer.config_dir a folder of its own"
        )
    host = address or "0.0.0.0"
    listen = f"[{host}]" if ":" in host else host
    lines = [
        MARK,
        f"sip_listen {listen}:{sip_port}",
        *([f"net_interface {address}"] if address else []),
        f"audio_source {audio_source}",
        f"audio_player {audio_player}",
        f"audio_alert {audio_player}",
        *(["ausrc_srate 48000", "ausrc_channels 2"] if audio_source.startswith("ausine") else []),
        f"module_path {modules()}",
        "module g711.so",
        *dict.fromkeys(f"module {a.split(',')[0]}.so" for a in (audio_source, audio_player)),
        "module_tmp uuid.so",
        "module_tmp account.so",
        "module_app menu.so",
        "module_app ctrl_tcp.so",
        f"ctrl_tcp_listen 127.0.0.1:{control_port}",
        f"call_max_calls {max_calls}",
        "statmode_default off",
        "ringback_disabled yes",
    ]
    config.write_text("\n".join(lines) + "\n")
    (folder / "accounts").write_text("\n".join(accounts) + "\n")
    (folder / "contacts").write_text("")


def spawn(folder: Path) -> subprocess.Popen:
    """Start baresip on `folder` (its output in baresip.log there); a leftover of ours on it is stopped first."""
    binary = shutil.which("baresip")
    if binary is None:
        raise TelephonyError("baresip is not installed (Debian: apt-get install baresip-core)")
    stop_leftover(folder)
    with (folder / "baresip.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-f", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (folder / PIDFILE).write_text(f"{proc.pid}\n")
    return proc


def _stop(send: Callable[[int], None], gone: Callable[[float], bool]) -> None:
    """SIGTERM, again after 1 s, then SIGKILL: with a call attempt pending, baresip's own quit takes ~32 s."""
    for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        if gone(0):
            return
        try:
            send(sig)
        except ProcessLookupError:
            return
        if gone(wait):
            return


def stop(proc: subprocess.Popen) -> None:
    """Stop a baresip we started, by its PID."""

    def gone(wait: float) -> bool:
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            return False
        return True

    _stop(proc.send_signal, gone)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def stop_leftover(folder: Path) -> None:
    """A baresip started on `folder` by a station that died (it outlives its parent) is stopped by its PID,
    once /proc shows it is baresip on this very folder."""
    try:
        pid = int((folder / PIDFILE).read_text().strip())
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, ValueError):
        return
    if args[:1] and args[0].endswith("baresip") and args[1:3] == ["-f", str(folder)] and _alive(pid):

        def gone(wait: float) -> bool:
            until = time.monotonic() + wait
            while _alive(pid):
                if time.monotonic() >= until:
                    return False
                time.sleep(0.01)
            return True

        _stop(lambda sig: os.kill(pid, sig), gone)


def _last_error(path: Path) -> str:
    """The last error baresip logged (it prints errors in red), else its last line."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    errors = [line for line in lines if "\x1b[31m" in line]
    last = (errors or lines or [""])[-1]
    return one_line(re.sub(r"\x1b\[[0-9;]*m", "", last))


# -- the adapter ---------------------------------------------------------------------------------

_REJECTED = re.compile(r"reject|decline", re.IGNORECASE)
_BUSY, _NO_ANSWER = {486, 600}, {408, 480, 487}


def end_reason(param: str, *, answered: bool) -> str:
    """The reason of a CALL_CLOSED this station didn't ask for: its param is a SIP status ("486 Busy Here")
    or the network's words ("Connection refused")."""
    if answered:
        return "completed"
    code = int(param[:3]) if param[:3].isdigit() else 0
    if code == 603 or _REJECTED.search(param):
        return "rejected"
    if code in _BUSY:
        return "busy"
    if code in _NO_ANSWER:
        return "no-answer"
    return "failed"


class BaresipPhone(Line):
    """The `baresip` adapter."""

    name = system = "baresip"

    def __init__(self, dialer: dict, *, folder: Path | None, auth_pass: str | None):
        super().__init__(dialer["ring_seconds"])
        self.dialer, self.folder = dialer, folder
        self.account = dialer.get("account", "") + (f";auth_pass={auth_pass}" if auth_pass else "")
        self.reader = Netstrings()
        self.tokens: dict[str, Call] = {}  # a dial's token -> its call, until baresip answers the command
        self.numbers = itertools.count(1)
        self.proc: subprocess.Popen | None = None

    def start(self, emit: Emit) -> None:
        if "control" in self.dialer:
            host, port = self.dialer["control"].rsplit(":", 1)
            try:
                sock = tcp(host, int(port), 5.0)
            except OSError as exc:
                raise TelephonyError(
                    f"baresip at {self.dialer['control']} (dialer.control): {exc.strerror or exc}"
                ) from None
            kept = self._handshake(sock, "")
        else:
            sock, kept = self._start_own()
        with self.calls.lock:
            for message in kept:
                self._message(message)
        self.run(sock, emit)

    def _handshake(self, sock: socket.socket, aor: str) -> list[dict]:
        """Ask `reginfo`: it must answer, listing `aor` when given (our own instance, not another one)."""
        where = self.dialer.get("control") or f"127.0.0.1:{self.dialer['control_port']}"
        try:
            response, kept = ask(sock, self.reader, "reginfo")
        except (OSError, ValueError) as exc:
            sock.close()
            raise TelephonyError(f"baresip at {where} didn't answer: {exc}") from None
        if aor and aor not in str(response.get("data")):
            sock.close()
            raise TelephonyError(
                f"dialer.control_port {self.dialer['control_port']} answers for another baresip, not ours ({aor})"
            )
        return kept

    def _start_own(self) -> tuple[socket.socket, list[dict]]:
        assert self.folder is not None
        port = self.dialer["control_port"]
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stop_leftover(self.folder)
        with socket.socket() as probe:  # bound, not connected: a baresip there keeps its one client
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise TelephonyError(
                    f"dialer.control_port {port} is already taken on 127.0.0.1 (another baresip?)"
                ) from None
        write_config(
            self.folder,
            accounts=[self.account],
            sip_port=self.dialer["sip_port"],
            control_port=port,
            address=self.dialer.get("sip_address"),
            audio_source=self.dialer["audio_source"],
            audio_player=self.dialer["audio_player"],
        )
        self.proc = spawn(self.folder)
        try:
            sock = self._connect_own(port)
            aor = re.match(r"<?(sips?:[^\s;>]+)", self.account)
            return sock, self._handshake(sock, aor.group(1) if aor else "")
        except BaseException:
            self._stop_own()
            raise

    def _connect_own(self, port: int) -> socket.socket:
        assert self.proc is not None and self.folder is not None
        until = time.monotonic() + START_SECONDS
        while True:
            code = self.proc.poll()
            if code is not None:
                taken = f" (dialer.sip_port {self.dialer['sip_port']} or the one after it is taken)" * (
                    code == 98
                )
                raise TelephonyError(
                    f"baresip exited {code} as it started{taken}: {_last_error(self.folder / 'baresip.log')}"
                )
            try:
                return tcp("127.0.0.1", port, 1.0)
            except OSError as exc:
                if time.monotonic() > until:
                    raise TelephonyError(
                        f"baresip didn't open dialer.control_port {port} in {START_SECONDS:g} s: {exc}"
                    ) from None
                time.sleep(0.005)

    def _stop_own(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            assert self.folder is not None
            (self.folder / PIDFILE).unlink(missing_ok=True)
            self.proc = None

    def on_lost(self, why: str) -> str:
        code = self.proc.poll() if self.proc is not None else None
        return why if code is None else f"{why} (baresip exited {code})"

    def dial(self, key: str, number: str) -> None:
        uri = self.dialer["uri"].replace("{number}", number)
        with self.calls.lock:
            if key in self.calls.live:
                raise ValueError(f"call {key} is already placed")
            up = next((c.key for c in self.calls.live.values() if not c.ending), None)
            problem = self.lost or dialable(number)
            if up is not None:  # baresip's hangup ends the newest call: one up at a time
                problem = problem or f"call {up} is still up on this station: hang it up first"
            if problem:
                self.refuse(key, number, problem)
                return
            call = self.calls.add(key, number)
            call.extra["uri"] = uri
            token = f"dial-{next(self.numbers)}"
            self.tokens[token] = call
            self.send(netstring({"command": "dial", "params": uri, "token": token}))

    def send_hangup(self, call: Call) -> None:
        self.send(netstring({"command": "hangup", "params": "", "token": f"hangup-{next(self.numbers)}"}))

    def received(self, data: bytes) -> None:
        for message in self.reader.feed(data):
            self._message(message)

    def _message(self, m: dict) -> None:
        if m.get("response"):
            call = self.tokens.pop(str(m.get("token")), None)
            if call is not None and not m.get("ok"):
                self.calls.ended(call, "failed", f"baresip refused the dial: {m.get('data')}")
            return
        if not m.get("event") or m.get("class") != "call" or m.get("direction") == "incoming":
            return
        call = self._call_of(m)
        if call is None:
            return
        kind, param = m.get("type"), str(m.get("param") or "")
        if kind in ("CALL_RINGING", "CALL_PROGRESS"):
            self.calls.ringing(call)
        elif kind == "CALL_ESTABLISHED":
            self.calls.answered(call)
        elif kind == "CALL_CLOSED":
            if call.ending and param == "Connection reset by user":
                self.calls.ended(call, call.ending, call.ending_detail or param)
            else:
                self.calls.ended(call, end_reason(param, answered=call.answered), param)

    def _call_of(self, m: dict) -> Call | None:
        """The call an event is about: by baresip's call id, or, for an id not seen yet, the oldest call
        still without one (the one dialed to the event's peer first)."""
        call_id = str(m.get("id") or "")
        if not call_id:
            return None
        live = self.calls.live.values()
        known = next((c for c in live if c.remote_id == call_id), None)
        if known is not None:
            return known
        waiting = [c for c in live if not c.remote_id]
        call = next((c for c in waiting if c.extra.get("uri") == m.get("peeruri")), None)
        call = call or (waiting[0] if waiting else None)
        if call is not None:
            call.remote_id = call_id
        return call

    def close(self) -> None:
        super().close()
        self._stop_own()
