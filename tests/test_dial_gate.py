"""Rule D1 (with B3, F2, W14, D3) as a pure function: the gate before a call reaches a phone system,
and when a refused call can go. No database: rows are dicts, times are fixed moments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from leadtui import config
from leadtui.core.calling import CallingRules, Window, next_open
from leadtui.core.dialing import decide_call, in_run, phone_gate, wait_text
from leadtui.core.rules import Actor
from leadtui.errors import LeadtuiError, Refused

CHI = ZoneInfo("America/Chicago")
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
ALICE = Actor("alice", False, date(2025, 1, 1))
RULES = CallingRules()


def at(hour: int, minute: int = 0, zone: ZoneInfo = CHI, day: int = 24) -> datetime:
    """A moment on Tuesday 2026-11-24 (day=23: the Monday before)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=zone)


def lead(**fields) -> dict:
    """A Chicago lead of alice's, not in a dial run."""
    return {
        "id": 12,
        "owner_name": "Jane Doe",
        "owner": "alice",
        "dead": 0,
        "state": "IL",
        "dial_run": 0,
        "cur_phone": 1,
        **fields,
    }


def phone(**fields) -> dict:
    return {
        "id": 7,
        "position": 1,
        "number": "+13125550101",
        "tz": "America/Chicago",
        "dnc": 0,
        "litigator": 0,
        "bad": 0,
        **fields,
    }


def gate(now, *, the_lead=None, the_phone=None, recent=(), last_call=None, rules=RULES):
    return phone_gate(
        now,
        lead=the_lead or lead(),
        phone=the_phone or phone(),
        recent=list(recent),
        last_call=last_call,
        rules=rules,
    )


def decide(now=None, *, the_lead=None, reservation=None, open_call=None, actor=ALICE, **kwargs):
    decide_call(
        now or at(15),
        lead=the_lead or lead(),
        phone=kwargs.pop("the_phone", None) or phone(),
        actor=actor,
        reservation=reservation,
        open_call=open_call,
        recent=kwargs.pop("recent", []),
        last_call=kwargs.pop("last_call", None),
        rules=kwargs.pop("rules", RULES),
    )


