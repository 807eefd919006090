"""The baresip adapter against real baresip instances on 127.0.0.1 (tests/baresip_rig.py).

The station is the adapter's own baresip (started from a [dialer] table read by config.load), or
one already running (`control`); the "lead's phone" is another baresip whose accounts answer
(answermode=auto) or ring until the test rejects, hangs up or lets the station's ring time run out.
Every test ends with no baresip left running under its tmp_path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from baresip_rig import WAIT, Baresip, baresip_pids, free_port
from phone_events import Recorder, phones, states

from leadtui import config
from leadtui.telephony import TelephonyError, open_phone
from leadtui.telephony.baresip import Netstrings, ask, end_reason, netstring
from leadtui.telephony.base import tcp

ANSWERS, RINGS = "+12145550101", "+12145550102"  # the lead's phone: one account picks up, one only rings
STATION = "<sip:station@127.0.0.1>;regint=0"


@pytest.fixture
def lead(tmp_path: Path):
    phone = Baresip(tmp_path / "lead", {ANSWERS: "auto", RINGS: "manual"})
    yield phone
    phone.stop()


@pytest.fixture(autouse=True)
def nothing_left_behind(tmp_path: Path):
    yield
    assert baresip_pids(tmp_path) == []


def dialer(tmp_path: Path, uri: str, **extra: object) -> dict:
    """A [dialer] table through config.load, as a station reads it."""
    table = {
        "kind": "baresip",
        "uri": uri,
        "account": STATION,
        "sip_port": free_port(sip=True),
        "control_port": free_port(),
        "config_dir": "station",
        "sip_address": "127.0.0.1",
        "audio_source": "ausine,440",
        "audio_player": "aubridge,station",
        "ring_seconds": 30,
        **extra,
    }
    table = {k: v for k, v in table.items() if v is not None}
    lines = [f"{k} = {v!r}" if isinstance(v, (int, float)) else f'{k} = "{v}"' for k, v in table.items()]
    path = tmp_path / "config.toml"
    path.write_text("[dialer]\n" + "\n".join(lines) + "\n")
    return config.load(str(path)).dialer


@pytest.fixture
def station(tmp_path: Path, lead: Baresip):
    """start(**dialer keys) -> (phone, recorder): the station's own baresip calling the lead's phone."""

    def table(uri: str = f"sip:{{number}}@127.0.0.1:{lead.sip_port}", **extra: object) -> dict:
        return dialer(tmp_path, uri, **extra)

    with phones(table, "t") as start:
        yield start


def test_answered_then_the_station_hangs_up(station, lead: Baresip) -> None:
    phone, events = station()
    caller = threading.current_thread().name
    phone.dial("1", ANSWERS)
    events.wait("1", "answered")
    answered_there = lead.wait("CALL_ESTABLISHED", ANSWERS)
    phone.hangup("1")
    ended = events.ended("1")
    assert states(ended) == ["ringing", "answered", "ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("hung-up", "Connection reset by user")
    assert {e.remote_id for e in ended} == {answered_there["id"]}  # baresip's call id, the same both ends
    lead.wait("CALL_CLOSED", ANSWERS)  # the lead's phone hung up too
    assert caller not in events.threads and events.threads == {"leadtui-baresip"}
    phone.hangup("1")  # an ended call: nothing happens
    assert len(events.of("1")) == 3


def test_the_lead_hangs_up_after_answering_is_completed(station, lead: Baresip) -> None:
    phone, events = station()
    phone.dial("7", ANSWERS)
    lead.wait("CALL_ESTABLISHED", ANSWERS)
    events.wait("7", "answered")
    lead.hangup(ANSWERS)
    ended = events.ended("7")
    assert states(ended) == ["ringing", "answered", "ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("completed", "Connection reset by peer")


def test_rejected(station, lead: Baresip) -> None:
    phone, events = station()
    phone.dial("2", RINGS)
    lead.wait("CALL_INCOMING", RINGS)
    lead.hangup(RINGS)
    ended = events.ended("2")
    assert states(ended) == ["ringing", "ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("rejected", "486 Rejected")


def test_busy(tmp_path: Path, station) -> None:
    busy = Baresip(tmp_path / "busy", {ANSWERS: "auto"}, max_calls=1)
    other = Baresip(tmp_path / "other", {"other": "manual"})
    try:
        other.dial("other", busy.uri(ANSWERS))
        busy.wait("CALL_ESTABLISHED", ANSWERS)  # its one line is taken
        phone, events = station(uri=f"sip:{{number}}@127.0.0.1:{busy.sip_port}")
        phone.dial("3", ANSWERS)
        ended = events.ended("3")
        assert states(ended) == ["ended"]
        assert (ended[-1].reason, ended[-1].detail) == ("busy", "486 Max Calls")
    finally:
        other.stop()
        busy.stop()


def test_never_answered_is_hung_up_after_ring_seconds(station, lead: Baresip) -> None:
    phone, events = station(ring_seconds=0.5)
    phone.dial("4", RINGS)
    incoming = lead.wait("CALL_INCOMING", RINGS)
    ended = events.ended("4")
    assert states(ended) == ["ringing", "ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("no-answer", "no answer in 0.5 s")
    closed = lead.wait("CALL_CLOSED", RINGS)  # the station hung up: it stopped ringing there
    assert closed["id"] == incoming["id"] == ended[-1].remote_id


def test_unreachable_tcp_target_fails(tmp_path: Path, station) -> None:
    nothing = free_port()
    phone, events = station(uri=f"sip:{{number}}@127.0.0.1:{nothing};transport=tcp")
    phone.dial("5", ANSWERS)
    ended = events.ended("5")
    assert states(ended) == ["ended"]
    assert (ended[-1].reason, ended[-1].detail) == ("failed", "Connection refused")


def test_one_call_at_a_time_and_a_redial_right_after_a_hang_up(station, lead: Baresip) -> None:
    phone, events = station()
    phone.dial("10", RINGS)
    lead.wait("CALL_INCOMING", RINGS)
    phone.dial("11", ANSWERS)
    assert events.ended("11")[-1].reason == "failed"
    assert events.of("11")[-1].detail == "call 10 is still up on this station: hang it up first"
    phone.hangup("10")
    phone.dial("12", ANSWERS)  # before baresip confirmed the hang-up: it acts on commands in order
    assert events.ended("10")[-1].reason == "hung-up"
    assert states(events.wait("12", "answered")) == ["ringing", "answered"]
    assert lead.wait("CALL_ESTABLISHED", ANSWERS)["id"] == events.of("12")[0].remote_id


def test_a_number_that_is_not_e164_never_reaches_baresip(station, lead: Baresip) -> None:
    phone, events = station()
    phone.dial("6", "+1214555;transport=tcp")
    ended = events.ended("6")
    assert (ended[-1].state, ended[-1].reason) == ("ended", "failed")
    assert "not a phone number" in ended[-1].detail
    assert lead.seen("CALL_INCOMING") == lead.seen("CALL_ESTABLISHED") == []


def test_close_hangs_up_and_stops_its_own_baresip(station, lead: Baresip, tmp_path: Path) -> None:
    phone, events = station()
    phone.dial("8", ANSWERS)
    events.wait("8", "answered")
    own = baresip_pids(tmp_path / "station")
    assert len(own) == 1
    phone.close()
    assert events.of("8")[-1].reason == "hung-up"  # emitted before close() returned
    assert baresip_pids(tmp_path / "station") == []
    lead.wait("CALL_CLOSED", ANSWERS)


def test_connects_to_a_running_baresip_and_leaves_it_running(tmp_path: Path, lead: Baresip) -> None:
    running = Baresip(tmp_path / "softphone", {"rep": "manual"})
    try:
        table = dialer(
            tmp_path,
            f"sip:{{number}}@127.0.0.1:{lead.sip_port}",
            control=f"127.0.0.1:{running.control_port}",
            account=None,
            sip_port=None,
            control_port=None,
            config_dir=None,
            sip_address=None,
            audio_source=None,
            audio_player=None,
        )
        phone = open_phone(table, station="t")
        events = Recorder()
        phone.start(events)
        phone.dial("9", ANSWERS)
        events.wait("9", "answered")
        phone.close()
        assert states(events.of("9")) == ["ringing", "answered", "ended"]
        assert events.of("9")[-1].reason == "hung-up"
        assert running.proc.poll() is None  # not ours to stop
        with tcp("127.0.0.1", running.control_port, WAIT) as sock:  # and it still takes commands
            assert ask(sock, Netstrings(), "reginfo")[0]["ok"]
    finally:
        running.stop()


def test_start_refuses_ports_another_program_holds(tmp_path: Path, lead: Baresip) -> None:
    uri = f"sip:{{number}}@127.0.0.1:{lead.sip_port}"
    taken = [
        (dialer(tmp_path, uri, sip_port=lead.sip_port), "baresip exited 98 as it started (dialer.sip_port"),
        (dialer(tmp_path, uri, control_port=lead.control_port), "is already taken on 127.0.0.1"),
        (
            dialer(
                tmp_path,
                uri,
                control=f"127.0.0.1:{free_port()}",
                **dict.fromkeys(
                    (
                        "account",
                        "sip_port",
                        "control_port",
                        "config_dir",
                        "sip_address",
                        "audio_source",
                        "audio_player",
                    )
                ),
            ),
            "(dialer.control): Connection refused",
        ),
    ]
    for table, words in taken:
        phone = open_phone(table, station="t")
        with pytest.raises(TelephonyError) as caught:
            phone.start(Recorder())
        assert words in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert baresip_pids(tmp_path / "station") == []
    assert lead.command("reginfo")["ok"]  # the lead's phone, whose ports those were, still runs


def test_a_folder_leadtui_did_not_write_is_refused(tmp_path: Path, lead: Baresip) -> None:
    (tmp_path / "station").mkdir()
    (tmp_path / "station" / "config").write_text("sip_listen 0.0.0.0:5060\n")
    phone = open_phone(dialer(tmp_path, f"sip:{{number}}@127.0.0.1:{lead.sip_port}"), station="t")
    with pytest.raises(TelephonyError, match="holds a baresip config leadtui didn't write"):
        phone.start(Recorder())
    assert (tmp_path / "station" / "config").read_text() == "sip_listen 0.0.0.0:5060\n"


STATION_PROCESS = """
import sys, time
from leadtui import config
from leadtui.telephony import open_phone
phone = open_phone(config.load(sys.argv[1]).dialer, station="t")
phone.start(lambda event: None)
phone.dial("1", sys.argv[2])
print("up", flush=True)
time.sleep(600)
"""


def test_a_killed_stations_baresip_is_stopped_when_the_station_starts_again(
    tmp_path: Path, lead: Baresip
) -> None:
    table = dialer(tmp_path, f"sip:{{number}}@127.0.0.1:{lead.sip_port}")
    proc = subprocess.Popen(
        [sys.executable, "-c", STATION_PROCESS, str(tmp_path / "config.toml"), ANSWERS],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "up\n"
        lead.wait("CALL_ESTABLISHED", ANSWERS)
        orphan = baresip_pids(tmp_path / "station")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(orphan) == 1 and baresip_pids(tmp_path / "station") == orphan  # it outlived its station
    phone = open_phone(table, station="t")
    events = Recorder()
    phone.start(events)  # same ports: the orphan is stopped first
    try:
        now = baresip_pids(tmp_path / "station")
        assert len(now) == 1 and now != orphan
        lead.wait("CALL_CLOSED", ANSWERS)  # the orphan's call went with it
        phone.dial("2", ANSWERS)
        assert states(events.wait("2", "answered")) == ["ringing", "answered"]
    finally:
        phone.close()


@pytest.mark.parametrize(
    ("param", "answered", "reason"),
    [
        ("Connection reset by peer", True, "completed"),
        ("486 Busy Here", False, "busy"),
        ("600 Busy Everywhere", False, "busy"),
        ("486 Rejected", False, "rejected"),
        ("603 Decline", False, "rejected"),
        ("480 Temporarily Unavailable", False, "no-answer"),
        ("408 Request Timeout", False, "no-answer"),
        ("404 Not Found", False, "failed"),
        ("503 Service Unavailable", False, "failed"),
        ("Connection refused", False, "failed"),
        ("Connection timed out", False, "failed"),
    ],
)
def test_end_reasons_of_call_closed(param: str, answered: bool, reason: str) -> None:
    assert end_reason(param, answered=answered) == reason


def test_netstrings_split_anywhere_and_bad_framing_is_refused() -> None:
    stream = netstring({"event": True, "n": 1}) + netstring({"response": True, "token": "t"})
    reader = Netstrings()
    got = [m for i in range(len(stream)) for m in reader.feed(stream[i : i + 1])]
    assert got == [{"event": True, "n": 1}, {"response": True, "token": "t"}]
    for bad in (b"x:{}", b"3:{}},", b"2:{}x", b"1234567890123"):
        with pytest.raises(ValueError):
            Netstrings().feed(bad)
