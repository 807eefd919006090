"""The ami adapter against a local TCP server speaking the Asterisk Manager wire format: the banner,
`Action: Login`, `Action: Originate` (every field checked), `Response`s, `Newstate`,
`OriginateResponse` and `Hangup` events, `Action: Hangup`. What each call does is scripted by the
number dialed (`Exten`)."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest
from phone_events import WAIT, Recorder, phones, states

from leadtui import config
from leadtui.telephony import TelephonyError, open_phone
from leadtui.telephony.ami import AmiReader, action

USER, SECRET = "leadtui", "ami-s3cret"
ANSWERS, BUSY, RINGS, REJECTS, NO_SUCH = (f"+1214555010{n}" for n in range(1, 6))
ORIGINATE_KEYS = [
    "Action", "Channel", "Exten", "Context", "Priority", "CallerID", "Timeout", "Async", "ActionID", "ChannelId",
]  # fmt: skip


def message(**fields: str) -> bytes:
    return ("".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


class FakeAsterisk:
    """An AMI on 127.0.0.1, one connection at a time, in a thread of its own."""

    def __init__(self, banner: str = "Asterisk Call Manager/5.0.1") -> None:
        self.banner = banner
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.actions: list[list[tuple[str, str]]] = []  # every action as sent: its (key, value) lines
        self.problems: list[str] = []
        self.channels: dict[str, str] = {}  # ChannelId -> the channel name Asterisk gave it
        self.conn: socket.socket | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def send(self, data: bytes) -> None:
        with self.lock:
            assert self.conn is not None
            self.conn.sendall(data)

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.conn = conn
            with contextlib.suppress(OSError):
                self.session(conn)
            conn.close()

    def session(self, conn: socket.socket) -> None:
        conn.sendall(f"{self.banner}\r\n".encode())
        buffer = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                block, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = [tuple(line.split(": ", 1)) for line in block.decode().split("\r\n")]
                self.actions.append(lines)  # type: ignore[arg-type]
                if not self.act(dict(lines)):  # type: ignore[arg-type]
                    return

    def act(self, a: dict[str, str]) -> bool:
        name, action_id = a["Action"], a.get("ActionID", "")
        if name == "Login":
            if (a.get("Username"), a.get("Secret")) != (USER, SECRET):
                self.send(message(Response="Error", ActionID=action_id, Message="Authentication failed"))
                return False
            self.send(message(Event="FullyBooted", Status="Fully Booted"))  # an event before the response
            self.send(message(Response="Success", ActionID=action_id, Message="Authentication accepted"))
        elif name == "Originate":
            self.originate(a)
        elif name == "Hangup":
            unique = next((u for u, c in self.channels.items() if a["Channel"] in (u, c)), None)
            if unique is None:
                self.send(message(Response="Error", ActionID=action_id, Message="No such channel"))
            else:
                self.send(message(Response="Success", ActionID=action_id, Message="Channel Hungup"))
                self.hangup(unique, "16", "Normal Clearing")
        else:
            self.problems.append(f"unexpected action {name}")
        return True

    def originate(self, a: dict[str, str]) -> None:
        keys = [k for k, _ in self.actions[-1]]
        if keys != ORIGINATE_KEYS:
            self.problems.append(f"Originate keys {keys}")
        unique, action_id, exten = a["ChannelId"], a["ActionID"], a["Exten"]
        name = f"PJSIP/1001-{len(self.channels) + 1:08x}"
        self.channels[unique] = name
        if exten == NO_SUCH:
            self.send(message(Response="Error", ActionID=action_id, Message="Extension does not exist."))
            return
        # Asterisk may report the channel ringing before it answers the action
        self.send(
            message(
                Event="Newstate", Channel=name, ChannelState="5", ChannelStateDesc="Ringing", Uniqueid=unique
            )
        )
        self.send(message(Response="Success", ActionID=action_id, Message="Originate successfully queued"))
        response = {"ActionID": action_id, "Channel": name, "Uniqueid": unique}
        if exten == ANSWERS:
            self.send(message(Event="OriginateResponse", Response="Success", Reason="4", **response))
        elif exten == BUSY:
            self.send(message(Event="OriginateResponse", Response="Failure", Reason="5", **response))
            self.hangup(unique, "17", "User busy")
        elif exten == REJECTS:
            self.send(message(Event="OriginateResponse", Response="Failure", Reason="1", **response))

    def hangup(self, unique: str, cause: str, words: str) -> None:
        """The channel hangs up (on the far end's side, or asked to)."""
        channel = self.channels.pop(unique)
        self.send(message(Event="Hangup", Channel=channel, Uniqueid=unique, Cause=cause, Cause_txt=words))

    def sent(self, name: str) -> list[dict[str, str]]:
        return [dict(a) for a in self.actions if dict(a)["Action"] == name]  # type: ignore[arg-type]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # ends the accept() under way (close alone leaves it)
        self.server.close()
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)
        self.thread.join(WAIT)


