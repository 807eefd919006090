"""Rule B3: calling window in the lead's local time, DNC/litigator/bad phones, per-phone cap."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from leadtui.core.calling import (
    FALLBACK_ZONES,
    STATE_TZ,
    CallingRules,
    StateRule,
    Window,
    check_dial,
    resolve_zone,
)
from leadtui.core.dialing import live_call_guard
from leadtui.core.rules import Actor
from leadtui.errors import LeadtuiError, Refused

NY = ZoneInfo("America/New_York")
LA = "America/Los_Angeles"
RULES = CallingRules()


def at(hour: int, minute: int = 0, zone: ZoneInfo = NY) -> datetime:
    """A fixed moment on 2026-03-10, given in the rep's zone."""
    return datetime(2026, 3, 10, hour, minute, tzinfo=zone)


def dial(
    now,
    zone="America/New_York",
    state=None,
    dnc=False,
    litigator=False,
    bad=False,
    dials_24h=0,
    rules=RULES,
    override=False,
):
    return check_dial(
        now,
        zone=zone,
        state=state,
        dnc=dnc,
        litigator=litigator,
        bad=bad,
        dials_24h=dials_24h,
        rules=rules,
        override=override,
    )


def test_b3_state_table_complete():
    assert len(STATE_TZ) == 56
    assert STATE_TZ["FL"] == "America/New_York"
    assert STATE_TZ["TX"] == "America/Chicago"
    assert STATE_TZ["AZ"] == "America/Phoenix"
    assert STATE_TZ["IN"] == "America/Indiana/Indianapolis"
    assert STATE_TZ["HI"] == "Pacific/Honolulu"
    for zone in STATE_TZ.values():
        ZoneInfo(zone)


def test_b3_resolve_zone_single_phone_zone_wins():
    assert resolve_zone(("America/Chicago",), "FL") == "America/Chicago"


def test_b3_resolve_zone_many_phone_zones_use_state():
    assert resolve_zone(("America/New_York", LA), " ca ") == LA


def test_b3_resolve_zone_ambiguous_phone_and_no_state_is_unknown():
    # unknown, so check_dial demands the window in every US zone rather than guess one
    assert resolve_zone(("America/New_York", LA), "ZZ") is None
    assert resolve_zone(("America/Denver", LA), None) is None


def test_b3_resolve_zone_no_phone_zone_uses_state():
    assert resolve_zone((), "tx") == "America/Chicago"


def test_b3_resolve_zone_nothing_known():
    assert resolve_zone((), None) is None
    assert resolve_zone((), "ZZ") is None


def test_b3_window_edges_and_text():
    window = Window(time(8), time(21))
    assert window.contains(time(8))
    assert window.contains(time(20, 59, 59))
    assert not window.contains(time(21))
    assert not window.contains(time(7, 59))
    assert str(window) == "08:00–21:00"


@pytest.mark.parametrize(("ny_hour", "ny_minute"), [(11, 0), (23, 59)])
def test_b3_inside_window_lead_local(ny_hour, ny_minute):
    # 11:00 New York is 08:00 Los Angeles; 23:59 New York is 20:59 Los Angeles.
    verdict = dial(at(ny_hour, ny_minute), zone=LA)
    assert verdict.ok and verdict.reason == ""
    assert verdict.local == at(ny_hour, ny_minute) and str(verdict.local.tzinfo) == LA


def test_b3_outside_window_refused():
    # 10:59 New York is 07:59 Los Angeles.
    verdict = dial(at(10, 59), zone=LA)
    assert not verdict.ok and verdict.overridable
    assert verdict.reason == (
        "outside calling hours: 07:59 lead-local (America/Los_Angeles), window 08:00–21:00"
    )


def test_b3_window_end_exclusive():
    # 21:00 in Los Angeles, given as 00:00 New York the next day.
    verdict = dial(datetime(2026, 3, 11, 0, 0, tzinfo=NY), zone=LA)
    assert not verdict.ok
    assert verdict.reason.startswith("outside calling hours: 21:00 lead-local")


def test_b3_outside_window_override_allowed():
    verdict = dial(at(21, 40), override=True)
    assert verdict.ok and verdict.local.hour == 21


def test_b3_state_window_override():
    rules = CallingRules(states={"FL": StateRule(window=Window(time(8), time(20)))})
    assert dial(at(19, 59), state="FL", rules=rules).ok
    verdict = dial(at(20, 0), state="fl", rules=rules)
    assert not verdict.ok
    assert verdict.reason.endswith("window 08:00–20:00")
    assert dial(at(20, 0), state="GA", rules=rules).ok


