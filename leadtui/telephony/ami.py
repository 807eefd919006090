"""`ami`: Asterisk places the call, told over its Manager Interface (AMI).

`Originate` rings the rep's extension (`channel`) first; when the rep picks up, Asterisk dials
the lead's number (`Exten`) in `context`. leadtui names the channel itself (`ChannelId`, Asterisk
12 and later) so its events and a hang-up can find it before Asterisk reports anything; the
`OriginateResponse` event (same `ActionID`) says whether it connected, `Newstate` that it rings
and `Hangup` (`Cause`, `Cause-txt`) how it ended.
"""

from __future__ import annotations

import itertools
import re
import secrets
import socket

from leadtui.telephony.base import Call, Emit, Line, TelephonyError, dialable, tcp

BANNER = "Asterisk Call Manager/"
MAX_MESSAGE = 1 << 20
# OriginateResponse's Reason (Asterisk's control frame) when the Originate failed -> (reason, words)
_ORIGINATE_FAILED = {
    "0": ("failed", "no such channel or extension"),
    "1": ("rejected", "hung up before answering"),
    "3": ("no-answer", "ring timeout"),
    "5": ("busy", "busy"),
    "8": ("failed", "congestion"),
}
# Q.850 causes of a Hangup before the call was answered
_UNANSWERED = {"16": "no-answer", "17": "busy", "18": "no-answer", "19": "no-answer", "21": "rejected"}