@pytest.fixture
def asterisk():
    server = FakeAsterisk()
    yield server
    server.close()
    assert server.problems == []


def dialer(tmp_path: Path, port: int, **extra: object) -> dict:
    table = {
        "kind": "ami",
        "host": "127.0.0.1",
        "port": port,
        "username": USER,
        "secret": SECRET,
        "channel": "PJSIP/1001",
        "context": "from-leadtui",
        "caller_id": "Floor <+15555550100>",
        **extra,
    }
    lines = [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in table.items()]
    path = tmp_path / "config.toml"
    path.write_text("[dialer]\n" + "\n".join(lines) + "\n")
    return config.load(str(path)).dialer


@pytest.fixture
def phone(tmp_path: Path, asterisk: FakeAsterisk):
    with phones(lambda **extra: dialer(tmp_path, asterisk.port, **extra), "floor-1:4242:ab12") as start:
        yield start


def test_originate_fields_answered_then_the_station_hangs_up(phone, asterisk: FakeAsterisk) -> None:
    adapter, events = phone(ring_seconds=25)
    adapter.dial("1", ANSWERS)
    events.wait("1", "answered")
    originate = asterisk.sent("Originate")[0]
    assert originate | {"ActionID": "", "ChannelId": ""} == {
        "Action": "Originate",
        "Channel": "PJSIP/1001",
        "Exten": ANSWERS,
        "Context": "from-leadtui",
        "Priority": "1",
        "CallerID": "Floor <+15555550100>",
        "Timeout": "25000",
        "Async": "true",
        "ActionID": "",
        "ChannelId": "",
    }
    assert originate["ChannelId"].startswith("leadtui-floor_1_4242_ab12-1-")
    adapter.hangup("1")
    ended = events.ended("1")
    assert [(e.state, e.reason, e.detail) for e in ended] == [
        ("ringing", "", "Ringing"),
        ("answered", "", ""),
        ("ended", "hung-up", "Normal Clearing"),
    ]
    assert {e.remote_id for e in ended} == {originate["ChannelId"]}
    hangup = asterisk.sent("Hangup")[0]
    assert hangup["Channel"] == "PJSIP/1001-00000001"  # the name OriginateResponse gave
    login = asterisk.sent("Login")[0]
    assert login == {
        "Action": "Login",
        "Username": USER,
        "Secret": SECRET,
        "Events": "call",
        "ActionID": "leadtui-floor_1_4242_ab12-login",
    }


def test_the_far_end_hangs_up_after_answering_is_completed(phone, asterisk: FakeAsterisk) -> None:
    adapter, events = phone()
    adapter.dial("2", ANSWERS)
    events.wait("2", "answered")
    asterisk.hangup(asterisk.sent("Originate")[0]["ChannelId"], "16", "Normal Clearing")
    assert [(e.state, e.reason, e.detail) for e in events.ended("2")][-1] == (
        "ended",
        "completed",
        "Normal Clearing",
    )


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (BUSY, [("ringing", "", "Ringing"), ("ended", "busy", "Originate failed: busy (Reason 5)")]),
        (
            REJECTS,
            [
                ("ringing", "", "Ringing"),
                ("ended", "rejected", "Originate failed: hung up before answering (Reason 1)"),
            ],
        ),
        (NO_SUCH, [("ended", "failed", "Originate refused: Extension does not exist.")]),
    ],
)
def test_unanswered_ends(phone, number: str, expected: list) -> None:
    adapter, events = phone()
    adapter.dial("3", number)
    assert [(e.state, e.reason, e.detail) for e in events.ended("3")] == expected


