"""The live floor's decisions (core.stations), without a database: a station's activity from its
call and reservation, what the floor view shows (offline, paused), which stations it lists, pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtui.clock import stamp
from leadtui.core.stations import (
    OFFLINE_AFTER,
    SHOWN_FOR,
    Activity,
    activity,
    decide_pause,
    decide_resume,
    moved,
    on_view,
    pause_guard,
    shown,
    span,
)
from leadtui.errors import LeadtuiError, Refused

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def at(**delta: float) -> str:
    return stamp(NOW - timedelta(**delta))


def row(**fields) -> dict:
    base = {
        "station": "s1",
        "rep": "alice",
        "state": "idle",
        "since": at(minutes=5),
        "lead_id": None,
        "call_id": None,
        "pause_reason": None,
        "paused_at": None,
        "started_at": at(hours=1),
        "heartbeat_at": at(seconds=2),
    }
    return base | fields


def call(**fields) -> dict:
    return {"id": 7, "lead_id": 12, "answered_at": None, "ended_at": None} | fields


def test_activity_an_open_call_decides_then_the_lead_on_screen_then_idle():
    assert activity(None, None) == Activity("idle")
    assert activity(30, None) == Activity("lead", 30)
    assert activity(30, call()) == Activity("dialling", 12, 7)  # the call's lead, not the one on screen
    assert activity(30, call(answered_at=at(seconds=9))) == Activity("call", 12, 7)
    assert activity(None, call(answered_at=at(seconds=9), ended_at=at(seconds=1))) == Activity(
        "wrapup", 12, 7
    )
    assert activity(None, call(ended_at=at(seconds=1))) == Activity(
        "wrapup", 12, 7
    )  # no answer: its outcome too


def test_moved_the_time_in_state_restarts_on_a_new_state_lead_or_call():
    on = row(state="lead", lead_id=30)
    assert not moved(on, Activity("lead", 30))
    assert moved(on, Activity("lead", 31))
    assert moved(on, Activity("dialling", 30, 7))
    assert not moved(row(state="call", lead_id=12, call_id=7), Activity("call", 12, 7))


def test_shown_offline_when_closed_or_silent_else_paused_else_the_activity():
    assert shown(row(state="lead", since=at(minutes=3)), NOW) == ("lead", at(minutes=3))
    assert shown(row(state="offline", since=at(minutes=1)), NOW) == ("offline", at(minutes=1))
    silent = OFFLINE_AFTER + timedelta(seconds=1)
    assert shown(row(heartbeat_at=stamp(NOW - silent)), NOW) == ("offline", stamp(NOW - silent))
    assert shown(row(heartbeat_at=stamp(NOW - OFFLINE_AFTER)), NOW)[0] == "idle"
    paused = row(pause_reason="lunch", paused_at=at(minutes=20))
    assert shown(paused, NOW) == ("paused", at(minutes=20))
    assert shown({**paused, "heartbeat_at": stamp(NOW - silent)}, NOW)[0] == "offline"


def test_on_view_every_live_station_and_a_reps_latest_closed_one_when_none_is_live():
    rows = [
        row(station="a1", rep="alice", state="offline", heartbeat_at=at(hours=2), started_at=at(hours=3)),
        row(station="a2", rep="alice", state="lead", started_at=at(hours=1)),
        row(station="b1", rep="bob", state="offline", heartbeat_at=at(hours=3), started_at=at(hours=5)),
        row(station="b2", rep="bob", heartbeat_at=at(minutes=30), started_at=at(hours=4)),  # silent
        row(
            station="c1",
            rep="carol",
            state="offline",
            heartbeat_at=stamp(NOW - SHOWN_FOR - timedelta(seconds=1)),
        ),
        row(station="d1", rep="Dan", pause_reason="break", paused_at=at(minutes=2)),
        row(station="d2", rep="dan", state="call", lead_id=5, call_id=9, started_at=at(minutes=50)),
    ]
    got = [(r["station"], state) for r, state, _ in on_view(rows, NOW)]
    assert got == [("a2", "lead"), ("b2", "offline"), ("d1", "paused"), ("d2", "call")]


def test_decide_pause_not_twice_not_with_an_open_call_and_a_one_line_reason():
    assert decide_pause(row(), None, "  lunch ") == "lunch"
    with pytest.raises(Refused, match=r"already paused \(lunch\)"):
        decide_pause(row(pause_reason="lunch", paused_at=at(minutes=1)), None, "break")
    with pytest.raises(Refused, match="lead 12's call is still open"):
        decide_pause(row(), call(ended_at=at(seconds=3)), "break")
    with pytest.raises(LeadtuiError, match="not on the floor"):
        decide_pause(None, None, "break")
    with pytest.raises(LeadtuiError, match="not on the floor"):
        decide_pause(row(state="offline"), None, "break")
    for bad in ("", "   ", "x" * 41, "a\tb", "bell\x07"):
        with pytest.raises(LeadtuiError):
            decide_pause(row(), None, bad)


def test_decide_resume_gives_the_length_of_the_pause_and_the_guard_refuses_a_call():
    paused = row(pause_reason="training", paused_at=at(minutes=45, seconds=2))
    assert decide_resume(paused, NOW) == 45 * 60 + 2
    with pytest.raises(Refused, match="not paused"):
        decide_resume(row(), NOW)
    with pytest.raises(Refused, match=r"paused \(training\): resume first"):
        pause_guard(paused)
    pause_guard(row())
    pause_guard(None)  # a CLI call has no station row


def test_span_reads_minutes_and_seconds_then_hours():
    assert [span(s) for s in (0, 65, 3599, 3600, 3723, -4)] == [
        "0:00",
        "1:05",
        "59:59",
        "1:00:00",
        "1:02:03",
        "0:00",
    ]
