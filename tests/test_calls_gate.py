"""Rule D1 through the Service: `place_call` runs the gate (B3, the minimum gap, F1, F2, W14, D3) in
its write transaction; a refused call stores nothing, so nothing is handed to a phone system (the
station dials only with the row `place_call` returns). Real SQLite file, the conftest clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import MANAGER, NEWBIE, REP, add_lead

from leadtui.core.calling import CallingRules
from leadtui.core.decide import Seen
from leadtui.errors import Refused

pytestmark = pytest.mark.engines

CHI = ZoneInfo("America/Chicago")
NY = ZoneInfo("America/New_York")
DIAL = "not-contacted"
TABLES = ("leads", "phones", "events", "outbox", "approvals", "calls", "reservations")


def dump(svc) -> dict:
    conn = svc.db.conn
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in TABLES}


def refused(svc, *args, match: str = "", **kwargs) -> str:
    """place_call is refused with one line, and the database is exactly as it was."""
    before = dump(svc)
    with pytest.raises(Refused) as info:
        svc.place_call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert match in message, message
    assert dump(svc) == before
    return message


def chicago_lead(svc, **fields) -> dict:
    return add_lead(svc, phones=["(312) 555-0101"], state="IL", city="Chicago", zip_code="60601", **fields)


def mine(svc, lead: dict, rep: str = REP) -> dict:
    svc.claim(lead["id"], rep)
    return lead


@pytest.fixture
def svc(make_service):
    return make_service("wholesale")


def place(svc, lead_id: int, rep: str = REP, **kwargs) -> dict:
    return svc.place_call(lead_id, rep, station=svc.station, system="baresip", **kwargs)


def test_d1_place_call_inside_the_rules_logs_the_call(svc):
    lead = mine(svc, chicago_lead(svc))
    call = place(svc, lead["id"])
    assert (call["lead_id"], call["phone"], call["number"], call["rep"]) == (
        lead["id"],
        1,
        "+13125550101",
        REP,
    )
    assert (call["system"], call["station"], call["open"], call["reported"]) == (
        "baresip",
        svc.station,
        True,
        False,
    )
    assert [c["id"] for c in svc.calls()] == [call["id"]]


def test_d1_outside_window_place_call_refused_saying_when(svc, clock):
    lead = mine(svc, chicago_lead(svc))
    clock.set(datetime(2026, 11, 24, 6, 50, tzinfo=CHI))
    message = refused(svc, lead["id"], REP, system="baresip", match="outside calling hours")
    assert message.endswith(
        "06:50 lead-local (America/Chicago), window 08:00–21:00; opens in 1 h 10 m, 08:00 lead-local (D1)"
    )
    assert message.startswith(f"Lead {lead['id']} {lead['owner_name']}: no call to phone 1 (+13125550101)")


@pytest.mark.parametrize(
    "column, words", [("dnc", "do-not-call"), ("litigator", "litigator"), ("bad", "bad")]
)
def test_b3_dnc_litigator_bad_place_call_refused(svc, column, words):
    lead = mine(svc, chicago_lead(svc))
    svc.db.conn.execute(f"UPDATE phones SET {column} = 1 WHERE lead_id = ?", (lead["id"],))
    # the lead's current phone is skipped for a good one; with none left the lead can't be called
    refused(svc, lead["id"], REP, system="baresip", match="no phone left to use")
    message = refused(svc, lead["id"], REP, system="baresip", phone=1, match=words)
    assert "opens" not in message and "can go" not in message


def test_b3_over_the_cap_place_call_refused(svc, clock):
    lead = mine(svc, chicago_lead(svc))
    for _ in range(3):
        call = place(svc, lead["id"])
        svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
        clock.advance(minutes=2)
    message = refused(
        svc, lead["id"], REP, system="baresip", match="3 dials to this phone in the last 24 h (cap 3)"
    )
    assert "can go in 23 h 54 m, Tue 14:00 lead-local" in message  # the first call ages out


def test_b3_the_cap_counts_dials_reported_by_hand_too(svc):
    lead = mine(svc, chicago_lead(svc))
    for _ in range(3):
        svc.set_status(lead["id"], DIAL, REP)  # a floor that dials by hand: reported calls
    refused(svc, lead["id"], REP, system="baresip", match="(cap 3)")


def test_d1_inside_the_minimum_gap_place_call_refused(make_service, clock):
    svc = make_service("wholesale", rules=CallingRules(min_gap_minutes=10))
    lead = mine(svc, chicago_lead(svc))
    call = place(svc, lead["id"])
    svc.set_status(lead["id"], "needs-offer", REP, call_id=call["id"])  # talked: not a dial run
    clock.advance(minutes=4)
    refused(svc, lead["id"], REP, system="baresip", match="4 min ago (minimum gap 10 min); can go in 6 m")
    clock.advance(minutes=6)
    place(svc, lead["id"])


def test_d1_the_minimum_gap_is_per_number_across_leads(make_service):
    svc = make_service("wholesale", rules=CallingRules(min_gap_minutes=10))
    first = mine(svc, chicago_lead(svc))
    second = mine(svc, add_lead(svc, phones=["(312) 555-0101"], state="IL", address="9 Lake St"))
    call = place(svc, first["id"])
    svc.set_status(first["id"], "not-interested", REP, call_id=call["id"])
    refused(svc, second["id"], REP, system="baresip", match="minimum gap 10 min")


def test_f2_a_number_on_another_reps_call_is_not_dialled_from_another_lead(make_service, clock):
    """One owner, two properties sharing a phone: while alice is on the phone with it, newbie's
    station can't dial it from the other lead; once her call ended, it can (no gap is set)."""
    svc, other = make_service("wholesale"), make_service("wholesale")
    first = mine(svc, chicago_lead(svc))
    second = mine(svc, add_lead(svc, phones=["(312) 555-0101"], state="IL", address="9 Lake St"), NEWBIE)
    call = place(svc, first["id"])
    message = refused(other, second["id"], NEWBIE, system="baresip", match=f"is on {REP}'s call now")
    assert f"lead {first['id']}" in message and "(F2)" in message
    svc.call_event(call["id"], "ended", reason="completed")
    assert place(other, second["id"], NEWBIE)["number"] == call["number"]