def refusal(**kwargs) -> str:
    with pytest.raises(Refused) as info:
        decide(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the phone: B3 and the minimum gap ------------------------------------------------------------


def test_d1_inside_the_window_the_call_can_go():
    go = gate(at(15))
    assert go.ok and go.at == at(15) and go.reason == ""


def test_d1_outside_window_before_it_opens_says_when():
    go = gate(at(6, 50))
    assert not go.ok
    assert go.reason == (
        "outside calling hours: 06:50 lead-local (America/Chicago), window 08:00–21:00; "
        "opens in 1 h 10 m, 08:00 lead-local"
    )
    assert go.at == at(8)


def test_d1_outside_window_after_it_closes_opens_tomorrow_with_the_weekday():
    go = gate(at(21, 30))
    assert go.at == at(8, day=25)
    assert go.reason.endswith("; opens in 10 h 30 m, Wed 08:00 lead-local")


def test_d1_outside_window_state_override_applies():
    rules = CallingRules.from_config({"states": {"IL": {"window": ["09:30", "20:00"]}}})
    go = gate(at(8, 15), rules=rules)
    assert "window 09:30–20:00" in go.reason and go.reason.endswith("opens in 1 h 15 m, 09:30 lead-local")
    assert gate(at(8, 15)).ok  # the default window holds elsewhere


def test_d1_outside_window_zone_unknown_waits_for_every_us_zone():
    # no zone from the phone or the state: 08:00 must have come in Los Angeles (11:00 in New York)
    go = gate(at(22, 30, NY, day=23), the_lead=lead(state=None), the_phone=phone(tz=None))
    assert go.at == at(8, 0, LA)
    assert go.reason.startswith("outside calling hours: 22:30 in America/New_York, local time unknown")
    assert go.reason.endswith("opens in 12 h 30 m, Tue 11:00 in America/New_York")


def test_d1_a_window_no_us_zone_shares_never_opens_for_an_unknown_zone():
    rules = CallingRules(window=Window(time(8), time(10)))
    go = gate(at(12, 0, NY), the_lead=lead(state=None), the_phone=phone(tz=None), rules=rules)
    assert not go.ok and go.at is None and "give the lead its state" in go.reason


@pytest.mark.parametrize(
    "flag, words", [("dnc", "do-not-call"), ("litigator", "litigator"), ("bad", "marked bad")]
)
def test_b3_dnc_litigator_and_bad_phones_never_go(flag, words):
    go = gate(at(15), the_phone=phone(**{flag: 1}))
    assert not go.ok and go.at is None and words in go.reason
    assert "opens" not in go.reason and "can go" not in go.reason
    assert words in refusal(the_phone=phone(**{flag: 1}))


def test_b3_over_the_cap_says_when_the_oldest_call_ages_out():
    now = at(15)
    recent = [now - timedelta(hours=h) for h in (5, 3, 1)]  # 10:00, 12:00, 14:00 Chicago
    go = gate(now, recent=recent)
    assert go.reason == (
        "3 dials to this phone in the last 24 h (cap 3); can go in 19 h, Wed 10:00 lead-local"
    )
    assert go.at == at(10, day=25)
    assert gate(now, recent=recent[1:]).ok


def test_b3_over_the_cap_when_it_ages_out_at_night_the_window_decides():
    now = at(20)
    recent = [at(22, day=23), at(23, day=23), at(19, 59)]  # the first ages out at 22:00, after hours
    assert gate(now, recent=recent).at == at(8, day=25)


def test_b3_over_the_state_cap():
    rules = CallingRules.from_config({"states": {"IL": {"max_per_phone_24h": 1}}})
    go = gate(at(15), recent=[at(9)], rules=rules)
    assert "(cap 1)" in go.reason and go.at == at(9, day=25)


def test_d1_inside_the_minimum_gap_says_when():
    rules = CallingRules(min_gap_minutes=10)
    go = gate(at(15), last_call=at(14, 56), rules=rules)
    assert go.reason == (
        "last call to this number 4 min ago (minimum gap 10 min); can go in 6 m, 15:06 lead-local"
    )
    assert go.at == at(15, 6)
    assert gate(at(15, 6), last_call=at(14, 56), rules=rules).ok


def test_d1_minimum_gap_default_is_zero():
    assert gate(at(15), last_call=at(15)).ok


def test_d1_inside_a_triple_dial_run_the_gap_is_0():
    rules = CallingRules(min_gap_minutes=30)
    running = lead(dial_run=1, cur_phone=1)
    assert in_run(running, phone())
    assert gate(at(15), the_lead=running, last_call=at(14, 59), rules=rules).ok
    # another phone of the lead is not in the run: its gap holds
    other = phone(position=2, id=8)
    assert not in_run(running, other)
    assert (
        "minimum gap 30 min"
        in gate(at(15), the_lead=running, the_phone=other, last_call=at(14, 59), rules=rules).reason
    )
    # a run that ended (dial_run back to 0) has the gap again
    assert not gate(at(15), the_lead=lead(dial_run=0), last_call=at(14, 59), rules=rules).ok


def test_d1_the_gap_and_the_window_together_give_the_later_moment():
    rules = CallingRules(min_gap_minutes=30)
    go = gate(at(20, 45), last_call=at(20, 40), rules=rules)  # the gap ends at 21:10, after hours
    assert go.at == at(8, day=25) and go.reason.endswith("can go in 11 h 15 m, Wed 08:00 lead-local")


def test_d1_wait_text_rounds_up_to_the_minute():
    assert (
        wait_text(at(15), at(15, 0) + timedelta(seconds=20), "America/Chicago") == "in 1 m, 15:00 lead-local"
    )
    assert wait_text(at(15), at(17), "America/Chicago") == "in 2 h, 17:00 lead-local"


def test_d1_next_open_is_the_moment_itself_inside():
    window = Window(time(8), time(21))
    assert next_open(at(12), "America/Chicago", window) == at(12)
    assert next_open(at(21), "America/Chicago", window) == at(8, day=25)  # the end is exclusive


# --- the lead: whose it is (F2, W14, W10) and the rep's open call (D3) ------------------------------


def test_d1_owned_by_this_rep_needs_no_reservation():
    decide()


def test_d1_owned_by_another_rep_refused():
    assert "held by bob (W14)" in refusal(the_lead=lead(owner="bob"))


def test_d1_reserved_by_another_rep_refused():
    held = {"rep": "bob", "until": "2026-11-24T21:02:00+00:00"}
    assert "on bob's screen" in refusal(the_lead=lead(owner=None), reservation=held)


def test_d1_pool_lead_needs_to_be_on_this_reps_screen():
    assert "in the pool and not on your screen" in refusal(the_lead=lead(owner=None))
    decide(the_lead=lead(owner=None), reservation={"rep": "Alice", "until": "2026-11-24T21:02:00+00:00"})


def test_d1_dead_lead_refused():
    assert "dead (W10)" in refusal(the_lead=lead(dead=1, owner=None))


def test_d3_an_open_call_comes_first():
    waiting = {"id": 5, "lead_id": 9, "number": "+13125550199", "placed_at": "2026-11-24T20:50:00+00:00"}
    message = refusal(open_call=waiting)
    assert message == (
        "call #5 to lead 9 (+13125550199, placed 20:50 UTC) has no outcome yet: record it first (D3)"
    )


def test_d1_refusal_names_lead_phone_and_rule():
    message = refusal(now=at(6, 50))
    assert message == (
        "Lead 12 Jane Doe: no call to phone 1 (+13125550101): outside calling hours: 06:50 lead-local "
        "(America/Chicago), window 08:00–21:00; opens in 1 h 10 m, 08:00 lead-local (D1)"
    )


# --- [calling] min_gap_minutes ------------------------------------------------------------------------


def test_d1_min_gap_from_config():
    assert CallingRules.from_config({"min_gap_minutes": 15}).min_gap_minutes == 15
    assert CallingRules.from_config({}).min_gap_minutes == 0


@pytest.mark.parametrize("value", [-1, "5", True, 1.5])
def test_d1_min_gap_bad_value_names_the_key(value):
    with pytest.raises(LeadtuiError, match=r"^calling\.min_gap_minutes: "):
        CallingRules.from_config({"min_gap_minutes": value})


@pytest.mark.parametrize("text", ["-1", '"5"', "1.5"])
def test_d1_min_gap_in_the_config_file_is_checked(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(f"[calling]\nmin_gap_minutes = {text}\n", "utf-8")
    with pytest.raises(LeadtuiError, match=r"calling\.min_gap_minutes"):
        config.load(str(path))
    path.write_text("[calling]\nmin_gap_minutes = 0\n", "utf-8")
    assert config.load(str(path)).calling == {"min_gap_minutes": 0}