def test_b3_zone_unknown_needs_every_fallback_zone():
    # 11:00 New York is 08:00 in Los Angeles, the last zone to open.
    assert dial(at(11, 0), zone=None).ok
    assert dial(at(11, 0), zone=None).local is None
    verdict = dial(at(10, 59), zone=None)
    assert not verdict.ok and verdict.overridable
    assert "local time unknown" in verdict.reason
    assert "America/Los_Angeles" in verdict.reason
    # 21:00 New York closes the first zone.
    late = dial(at(21, 0), zone=None)
    assert not late.ok and "America/New_York" in late.reason
    assert FALLBACK_ZONES[0] == "America/New_York"


def test_b3_dnc_never_overridable():
    verdict = dial(at(12), dnc=True, override=True)
    assert not verdict.ok and not verdict.overridable
    assert verdict.reason == "phone is on the do-not-call list: never dialled"


def test_b3_litigator_never_overridable_and_checked_first():
    verdict = dial(at(23), litigator=True, dnc=True, bad=True, dials_24h=9, override=True)
    assert not verdict.ok and not verdict.overridable
    assert verdict.reason == "phone is flagged litigator: never dialled"


def test_b3_bad_phone_refused():
    verdict = dial(at(12), bad=True, override=True)
    assert (verdict.ok, verdict.overridable, verdict.reason) == (False, False, "phone is marked bad")


def test_b3_window_checked_before_cap():
    assert dial(at(22), dials_24h=5).reason.startswith("outside calling hours")


def test_b3_cap_reached_refused():
    assert dial(at(12), dials_24h=2).ok
    verdict = dial(at(12), dials_24h=3)
    assert not verdict.ok and verdict.overridable
    assert verdict.reason == "3 dials to this phone in the last 24 h (cap 3)"
    assert dial(at(12), dials_24h=3, override=True).ok


def test_b3_state_cap_override():
    rules = CallingRules(states={"FL": StateRule(max_per_phone_24h=1)})
    verdict = dial(at(12), state="FL", dials_24h=1, rules=rules)
    assert verdict.reason == "1 dial to this phone in the last 24 h (cap 1)"
    assert dial(at(12), state="TX", dials_24h=1, rules=rules).ok
    assert rules.window_for("FL") == rules.window


def test_b3_rules_from_config():
    rules = CallingRules.from_config(
        {
            "window": ["09:00", "20:30"],
            "max_per_phone_24h": 4,
            "states": {"fl": {"window": ["08:00", "20:00"], "max_per_phone_24h": 2}, "TX": {}},
        }
    )
    assert str(rules.window_for(None)) == "09:00–20:30"
    assert rules.cap_for(None) == 4
    assert str(rules.window_for("FL")) == "08:00–20:00"
    assert rules.cap_for(" Fl ") == 2
    assert str(rules.window_for("TX")) == "09:00–20:30" and rules.cap_for("TX") == 4


def test_b3_rules_from_empty_config_are_defaults():
    assert CallingRules.from_config({}) == CallingRules()
    assert str(CallingRules().window) == "08:00–21:00" and CallingRules().max_per_phone_24h == 3


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"window": ["8am", "21:00"]}, "calling.window: '8am'"),
        ({"window": ["24:00", "21:00"]}, "calling.window: '24:00'"),
        ({"window": ["21:00", "08:00"]}, "calling.window: start '21:00'"),
        ({"window": ["09:00", "09:00"]}, "calling.window: start"),
        ({"window": ["09:00"]}, "calling.window: expected"),
        ({"states": {"FL": {"window": ["08:00", "25:00"]}}}, "calling.states.FL.window: '25:00'"),
        ({"max_per_phone_24h": 0}, "calling.max_per_phone_24h: "),
        ({"states": {"FL": {"max_per_phone_24h": -1}}}, "calling.states.FL.max_per_phone_24h: "),
    ],
)
def test_b3_bad_config_names_the_key(section, message):
    with pytest.raises(LeadtuiError) as caught:
        CallingRules.from_config(section)
    assert str(caught.value).startswith(message)


def test_f2_live_call_guard_refuses_another_reps_call_to_the_number_not_the_reps_own():
    alice, bob = Actor("alice", False, date(2025, 1, 1)), Actor("bob", False, date(2025, 1, 1))
    phone = {"number": "+13125550101"}
    live = {"rep": "bob", "lead_id": 8, "placed_at": "2026-11-23T20:01:00+00:00"}
    live_call_guard(phone, None, alice)
    live_call_guard(phone, live, bob)  # bob's own (D3 asks him for its outcome first)
    with pytest.raises(Refused, match=r"\+13125550101 is on bob's call now \(lead 8, placed 20:01 UTC\)"):
        live_call_guard(phone, live, alice)