def test_f2_a_live_call_left_by_a_crashed_station_stops_blocking_the_number(make_service, clock):
    svc, other = make_service("wholesale"), make_service("wholesale")
    first = mine(svc, chicago_lead(svc))
    second = mine(svc, add_lead(svc, phones=["(312) 555-0101"], state="IL", address="9 Lake St"), NEWBIE)
    place(svc, first["id"])  # never ends: its station died
    refused(other, second["id"], NEWBIE, system="baresip", match=f"is on {REP}'s call now")
    clock.advance(minutes=61)
    place(other, second["id"], NEWBIE)


def test_d1_inside_a_triple_dial_run_the_gap_is_0(make_service):
    svc = make_service("wholesale", rules=CallingRules(max_per_phone_24h=5, min_gap_minutes=10))
    lead = mine(svc, chicago_lead(svc))
    for n in (1, 2, 3):
        call = place(svc, lead["id"])
        out = svc.set_status(lead["id"], DIAL, REP, call_id=call["id"])
        assert f"dial {n} of 3" in out.message
    assert len(svc.calls(lead=lead["id"])) == 3
    # the run is over (the cursor is back at dial 0): the gap holds again
    refused(svc, lead["id"], REP, system="baresip", match="minimum gap 10 min")


def test_d1_reserved_by_another_rep_place_call_refused(make_service):
    svc = make_service("wholesale")
    other = make_service("wholesale")  # newbie's station
    lead = chicago_lead(svc)
    assert other.reserve(NEWBIE, [lead["id"]]) == lead["id"]
    refused(svc, lead["id"], REP, system="baresip", match="on newbie's screen")


def test_d1_owned_by_another_rep_place_call_refused(svc):
    lead = mine(svc, chicago_lead(svc), NEWBIE)
    refused(svc, lead["id"], REP, system="baresip", match="held by newbie (W14)")
    refused(svc, lead["id"], MANAGER, system="baresip", match="held by newbie (W14)")


def test_d1_pool_lead_only_when_on_this_reps_screen(svc):
    lead = chicago_lead(svc)
    refused(svc, lead["id"], REP, system="baresip", match="in the pool and not on your screen")
    assert svc.reserve(REP, [lead["id"]]) == lead["id"]
    assert place(svc, lead["id"])["open"]


def test_f1_place_call_refused_when_the_lead_changed_hands_since_it_was_seen(svc):
    lead = chicago_lead(svc)
    seen = Seen(owner=None, phone=1)
    svc.claim(lead["id"], NEWBIE)
    refused(svc, lead["id"], REP, system="baresip", seen=seen, match="was taken by newbie")


def test_d1_dead_lead_place_call_refused(svc):
    lead = mine(svc, chicago_lead(svc))
    svc.set_status(lead["id"], "dead-deal", REP)
    refused(svc, lead["id"], REP, system="baresip", match="dead (W10)")


def test_d3_an_open_call_blocks_the_reps_next_call(svc):
    first, second = mine(svc, chicago_lead(svc)), mine(svc, add_lead(svc))
    call = place(svc, first["id"])
    refused(svc, second["id"], REP, system="baresip", match=f"call #{call['id']} to lead {first['id']}")
    svc.set_status(first["id"], DIAL, REP, call_id=call["id"])
    place(svc, second["id"])


def test_d1_the_phone_chosen_or_seen_is_called(svc):
    lead = mine(svc, add_lead(svc, phones=3))
    assert place(svc, lead["id"], phone=2)["phone"] == 2
    svc.set_status(lead["id"], DIAL, REP)  # the open call's outcome (this station's, on this lead)
    assert place(svc, lead["id"], seen=Seen(owner=REP, phone=3))["phone"] == 3
