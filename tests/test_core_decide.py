"""The controls' decisions (core.decide), tested without a database: plain rows in, a Decision out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from leadtui.clock import stamp
from leadtui.core.decide import (
    Seen,
    approval_guard,
    decide_assign,
    decide_claim,
    decide_followup,
    decide_release,
    decide_reserve,
    decide_revive,
    decide_undo,
    one_request_guard,
    reservation_guard,
    seen_guard,
)
from leadtui.core.rules import Actor
from leadtui.errors import Refused

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
ALICE, BOB = Actor("alice", False, date(2025, 1, 1)), Actor("bob", False, date(2025, 1, 1))
BOSS = Actor("boss", True, date(2024, 1, 1))


def lead(**fields) -> dict:
    row = {"id": 7, "owner": None, "hold_until": None, "dead": 0, "status": "new", "callback": None}
    return {**row, **fields}


def event(id: int, kind: str, rep: str | None = "alice", minutes_ago: float = 1, **fields) -> dict:
    row = {
        "id": id,
        "kind": kind,
        "rep": rep,
        "at": stamp(NOW - timedelta(minutes=minutes_ago)),
        "status": None,
        "before": None,
        "after": None,
        "data": None,
    }
    row.update({k: json.dumps(v) if k in ("before", "after", "data") else v for k, v in fields.items()})
    return row


def test_w14_claim_of_a_pool_lead_and_of_another_reps():
    d = decide_claim(lead(), ALICE)
    assert d.kind == "claim" and d.fields == {"owner": "alice", "hold_until": None}
    assert decide_claim(lead(owner="alice"), ALICE).kind == "none"
    with pytest.raises(Refused, match="held by bob"):
        decide_claim(lead(owner="bob"), ALICE)
    with pytest.raises(Refused, match="dead"):
        decide_claim(lead(dead=1), ALICE)


def test_w15_w16_release_and_assign_say_when_a_manager_is_needed():
    assert decide_release(lead(owner="alice"), ALICE)[1] is False
    assert decide_release(lead(owner="bob"), BOSS)[1] is True
    assert decide_release(lead(), ALICE)[0].kind == "none"
    d, manager = decide_assign(lead(owner="bob"), BOSS, ALICE)
    assert manager and d.fields["owner"] == "alice" and d.data == {"from": "bob", "to": "alice"}
    assert decide_assign(lead(), ALICE, BOB)[1] is False


def test_w18_followup_at_half_the_interval():
    d = decide_followup(lead(), ALICE, NOW, "6 months")
    assert d.fields["owner"] == "alice" and d.fields["next_call_at"].date() == date(2027, 2, 23)


def test_w19_undo_the_reps_last_action_unless_the_lead_changed_since():
    events = [event(1, "status", status="needs-offer", before={"status": "new", "owner": None})]
    d, target = decide_undo(lead(), events, ALICE, NOW)
    assert target["id"] == 1 and d.fields == {"status": "new", "owner": None} and d.undoes == 1
    with pytest.raises(Refused, match="changed since"):
        decide_undo(lead(), [*events, event(2, "claim", rep="bob")], ALICE, NOW)
    with pytest.raises(Refused, match="nothing of yours"):
        decide_undo(lead(), [event(1, "status", minutes_ago=11)], ALICE, NOW)


def test_w10_revive_restores_what_the_kill_changed_without_an_inactive_owner():
    kill = event(3, "status", before={"status": "needs-offer", "owner": "bob", "dead": 0}, after={"dead": 1})
    d = decide_revive(lead(dead=1, status="dead-deal"), [kill], "new", NOW, active=lambda name: False)
    assert d.fields == {"status": "needs-offer", "owner": None, "dead": 0}
    with pytest.raises(Refused, match="not dead"):
        decide_revive(lead(), [], "new", NOW, active=lambda name: True)


def test_f1_seen_guard_names_who_took_the_lead():
    seen_guard(lead(owner="alice"), Seen("alice"), ALICE)
    seen_guard(lead(owner="bob"), None, ALICE)  # no station: the rules alone decide
    with pytest.raises(Refused, match="was taken by bob"):
        seen_guard(lead(owner="bob"), Seen(None), ALICE)
    with pytest.raises(Refused, match="went back to the pool"):
        seen_guard(lead(), Seen("alice"), ALICE)


def test_f1_seen_guard_refuses_a_status_someone_else_changed_since_it_was_seen():
    shown = Seen(None, 1, "new")
    seen_guard(lead(), shown, ALICE, lambda: "bob")  # unchanged: who last changed it doesn't matter
    with pytest.raises(Refused, match="status was changed by bob since it was on your screen"):
        seen_guard(lead(status="not-interested"), shown, ALICE, lambda: "bob")
    with pytest.raises(Refused, match="changed by the floor"):
        seen_guard(lead(status="not-interested"), shown, ALICE, lambda: None)
    # the rep's own change, not on the screen yet (a key chained behind it), goes through
    seen_guard(lead(status="not-contacted"), shown, ALICE, lambda: "ALICE")
    seen_guard(lead(status="not-contacted"), Seen(None, 1), ALICE, lambda: "bob")  # status not shown


def test_f2_reservations_another_reps_screen_refuses_the_same_reps_does_not():
    held = {"rep": "bob", "until": "2026-11-23T20:02:00+00:00"}
    with pytest.raises(Refused, match="on bob's screen"):
        reservation_guard(lead(), held, ALICE)
    reservation_guard(lead(), held, BOB)
    with pytest.raises(Refused, match="held by bob"):
        decide_reserve(lead(owner="bob"), None, ALICE)
    decide_reserve(lead(owner="alice"), None, ALICE)


def test_w13_approval_stale_after_a_change_and_one_request_per_lead():
    approval = {"id": 4, "lead_id": 7, "status": "dead-deal"}
    approval_guard(approval, [event(9, "approval_rejected")])
    with pytest.raises(Refused, match=r"stale.*claim by bob"):
        approval_guard(approval, [event(9, "claim", rep="bob")])
    with pytest.raises(Refused, match="#4"):
        one_request_guard(approval)