def test_never_answered_is_hung_up_after_ring_seconds(phone, asterisk: FakeAsterisk) -> None:
    adapter, events = phone(ring_seconds=0.3)
    adapter.dial("4", RINGS)
    ended = events.ended("4")
    assert states(ended) == ["ringing", "ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("no-answer", "no answer in 0.3 s")
    hangup = asterisk.sent("Hangup")[0]
    assert (
        hangup["Channel"] == asterisk.sent("Originate")[0]["ChannelId"]
    )  # named before Asterisk said anything


def test_a_lost_connection_fails_the_call_and_later_dials(phone, asterisk: FakeAsterisk) -> None:
    adapter, events = phone()
    adapter.dial("5", RINGS)
    events.wait("5", "ringing")
    asterisk.close()
    assert [(e.reason, e.detail) for e in events.ended("5")][-1] == (
        "failed",
        "the AMI closed the connection",
    )
    adapter.dial("6", ANSWERS)
    assert [(e.state, e.reason, e.detail) for e in events.ended("6")] == [
        ("ended", "failed", "the AMI closed the connection")
    ]


def test_a_number_that_is_not_e164_never_reaches_asterisk(phone, asterisk: FakeAsterisk) -> None:
    adapter, events = phone()
    adapter.dial("7", "+1214\r\nAction: Logoff")
    assert events.ended("7")[-1].reason == "failed" and "not a phone number" in events.of("7")[-1].detail
    adapter.dial("8", ANSWERS)
    events.wait("8", "answered")
    assert [a["Exten"] for a in asterisk.sent("Originate")] == [ANSWERS]
    assert not asterisk.sent("Logoff")


def test_bad_login_and_not_an_ami_are_one_line_errors(tmp_path: Path, asterisk: FakeAsterisk) -> None:
    adapter = open_phone(dialer(tmp_path, asterisk.port, secret="wrong"), station="s")
    with pytest.raises(TelephonyError) as caught:
        adapter.start(Recorder())
    assert (
        str(caught.value)
        == f"AMI at 127.0.0.1:{asterisk.port} refused Login as 'leadtui': Authentication failed"
    )
    adapter.close()
    other = FakeAsterisk(banner="SSH-2.0-OpenSSH_9.2")
    try:
        adapter = open_phone(dialer(tmp_path, other.port), station="s")
        with pytest.raises(TelephonyError, match=r"is not an Asterisk Manager: 'SSH-2.0-OpenSSH_9.2'$"):
            adapter.start(Recorder())
        adapter.close()
    finally:
        other.close()
    port = other.port  # closed now: nothing listens
    adapter = open_phone(dialer(tmp_path, port), station="s")
    with pytest.raises(TelephonyError, match=rf"^AMI at 127.0.0.1:{port}: Connection refused$"):
        adapter.start(Recorder())


def test_reader_and_writer_of_the_wire_format() -> None:
    reader = AmiReader()
    stream = b"Asterisk Call Manager/5.0.1\r\nResponse: Success\r\nActionID: a\r\n\r\nEvent: Hangup\r\nCause-txt: Normal Clearing\r\n\r\n"
    got = [m for i in range(len(stream)) for m in reader.feed(stream[i : i + 1])]
    assert reader.banner == "Asterisk Call Manager/5.0.1"
    assert got == [
        {"response": "Success", "actionid": "a"},
        {"event": "Hangup", "cause-txt": "Normal Clearing"},
    ]
    assert (
        action("Hangup", Channel="PJSIP/1-1", ActionID="h")
        == b"Action: Hangup\r\nChannel: PJSIP/1-1\r\nActionID: h\r\n\r\n"
    )
    with pytest.raises(ValueError):
        action("Originate", Exten="1\r\nAction: Logoff")
