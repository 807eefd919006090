"""The phone-system interface: a station's `Phone` dials, hangs up and reports `CallEvent`s.

An adapter never blocks its caller: `dial` and `hangup` return at once (at most a socket send)
and everything the phone system says comes back later through `emit`, called from the adapter's
own thread(s). `Calls` is the bookkeeping every adapter with events shares: each call rings
once, answers once and ends exactly once, and nothing is said of a call after its end.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from leadtui.errors import LeadtuiError

END_REASONS = ("completed", "hung-up", "no-answer", "busy", "rejected", "failed")
# completed: answered, then the other side hung up; hung-up: this station hung up (answered or not)
CONFIRM_SECONDS = 5.0  # how long a hang-up may go unconfirmed before the call is ended anyway
_E164 = re.compile(r"\+?[0-9]{2,20}")


class TelephonyError(LeadtuiError):
    """The phone system can't be reached or refused the station: one line."""


@dataclass(frozen=True)
class CallEvent:
    key: str  # the key given to dial(): str(calls.id)
    state: str  # "ringing" | "answered" | "ended"
    reason: str = ""  # when ended: one of END_REASONS
    detail: str = ""  # the phone system's own words: "486 Busy Here", a Twilio status, an AMI Cause-txt
    remote_id: str = ""  # baresip call id, Twilio CA sid, AMI Uniqueid/ActionID
    recording: str = ""  # a recording reference when the system gives one


Emit = Callable[[CallEvent], None]


class Phone(Protocol):
    """One per station."""

    name: str  # "baresip" | "twilio" | "ami" | "command" | "manual"
    has_events: bool  # False for command and manual: no ringing/answered/ended

    def start(self, emit: Emit) -> None:
        """Connect or spawn; TelephonyError when it can't. `emit` is called from the adapter's threads."""

    def dial(self, key: str, number: str) -> None:
        """Place a call to E.164 `number`; returns at once. A failure comes later as an ended "failed"."""

    def hangup(self, key: str) -> None:
        """End the call with reason "hung-up"; nothing for an ended call."""

    def close(self) -> None:
        """Hang up what is up, stop what it started, join its threads."""


def dialable(number: str) -> str | None:
    """Why `number` can't go into a protocol line or URI (None when it is digits with an optional +)."""
    return None if _E164.fullmatch(number) else f"{number[:40]!r} is not a phone number in E.164 form"


def one_line(text: str, limit: int = 300) -> str:
    """A phone system's words as one short line."""
    return " ".join(str(text).split())[:limit]


@dataclass
class Call:
    """One call an adapter placed, from dial() to its end."""

    key: str
    number: str
    remote_id: str = ""
    rang: bool = False
    answered: bool = False
    ending: str = ""  # the reason this station hung up for ("hung-up", "no-answer"), once it asked
    ending_detail: str = ""
    deadline: float | None = None  # time.monotonic() when it must be answered, or its hang-up confirmed
    extra: dict = field(default_factory=dict)  # what the adapter keeps besides (tokens, channel names)


class Calls:
    """The live calls of an adapter and the events not yet emitted, guarded by `lock`.

    Events are queued under the lock and emitted by `flush`, outside it, on the adapter's thread.
    """

    def __init__(self, ring_seconds: float):
        self.ring_seconds = float(ring_seconds)
        self.lock = threading.RLock()
        self.live: dict[str, Call] = {}
        self.queued: list[CallEvent] = []
        self.emit: Emit | None = None

    def add(self, key: str, number: str) -> Call:
        call = Call(key, number, deadline=time.monotonic() + self.ring_seconds)
        self.live[key] = call
        return call

    def ringing(self, call: Call, detail: str = "") -> None:
        if not call.rang and not call.answered and call.key in self.live:
            call.rang = True
            self.queued.append(
                CallEvent(call.key, "ringing", detail=one_line(detail), remote_id=call.remote_id)
            )

    def answered(self, call: Call, detail: str = "") -> None:
        if not call.answered and call.key in self.live:
            call.answered = True
            if not call.ending:
                call.deadline = None
            self.queued.append(
                CallEvent(call.key, "answered", detail=one_line(detail), remote_id=call.remote_id)
            )

    def ended(self, call: Call, reason: str, detail: str = "", recording: str = "") -> None:
        assert reason in END_REASONS, reason
        if self.live.get(call.key) is call:
            del self.live[call.key]
            self.queued.append(
                CallEvent(call.key, "ended", reason, one_line(detail), call.remote_id, recording)
            )

    def failed(self, key: str, number: str, detail: str) -> None:
        """A call that ends before it reaches the phone system."""
        self.ended(self.add(key, number), "failed", detail)

    def asked_to_end(self, call: Call, reason: str, detail: str = "") -> None:
        """This station asked the phone system to end `call`; its end comes when confirmed."""
        call.ending, call.ending_detail = reason, detail
        call.deadline = time.monotonic() + CONFIRM_SECONDS

    def unconfirmed(self, call: Call, system: str) -> None:
        self.ended(call, call.ending, call.ending_detail or f"{system} did not confirm the hang-up")

    def next_deadline(self) -> float | None:
        return min((c.deadline for c in self.live.values() if c.deadline is not None), default=None)

    def due(self, now: float) -> list[Call]:
        return [c for c in self.live.values() if c.deadline is not None and c.deadline <= now]

    def flush(self) -> None:
        """Emit what is queued, in order (called by the adapter's own thread only)."""
        with self.lock:
            events, self.queued = self.queued, []
        for event in events:
            assert self.emit is not None
            self.emit(event)


