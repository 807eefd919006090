"""Rules D2 and D3 through the Service: every call placed is logged with its times, end reason,
outcome and notes; caps count the log, which undo never shrinks; a call without an outcome stays
open until one is recorded, across a restart. And W20's KPIs from the log."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import NEWBIE, REP, add_lead

from leadtui.errors import LeadtuiError, Refused
from leadtui.service import Service, init_database
from leadtui.store import db as db_module
from leadtui.store.db import connect
from leadtui.store.schema import MIGRATIONS

pytestmark = pytest.mark.engines

CHI = ZoneInfo("America/Chicago")
DIAL = "not-contacted"


@pytest.fixture
def svc(make_service):
    return make_service("wholesale")


def owned(svc, rep: str = REP, **kwargs) -> dict:
    lead = add_lead(svc, **kwargs)
    svc.claim(lead["id"], rep)
    return lead


def place(svc, lead_id: int, rep: str = REP, **kwargs) -> dict:
    return svc.place_call(lead_id, rep, station=svc.station, system="baresip", **kwargs)


def rows(svc) -> int:
    return svc.db.conn.execute("SELECT count(*) FROM calls").fetchone()[0]


# --- D2: the log ----------------------------------------------------------------------------------


def test_d2_every_placed_call_logged_with_times_reason_outcome_and_notes(svc, clock):
    lead = owned(svc)
    call = place(svc, lead["id"])
    placed = clock.now()
    clock.advance(seconds=4)
    svc.call_event(call["id"], "ringing", remote_id="call-7f3a")
    clock.advance(seconds=6)
    svc.call_event(call["id"], "answered")
    svc.note(lead["id"], REP, "wife answered, call back after 5", call_id=call["id"])
    clock.advance(minutes=2, seconds=5)
    ended = svc.call_event(call["id"], "ended", reason="completed", detail="BYE", recording="rec-1.wav")
    assert (ended["duration"], ended["end_reason"], ended["detail"]) == (125, "completed", "BYE")
    out = svc.set_status(lead["id"], "needs-offer", REP, call_id=call["id"])
    (logged,) = svc.calls(lead=lead["id"])
    assert logged["placed_at"] == placed.astimezone(ZoneInfo("UTC")).isoformat()
    assert logged["ringing_at"] < logged["answered_at"] < logged["ended_at"]
    assert (logged["outcome"], logged["open"], logged["notes"]) == (
        "needs-offer",
        False,
        "wife answered, call back after 5",
    )
    assert (logged["remote_id"], logged["recording"], logged["rep"]) == ("call-7f3a", "rec-1.wav", REP)
    event = next(e for e in svc.lead(lead["id"], events=True)["events"] if e["id"] == out.event_id)
    assert event["data"]["call"] == call["id"]


def test_d2_a_dial_status_with_no_call_logs_a_reported_call(svc):
    lead = owned(svc)
    out = svc.set_status(lead["id"], DIAL, REP)
    (call,) = svc.calls()
    assert (call["system"], call["reported"], call["open"], call["outcome"]) == ("manual", True, False, DIAL)
    assert (call["phone"], call["station"]) == (1, svc.station)
    assert svc.db.conn.execute("SELECT outcome_event_id FROM calls").fetchone()[0] == out.event_id
    svc.set_status(lead["id"], "needs-offer", REP)  # not a dial: nothing more is logged
    assert rows(svc) == 1


def test_d2_the_outcome_of_a_placed_call_is_not_a_second_call(svc):
    lead = owned(svc)
    call = place(svc, lead["id"])
    svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
    assert rows(svc) == 1 and svc.calls()[0]["outcome"] == DIAL


def test_d2_the_outcome_skips_a_second_dial_check(make_service, clock):
    # placed at 20:59 lead-local; the rep records it at 21:01, after the window closed
    svc, cli = make_service("wholesale"), make_service("wholesale")
    lead = owned(svc, phones=["(312) 555-0101"], state="IL")
    clock.set(datetime(2026, 11, 23, 20, 59, tzinfo=CHI))
    call = place(svc, lead["id"])
    clock.advance(minutes=2)
    with pytest.raises(Refused, match="outside calling hours"):
        cli.set_status(lead["id"], DIAL, REP)  # no call at that station: the B3 check stands
    out = svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
    assert "dial 1 of 3" in out.message and svc.calls()[0]["outcome"] == DIAL


def test_d2_the_stations_open_call_takes_the_outcome_without_its_id(svc):
    lead = owned(svc)
    call = place(svc, lead["id"])
    svc.set_status(lead["id"], DIAL, REP)
    assert rows(svc) == 1 and svc.calls()[0]["outcome"] == DIAL and svc.calls()[0]["id"] == call["id"]


def test_d2_a_call_takes_one_outcome(svc):
    lead = owned(svc)
    call = place(svc, lead["id"])
    svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
    with pytest.raises(Refused, match=f"call #{call['id']} already has its outcome"):
        svc.set_status(lead["id"], "needs-offer", REP, call_id=call["id"])
    other = owned(svc)
    with pytest.raises(LeadtuiError, match=f"lead {other['id']} has no call #{call['id']}"):
        svc.set_status(other["id"], DIAL, REP, call_id=call["id"])


def test_d2_wrong_number_on_a_call_reports_the_calls_phone(svc):
    lead = owned(svc, phones=2)
    call = place(svc, lead["id"], phone=2)
    out = svc.set_status(lead["id"], "wrong-number", REP, call_id=call["id"])
    assert "phone 2" in out.message
    assert [p["wrong_reports"] for p in svc.lead(lead["id"])["phones"]] == [0, 1]
    assert svc.calls()[0]["outcome"] == "wrong-number"


def test_d2_undo_of_the_outcome_leaves_the_call_and_the_cap_still_counts_it(make_service):
    svc, cli = make_service("wholesale"), make_service("wholesale")
    lead = owned(svc)
    for _ in range(3):
        call = place(svc, lead["id"])
        svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
    svc.undo(lead["id"], REP)
    assert rows(svc) == 3
    reopened = svc.calls()[-1]
    assert (reopened["id"], reopened["outcome"], reopened["open"]) == (call["id"], None, True)
    # the undone dial is off the lead, but the call was placed: the cap still counts it (D2)
    assert svc.lead(lead["id"])["dial_run"] == 2
    with pytest.raises(Refused, match="3 dials to this phone in the last 24 h"):
        cli.set_status(lead["id"], DIAL, REP)  # a dial reported from elsewhere (no call of its own)
    # its outcome is asked again, and recorded on the same call
    svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
    assert rows(svc) == 3 and svc.calls()[-1]["outcome"] == DIAL


def test_d2_undo_of_a_reported_dial_keeps_the_row_closed_and_counted(svc):
    lead = owned(svc)
    for _ in range(3):
        svc.set_status(lead["id"], DIAL, REP)
    svc.undo(lead["id"], REP)
    calls = svc.calls()
    assert len(calls) == 3 and not any(c["open"] for c in calls)
    assert calls[-1]["outcome"] is None  # its outcome was undone
    with pytest.raises(Refused, match="3 dials"):
        svc.set_status(lead["id"], DIAL, REP)  # before calls were logged, the undo freed the cap


def test_d2_calls_are_never_deleted(svc):
    lead = owned(svc)
    place(svc, lead["id"])
    refused = (
        LeadtuiError if svc.db.engine == "postgresql" else sqlite3.IntegrityError
    )  # (a server's: one line)
    with pytest.raises(refused, match="calls are never deleted"), svc.db.write() as conn:
        conn.execute("DELETE FROM calls")
    assert rows(svc) == 1


def test_d2_call_events_are_recorded_once_and_in_order(svc, clock):
    lead = owned(svc)
    call = place(svc, lead["id"])
    first = svc.call_event(call["id"], "ringing")["ringing_at"]
    clock.advance(seconds=3)
    assert svc.call_event(call["id"], "ringing")["ringing_at"] == first  # a repeat changes nothing
    svc.call_event(call["id"], "ended", reason="no-answer", detail="408 Request Timeout")
    clock.advance(seconds=3)
    late = svc.call_event(call["id"], "answered")  # after the end: ignored
    assert (late["answered_at"], late["duration"], late["end_reason"]) == (None, None, "no-answer")
    again = svc.call_event(call["id"], "ended", reason="failed")
    assert (again["end_reason"], again["detail"]) == ("no-answer", "408 Request Timeout")
    assert again["open"]  # an event never records an outcome


def test_d2_the_end_after_the_outcome_is_still_recorded(svc, clock):
    # an outcome key hangs up and records the status at once: the phone's "ended" comes after it
    lead = owned(svc)
    call = place(svc, lead["id"])
    svc.call_event(call["id"], "answered")
    svc.set_status(lead["id"], "needs-offer", REP, call_id=call["id"])
    clock.advance(seconds=40)
    done = svc.call_event(call["id"], "ended", reason="hung-up")
    assert (done["duration"], done["outcome"]) == (40, "needs-offer")


@pytest.mark.parametrize(
    "args, message",
    [
        ((999, "ringing"), "no call #999"),
        ((1, "picked-up"), "a call event is one of ringing, answered, ended"),
    ],
)
def test_d2_bad_call_events_are_one_line_errors(svc, args, message):
    place(svc, owned(svc)["id"])
    with pytest.raises(LeadtuiError, match=message):
        svc.call_event(*args)
    with pytest.raises(LeadtuiError, match="at most 500 characters"):
        svc.call_event(1, "ended", detail="x" * 501)


def test_d2_a_nul_from_the_phone_system_is_kept_on_sqlite_and_as_u_fffd_on_postgresql(svc):
    call = place(svc, owned(svc)["id"])
    got = svc.call_event(call["id"], "ended", reason="failed", detail="488\x00x")
    assert got["detail"] == ("488\x00x" if svc.db.engine == "sqlite" else "488\ufffdx")


def test_d2_upgrading_a_floor_turns_its_dials_into_reported_calls(tmp_path, clock, monkeypatch):
    # a floor made before the call log, with a dial recorded: its cap carries over
    path = tmp_path / "old.db"
    before_calls = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE calls" in m)
    with monkeypatch.context() as old:  # opening it again runs the call log's migration and every later one
        old.setattr(db_module, "MIGRATIONS", MIGRATIONS[:before_calls])
        init_database(path, "wholesale", test_clock=True)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO reps VALUES ('alice', 'rep', '2025-01-01', NULL, 1, '2025-01-01', 0, NULL)")
    conn.execute(
        "INSERT INTO leads (id, owner_name, address, status, owner, created_at, updated_at)"
        " VALUES (1, 'Old Owner', '1 Elm St', 'not-contacted', 'alice', 'x', 'x')"
    )
    conn.execute(
        "INSERT INTO phones (id, lead_id, position, number, tz) VALUES (5, 1, 1, '+13055550101', NULL)"
    )
    at = "2026-11-23T19:30:00+00:00"
    conn.execute(
        "INSERT INTO events (id, lead_id, at, day, rep, kind, status, phone_id, dial)"
        " VALUES (40, 1, ?, '2026-11-23', 'alice', 'status', 'not-contacted', 5, 1)",
        (at,),
    )
    conn.commit()
    conn.close()
    svc = Service(connect(path), now=clock.now)
    try:
        (call,) = svc.calls()
        assert (call["placed_at"], call["number"], call["rep"], call["reported"], call["outcome"]) == (
            at,
            "+13055550101",
            "alice",
            True,
            "not-contacted",
        )
        assert svc.db.conn.execute("SELECT outcome_event_id FROM calls").fetchone()[0] == 40
    finally:
        svc.close()


# --- D3: open calls --------------------------------------------------------------------------------


def test_d3_a_call_without_an_outcome_stays_open_across_a_restart(make_service):
    station = make_service("wholesale")
    lead = owned(station)
    call = place(station, lead["id"])
    station.call_event(call["id"], "answered")
    station.close()  # the station stops mid-call
    restarted = make_service("wholesale")
    assert restarted.station != station.station
    (waiting,) = restarted.open_calls(rep=REP)
    assert (waiting["id"], waiting["open"], waiting["answered_at"] is not None) == (call["id"], True, True)
    assert restarted.open_calls(station=station.station)[0]["id"] == call["id"]
    assert restarted.open_calls(rep=NEWBIE) == []
    assert [c["id"] for c in restarted.calls(open_only=True)] == [call["id"]]
    restarted.set_status(lead["id"], "needs-offer", REP, call_id=call["id"])
    assert restarted.open_calls() == [] and restarted.calls(open_only=True) == []


# --- W20: KPIs from the log ------------------------------------------------------------------------


def test_w20_kpis_gain_calls_connects_and_talk_time(svc, clock):
    lead, other = owned(svc), owned(svc)
    answered = place(svc, lead["id"])
    svc.call_event(answered["id"], "answered")
    clock.advance(seconds=95)
    svc.call_event(answered["id"], "ended", reason="completed")
    svc.set_status(lead["id"], "needs-offer", REP, call_id=answered["id"])
    unanswered = place(svc, other["id"])
    svc.call_event(unanswered["id"], "ended", reason="no-answer")
    svc.set_status(other["id"], DIAL, REP, call_id=unanswered["id"])
    svc.undo(other["id"], REP)  # the dial's KPI credit goes; the call stays placed
    (row,) = svc.kpis()
    assert (row["calls"], row["connects"], row["talk_seconds"]) == (2, 1, 95)
    assert (row["dials"], row["contacts"]) == (1, 1)
