"""The twilio adapter against a local HTTP server (LocalHTTP, 127.0.0.1) standing in for Twilio's Calls API.

The server checks every request exactly (path, Basic auth, form fields, the TwiML) and plays back a
script of call states, one per GET of the call; the adapter polls it and reports what it reads.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from phone_events import Recorder, phones, states
from test_automation_targets import LocalHTTP

from leadtui import config
from leadtui.telephony import TelephonyError, open_phone
from leadtui.telephony.twilio import twiml

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "token-0123"
FLOOR, REP = "+15555550100", "sip:rep1@floor.sip.twilio.com"
SCRIPTS = {  # the lead's number -> the statuses GETs of its call read, in turn (the last one stays)
    "+12145550101": ["ringing", "in-progress", "in-progress", "completed"],
    "+12145550102": ["queued", "ringing", "busy"],
    "+12145550103": ["ringing", "no-answer"],
    "+12145550104": ["failed"],
    "+12145550105": ["ringing", "canceled"],
    "+12145550106": ["ringing", "in-progress"],  # up until hung up
    "+12145550107": ["ringing"],  # rings until hung up
}
INVALID = "+1555"


class FakeTwilio(LocalHTTP):
    """The Calls API: POST Calls.json places, GET Calls/{sid}.json reads, POST Calls/{sid}.json updates."""

    def __init__(self) -> None:
        super().__init__()
        # LocalHTTP routes POSTs only; its handler class is this server's own, so GETs are added to it here
        self.http.RequestHandlerClass.do_GET = lambda handler: self.get(handler)  # type: ignore[attr-defined]  # noqa: PLW0108 (called as a method: the handler comes first)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, form)
        self.calls: dict[str, dict] = {}
        self.sids = (f"CA{n:032d}" for n in itertools.count(1))
        self.problems: list[str] = []  # what a request got wrong (the test asserts there are none)

    def reply(self, handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if handler.headers.get("authorization") == expected:
            return True
        self.reply(handler, 401, {"code": 20003, "message": "Authenticate", "status": 401})
        return False

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests.append(("GET", handler.path, {}))
        if not self.authorized(handler):
            return
        if handler.path == f"/2010-04-01/Accounts/{SID}.json":
            self.reply(handler, 200, {"sid": SID, "status": "active"})
            return
        sid = handler.path.removeprefix(f"/2010-04-01/Accounts/{SID}/Calls/").removesuffix(".json")
        with self.lock:
            call = self.calls.get(sid)
            if call is None:
                body = None
            else:
                status = call["script"][min(call["read"], len(call["script"]) - 1)]
                call["read"] += 1
                body = {"sid": sid, "status": status}
        if body is None:
            self.reply(
                handler,
                404,
                {"code": 20404, "message": f"The requested resource {handler.path} was not found"},
            )
        else:
            self.reply(handler, 200, body)

    def post(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("content-length", 0))).decode()
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        with self.lock:
            self.requests.append(("POST", handler.path, form))
        if handler.headers.get("content-type") != "application/x-www-form-urlencoded":
            self.problems.append(f"content-type {handler.headers.get('content-type')}")
        if not self.authorized(handler):
            return
        calls = f"/2010-04-01/Accounts/{SID}/Calls"
        if handler.path == f"{calls}.json":
            self.place(handler, form)
        elif handler.path.startswith(f"{calls}/"):
            sid = handler.path.removeprefix(f"{calls}/").removesuffix(".json")
            if form != {"Status": "completed"}:
                self.problems.append(f"update form {form}")
            with self.lock:
                self.calls[sid]["script"], self.calls[sid]["read"] = ["completed"], 0
            self.reply(handler, 200, {"sid": sid, "status": "completed"})
        else:
            self.problems.append(f"POST {handler.path}")
            self.reply(handler, 404, {"message": "no such resource"})

    def place(self, handler: BaseHTTPRequestHandler, form: dict) -> None:
        if set(form) != {"To", "From", "Twiml", "Timeout"}:
            self.problems.append(f"form fields {sorted(form)}")
        dial = ET.fromstring(form["Twiml"]).find("Dial")
        number = dial.findtext("Number") if dial is not None else None
        if number == INVALID:
            message = f"The phone number you are attempting to call, {number}, is not valid."
            self.reply(handler, 400, {"code": 13223, "message": message, "status": 400})
            return
        sid = next(self.sids)
        with self.lock:
            self.calls[sid] = {"script": SCRIPTS[number], "read": 0, "form": form}
        self.reply(handler, 201, {"sid": sid, "status": "queued", "to": form["To"]})


@pytest.fixture
def twilio():
    with FakeTwilio() as server:
        yield server
    assert server.problems == []


def dialer(tmp_path: Path, api_base: str, **extra: object) -> dict:
    lines = [
        'kind = "twilio"',
        f'account_sid = "{SID}"',
        'auth_token_env = "LEADTUI_TEST_TWILIO_TOKEN"',
        f'from = "{extra.pop("caller", FLOOR)}"',
        f'to = "{REP}"',
        f'api_base = "{api_base}"',
        "poll_seconds = 0.02",
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    path = tmp_path / "config.toml"
    path.write_text("[dialer]\n" + "\n".join(lines) + "\n")
    return config.load(str(path)).dialer


@pytest.fixture
def phone(tmp_path: Path, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch):
    """start(**[dialer] keys) -> (phone, recorder)."""
    monkeypatch.setenv("LEADTUI_TEST_TWILIO_TOKEN", TOKEN)
    with phones(lambda **extra: dialer(tmp_path, twilio.url, **extra), "t") as start:
        yield start


def test_the_exact_calls_request_and_a_completed_call(phone, twilio: FakeTwilio) -> None:
    adapter, events = phone(ring_seconds=25)
    caller = threading.current_thread().name
    adapter.dial("1", "+12145550101")
    ended = events.ended("1")
    assert [(e.state, e.reason, e.detail) for e in ended] == [
        ("ringing", "", "ringing"),
        ("answered", "", "in-progress"),
        ("ended", "completed", "completed"),
    ]
    sid = ended[0].remote_id
    assert sid.startswith("CA") and {e.remote_id for e in ended} == {sid}
    assert twilio.requests[0] == ("GET", f"/2010-04-01/Accounts/{SID}.json", {})  # start checks the account
    method, path, form = twilio.requests[1]
    assert (method, path) == ("POST", f"/2010-04-01/Accounts/{SID}/Calls.json")
    assert form == {
        "To": REP,
        "From": FLOOR,
        "Twiml": '<Response><Dial callerId="+15555550100" timeout="25"><Number>+12145550101</Number></Dial></Response>',
        "Timeout": "25",
    }
    assert all(r[:2] == ("GET", f"/2010-04-01/Accounts/{SID}/Calls/{sid}.json") for r in twilio.requests[2:])
    assert caller not in events.threads and events.threads == {"leadtui-twilio"}


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+12145550102", [("ringing", "", "ringing"), ("ended", "busy", "busy")]),
        ("+12145550103", [("ringing", "", "ringing"), ("ended", "no-answer", "no-answer")]),
        ("+12145550104", [("ended", "failed", "failed")]),
        ("+12145550105", [("ringing", "", "ringing"), ("ended", "hung-up", "canceled")]),
    ],
)
def test_call_states_played_back(phone, number: str, expected: list) -> None:
    adapter, events = phone()
    adapter.dial("2", number)
    assert [(e.state, e.reason, e.detail) for e in events.ended("2")] == expected


def test_hang_up_updates_the_call_to_completed(phone, twilio: FakeTwilio) -> None:
    adapter, events = phone()
    adapter.dial("3", "+12145550106")
    events.wait("3", "answered")
    adapter.hangup("3")
    ended = events.ended("3")
    assert states(ended) == ["ringing", "answered", "ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("hung-up", "completed")
    sid = ended[0].remote_id
    assert (
        "POST",
        f"/2010-04-01/Accounts/{SID}/Calls/{sid}.json",
        {"Status": "completed"},
    ) in twilio.requests
    adapter.dial("4", "+12145550107")  # hung up while it rings
    events.wait("4", "ringing")
    adapter.hangup("4")
    assert [(e.state, e.reason) for e in events.ended("4")] == [("ringing", ""), ("ended", "hung-up")]


def test_an_api_error_is_one_failed_event_with_twilios_message(phone, twilio: FakeTwilio) -> None:
    adapter, events = phone()
    adapter.dial("5", INVALID)
    assert [(e.state, e.reason, e.detail) for e in events.ended("5")] == [
        ("ended", "failed", "The phone number you are attempting to call, +1555, is not valid.")
    ]
    adapter.dial("6", "+12145550101")  # the adapter goes on
    assert events.ended("6")[-1].reason == "completed"


def test_close_hangs_up_a_call_still_up(phone, twilio: FakeTwilio) -> None:
    adapter, events = phone()
    adapter.dial("7", "+12145550107")
    events.wait("7", "ringing")
    adapter.close()
    assert [(e.state, e.reason) for e in events.of("7")] == [("ringing", ""), ("ended", "hung-up")]
    assert twilio.requests[-1][1:] == (
        f"/2010-04-01/Accounts/{SID}/Calls/{events.of('7')[0].remote_id}.json",
        {"Status": "completed"},
    )


def test_bad_credentials_and_no_server_are_one_line_errors(
    tmp_path: Path, twilio: FakeTwilio, monkeypatch
) -> None:
    monkeypatch.setenv("LEADTUI_TEST_TWILIO_TOKEN", "wrong")
    adapter = open_phone(dialer(tmp_path, twilio.url), station="t")
    with pytest.raises(TelephonyError, match=r"^twilio: Authenticate$"):
        adapter.start(Recorder())
    adapter.close()
    with LocalHTTP() as gone:
        url = gone.url
    adapter = open_phone(dialer(tmp_path, url), station="t")
    with pytest.raises(TelephonyError, match=r"^twilio: ConnectError: .*refused"):
        adapter.start(Recorder())
    adapter.close()


def test_twiml_escapes_what_it_quotes() -> None:
    document = twiml("+12145550101", 'Floor & "Co" <x>', 30.2)
    assert document == (
        '<Response><Dial callerId="Floor &amp; &quot;Co&quot; &lt;x&gt;" timeout="31">'
        "<Number>+12145550101</Number></Dial></Response>"
    )
    assert ET.fromstring(document).find("Dial").get("callerId") == 'Floor & "Co" <x>'  # type: ignore[union-attr]
    assert ET.fromstring(twiml("<script>&", "+1", 30)).findtext("Dial/Number") == "<script>&"