def tcp(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection tuned for small messages both ways: no Nagle delay, no delayed ACKs."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    quickack(sock)
    return sock


def quickack(sock: socket.socket) -> None:
    """Ask for immediate ACKs; Linux clears this after some reads, so it is set again after each one."""
    if hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


class Line:
    """An adapter on one TCP connection (baresip's control socket, the AMI), read by a thread of its own.

    The subclass names itself (`name`, and `system` for messages), turns bytes into call events in
    `received` (called with `calls.lock` held) and sends a hang-up in `send_hangup`. The thread also
    hangs up calls unanswered after `ring_seconds` ("no-answer"), ends those whose hang-up went
    unconfirmed for CONFIRM_SECONDS, and emits everything.
    """

    system = ""
    name = ""
    has_events = True

    def __init__(self, ring_seconds: float):
        self.calls = Calls(ring_seconds)
        self.sock: socket.socket | None = None
        self.lost = ""  # why the connection is gone; empty while it is up
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._closing = False

    # -- what subclasses give -----------------------------------------------------------------

    def received(self, data: bytes) -> None:
        raise NotImplementedError

    def send_hangup(self, call: Call) -> None:
        raise NotImplementedError

    def on_lost(self, why: str) -> str:
        """The detail calls end with when the connection is lost (a subclass may add what it knows)."""
        return why

    # -- the thread ---------------------------------------------------------------------------

    def run(self, sock: socket.socket, emit: Emit) -> None:
        """Start reading `sock` on the adapter's thread."""
        self.sock, self.calls.emit = sock, emit
        sock.settimeout(None)
        self._thread = threading.Thread(target=self._loop, name=f"leadtui-{self.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _loop(self) -> None:
        assert self.sock is not None
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        selector.register(self.sock, selectors.EVENT_READ)
        reading = True
        while not self._closing:
            with self.calls.lock:
                deadline = self.calls.next_deadline()
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            for key, _ in selector.select(wait):
                if key.fileobj is self._wake_r:
                    self._wake_r.recv(4096)
                elif reading:
                    reading = self._read()
                    if not reading:
                        selector.unregister(self.sock)
            with self.calls.lock:
                for call in self.calls.due(time.monotonic()):
                    if call.ending:
                        self.calls.unconfirmed(call, self.system)
                    else:
                        self.calls.asked_to_end(
                            call, "no-answer", f"no answer in {self.calls.ring_seconds:g} s"
                        )
                        self.send_hangup(call)
            self.calls.flush()
        with self.calls.lock:
            for call in list(self.calls.live.values()):
                self.calls.ended(call, call.ending or "hung-up", "the station closed")
        self.calls.flush()
        selector.close()

    def _read(self) -> bool:
        assert self.sock is not None
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            self.lose(f"{self.system}: {exc.strerror or exc}")
            return False
        if not data:
            self.lose(f"{self.system} closed the connection")
            return False
        quickack(self.sock)
        with self.calls.lock:
            try:
                self.received(data)
            except ValueError as exc:
                self.lose(f"{self.system} sent what leadtui can't read: {exc}")
                return False
        return True

    def lose(self, why: str) -> None:
        """The connection is gone: every live call ends (failed, unless this station was hanging it up)."""
        with self.calls.lock:
            if self.lost:
                return
            self.lost = self.on_lost(why)
            for call in list(self.calls.live.values()):
                self.calls.ended(call, call.ending or "failed", self.lost)
        self.wake()

    def send(self, data: bytes) -> bool:
        """Send on the connection (under the lock); False, the connection lost, when it can't."""
        with self.calls.lock:
            if self.lost or self.sock is None:
                return False
            try:
                self.sock.sendall(data)
            except OSError as exc:
                self.lose(f"{self.system}: {exc.strerror or exc}")
                return False
            return True

    # -- the Phone methods they share ---------------------------------------------------------

    def refuse(self, key: str, number: str, detail: str) -> None:
        """End a call before it is placed; the thread emits it."""
        with self.calls.lock:
            self.calls.failed(key, number, detail)
        self.wake()

    def hangup(self, key: str) -> None:
        with self.calls.lock:
            call = self.calls.live.get(key)
            if call is None or call.ending:
                return
            self.calls.asked_to_end(call, "hung-up")
            self.send_hangup(call)
        self.wake()

    def close(self) -> None:
        """Hang up what is up and wait (a moment) for the phone system to confirm, then stop the thread."""
        with self.calls.lock:
            for call in list(self.calls.live.values()):
                if not call.ending:
                    self.calls.asked_to_end(call, "hung-up")
                    self.send_hangup(call)
        self.wake()
        until = time.monotonic() + 2.0
        while self._thread is not None and time.monotonic() < until:
            with self.calls.lock:
                if not self.calls.live:
                    break
            time.sleep(0.01)
        self._closing = True
        self.wake()
        if self._thread is not None:
            self._thread.join()
        if self.sock is not None:
            self.sock.close()
        self._wake_r.close()
        self._wake_w.close()