def action(name: str, **fields: str) -> bytes:
    """One AMI action: `Key: Value` lines and a blank line. A value can't break out of its line."""
    lines = [f"Action: {name}", *(f"{k}: {v}" for k, v in fields.items())]
    if any(re.search(r"[\r\n]", line) for line in lines):
        raise ValueError("an AMI value can't hold a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class AmiReader:
    """Splits the AMI stream into messages (dicts, keys in lower case) after its banner line."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[dict[str, str]]:
        self.buffer += data.replace(b"\r", b"")
        if self.banner is None:
            end = self.buffer.find(b"\n")
            if end < 0:
                if len(self.buffer) > 1024:
                    raise ValueError("no banner line")
                return []
            self.banner = self.buffer[:end].decode(errors="replace").strip()
            del self.buffer[: end + 1]
        messages = []
        while (end := self.buffer.find(b"\n\n")) >= 0:
            block = self.buffer[:end].decode(errors="replace")
            del self.buffer[: end + 2]
            message = {}
            for line in block.split("\n"):
                key, colon, value = line.partition(":")
                if colon:
                    message[key.strip().lower()] = value.strip()
            if message:
                messages.append(message)
        if len(self.buffer) > MAX_MESSAGE:
            raise ValueError("a message over 1 MiB")
        return messages


class AmiPhone(Line):
    """The `ami` adapter."""

    name = "ami"
    system = "the AMI"

    def __init__(self, dialer: dict, *, secret: str, station: str):
        super().__init__(dialer["ring_seconds"])
        self.dialer, self.secret = dialer, secret
        self.where = f"AMI at {dialer['host']}:{dialer['port']}"
        self.tag = re.sub(r"[^A-Za-z0-9_]", "_", station)[:24]
        self.reader = AmiReader()
        self.numbers = itertools.count(1)
        self.hangups: dict[str, Call] = {}  # a Hangup action's ActionID -> its call, until answered

    def start(self, emit: Emit) -> None:
        try:
            sock = tcp(self.dialer["host"], self.dialer["port"], 5.0)
        except OSError as exc:
            raise TelephonyError(f"{self.where}: {exc.strerror or exc}") from None
        try:
            kept = self._login(sock)
        except TelephonyError:
            sock.close()
            raise
        except (OSError, ValueError) as exc:
            sock.close()
            raise TelephonyError(f"{self.where}: {exc}") from None
        with self.calls.lock:
            for message in kept:
                self._message(message)
        self.run(sock, emit)

    def _login(self, sock: socket.socket) -> list[dict[str, str]]:
        """The banner, then Login; the messages that came before its response are kept."""
        sock.settimeout(5.0)
        action_id = f"leadtui-{self.tag}-login"
        sent, kept = False, []
        while True:
            data = sock.recv(65536)
            if not data:
                raise TelephonyError(f"{self.where} closed the connection before Login was answered")
            messages = self.reader.feed(data)
            if self.reader.banner is not None and not self.reader.banner.startswith(BANNER):
                raise TelephonyError(f"{self.where} is not an Asterisk Manager: {self.reader.banner[:60]!r}")
            if self.reader.banner is not None and not sent:
                sock.sendall(
                    action(
                        "Login",
                        Username=self.dialer["username"],
                        Secret=self.secret,
                        Events="call",  # the class of Newstate, OriginateResponse and Hangup; no others
                        ActionID=action_id,
                    )
                )
                sent = True
            for message in messages:
                if message.get("actionid") != action_id or "response" not in message:
                    kept.append(message)
                elif message["response"].lower() == "success":
                    return kept
                else:
                    why = message.get("message") or message["response"]
                    raise TelephonyError(
                        f"{self.where} refused Login as {self.dialer['username']!r}: {why[:200]}"
                    )

    def dial(self, key: str, number: str) -> None:
        with self.calls.lock:
            if key in self.calls.live:
                raise ValueError(f"call {key} is already placed")
            problem = self.lost or dialable(number)
            if problem:
                self.refuse(key, number, problem)
                return
            call = self.calls.add(key, number)
            call.remote_id = f"leadtui-{self.tag}-{key}-{secrets.token_hex(4)}"
            call.extra.update(action=f"{call.remote_id}-o", ids={call.remote_id}, channel="")
            fields = {
                "Channel": self.dialer["channel"],
                "Exten": number,
                "Context": self.dialer["context"],
                "Priority": "1",
                **({"CallerID": self.dialer["caller_id"]} if "caller_id" in self.dialer else {}),
                "Timeout": str(round(self.calls.ring_seconds * 1000)),
                "Async": "true",
                "ActionID": call.extra["action"],
                "ChannelId": call.remote_id,
            }
            self.send(action("Originate", **fields))

    def send_hangup(self, call: Call) -> None:
        action_id = f"{call.remote_id}-h{next(self.numbers)}"
        self.hangups[action_id] = call
        self.send(action("Hangup", Channel=call.extra["channel"] or call.remote_id, ActionID=action_id))

    def received(self, data: bytes) -> None:
        for message in self.reader.feed(data):
            self._message(message)

    def _message(self, m: dict[str, str]) -> None:
        action_id, event = m.get("actionid", ""), m.get("event", "").lower()
        if not event:
            if "response" in m:
                self._response(m, action_id)
            return
        if event == "originateresponse":
            call = next((c for c in self.calls.live.values() if c.extra["action"] == action_id), None)
            if call is None:
                return
            if m.get("uniqueid", "<null>") != "<null>":
                call.extra["ids"].add(m["uniqueid"])
            if m.get("channel"):
                call.extra["channel"] = m["channel"]
            if m.get("response", "").lower() == "success":
                self.calls.answered(call)
            else:
                reason, words = _ORIGINATE_FAILED.get(m.get("reason", "0"), ("failed", "failed"))
                detail = f"Originate failed: {words} (Reason {m.get('reason', '?')})"
                self.calls.ended(call, call.ending or reason, call.ending_detail or detail)
            return
        call = next((c for c in self.calls.live.values() if m.get("uniqueid") in c.extra["ids"]), None)
        if call is None:
            return
        if event == "newstate" and (m.get("channelstate") == "5" or m.get("channelstatedesc") == "Ringing"):
            self.calls.ringing(call, m.get("channelstatedesc", ""))
        elif event == "hangup":
            cause, words = m.get("cause", ""), m.get("cause-txt", "")
            if call.ending:
                reason = call.ending
            elif call.answered:
                reason = "completed"
            else:
                reason = _UNANSWERED.get(cause, "failed")
            self.calls.ended(call, reason, call.ending_detail or words or f"Cause {cause}")

    def _response(self, m: dict[str, str], action_id: str) -> None:
        failed = m["response"].lower() == "error"
        call = self.hangups.pop(action_id, None)
        if call is not None:
            if failed:  # "No such channel": nothing left to hang up
                self.calls.ended(call, call.ending or "hung-up", call.ending_detail or m.get("message", ""))
            return
        call = next((c for c in self.calls.live.values() if c.extra["action"] == action_id), None)
        if call is not None and failed:
            self.calls.ended(call, "failed", f"Originate refused: {m.get('message', '')}")
