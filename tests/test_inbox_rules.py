"""Issue 16's inbox through the service on a real SQLite file: approvals with context and the stale
mark (W13), replies routed to their reps (W17), callbacks mine and anyone's (W18), hand-over."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, add_lead

from leadtui.core.decide import decide_assign, decide_claim, decide_release
from leadtui.core.inbox import decide_handover, split_scope
from leadtui.core.rules import Actor
from leadtui.errors import LeadtuiError, Refused
from leadtui.service import PinRequired

pytestmark = pytest.mark.engines


@pytest.fixture
def svc(make_service):
    return make_service()


def owned(svc, rep: str = REP, **fields) -> dict:
    lead = add_lead(svc, **fields)
    svc.claim(lead["id"], rep)
    return svc.lead(lead["id"])


# --- W13: approvals with context --------------------------------------------------------------


def test_w13_approval_shows_lead_reason_events_replies(svc, clock):
    lead = owned(svc, NEWBIE, owner_name="Vera Vance", address="12 Elm St")
    svc.add_reply(lead["phones"][0]["number"], "Yes I might sell", clock.now())
    clock.advance(minutes=1)
    out = svc.set_status(lead["id"], "dead-deal", NEWBIE, why="  owner passed away, estate sold  ")
    [pending] = svc.approvals(MANAGER)
    assert pending["id"] == out.approval_id and pending["reason"] == "owner passed away, estate sold"
    assert pending["status_label"] == "Dead Deal" and pending["stale"] is None
    assert pending["lead"]["owner_name"] == "Vera Vance" and pending["lead"]["address"] == "12 Elm St"
    assert pending["lead"]["owner"] == NEWBIE and pending["lead"]["status"] == "new"
    assert [e["kind"] for e in pending["events"]][:2] == ["approval_requested", "claim"]
    assert pending["events"][0]["data"]["why"] == "owner passed away, estate sold"
    assert [r["body"] for r in pending["replies"]] == ["Yes I might sell"]
    svc.approve(out.approval_id, MANAGER, PIN)
    last = svc.lead(lead["id"], events=True)["events"][-1]
    assert last["data"]["why"] == "owner passed away, estate sold"


@pytest.mark.parametrize(
    ("move", "what"),
    [
        (lambda svc, lead: svc.assign(lead, REP, MANAGER, PIN), "assign by boss"),
        (lambda svc, lead: svc.set_status(lead, "needs-offer", NEWBIE), "status needs-offer by newbie"),
        (
            lambda svc, lead: [svc.set_status(lead, "wrong-number", NEWBIE) for _ in range(3)],
            "status wrong-number by newbie",
        ),
    ],
    ids=["claimed-by-another", "status-moved-on", "killed"],
)
def test_w13_a_request_the_lead_outgrew_is_stale_and_cant_be_approved(svc, move, what):
    lead = owned(svc, NEWBIE)
    approval = svc.set_status(lead["id"], "dead-deal", NEWBIE).approval_id
    move(svc, lead["id"])
    [pending] = svc.approvals(MANAGER)
    assert pending["stale"] == what
    with pytest.raises(Refused, match="stale"):
        svc.approve(approval, MANAGER, PIN)


def test_w13_reason_is_one_short_line(svc):
    lead = owned(svc, NEWBIE)
    with pytest.raises(LeadtuiError, match="one line"):
        svc.set_status(lead["id"], "dead-deal", NEWBIE, why="one\ntwo")
    with pytest.raises(LeadtuiError, match="at most"):
        svc.set_status(lead["id"], "dead-deal", NEWBIE, why="x" * 301)
    assert svc.approvals(MANAGER) == []
    svc.set_status(lead["id"], "dead-deal", NEWBIE, why="   ")
    assert svc.approvals(MANAGER)[0]["reason"] is None


def test_w13_which_statuses_a_rep_only_asks_for(svc):
    assert svc.approval_statuses(NEWBIE) == ["dead-deal"]
    assert svc.approval_statuses(REP) == [] and svc.approval_statuses(MANAGER) == []


def test_badges_count_pending_approvals_for_a_manager_and_callbacks_due(svc, clock):
    lead = owned(svc, NEWBIE)
    svc.set_status(lead["id"], "dead-deal", NEWBIE)
    mine = owned(svc)
    svc.followup(mine["id"], REP, "2 days")
    assert svc.badges(MANAGER) == {"approvals": 1, "callbacks_due": 0}
    assert svc.badges(NEWBIE)["approvals"] == 0
    clock.advance(days=1, minutes=1)
    assert svc.badges(REP)["callbacks_due"] == 1 and svc.badges(MANAGER)["callbacks_due"] == 1
    assert svc.badges(NEWBIE)["callbacks_due"] == 0


# --- W17: replies go to their reps --------------------------------------------------------------


def test_w17_a_rep_sees_replies_on_their_leads_and_the_pools_never_another_reps(svc, clock):
    alices = owned(svc, REP, owner_name="Al Mine", address="1 Mine St")
    newbies = owned(svc, NEWBIE, owner_name="Ned Theirs")
    pool = add_lead(svc, owner_name="Po Pool")
    for lead, body in ((alices, "alice's"), (newbies, "newbie's"), (pool, "pool's")):
        svc.add_reply(lead["phones"][0]["number"], body, clock.now())
    svc.add_reply("(305) 555-0199", "nobody's", clock.now())
    seen = {r["body"]: r for r in svc.replies(REP)}
    assert set(seen) == {"alice's", "pool's", "nobody's"}
    assert (seen["alice's"]["owner_name"], seen["alice's"]["address"], seen["alice's"]["owner"]) == (
        "Al Mine",
        "1 Mine St",
        REP,
    )
    assert {r["body"] for r in svc.replies(NEWBIE)} == {"newbie's", "pool's", "nobody's"}
    assert len(svc.replies(MANAGER)) == len(svc.replies()) == 4


def test_w17_clearing_another_reps_leads_reply_is_refused(svc, clock):
    newbies = owned(svc, NEWBIE)
    reply = svc.add_reply(newbies["phones"][0]["number"], "call me", clock.now())
    with pytest.raises(Refused, match="held by newbie: only newbie or a manager"):
        svc.clear_reply(reply, REP)
    assert [r["id"] for r in svc.replies(NEWBIE)] == [reply]
    svc.clear_reply(reply, MANAGER)
    assert svc.replies(NEWBIE) == []


def test_w17_a_reply_with_a_nul_is_kept_on_sqlite_and_as_u_fffd_on_postgresql(svc, clock):
    # a server's text can't hold a NUL: the reply is stored with U+FFFD there (as an import's cell)
    svc.add_reply("(305) 555-0199", "stop\x00 now", clock.now())
    stored = "stop\x00 now" if svc.db.engine == "sqlite" else "stop\ufffd now"
    assert [r["body"] for r in svc.replies()] == [stored]


# --- W18: callbacks, mine and anyone's ---------------------------------------------------------


def test_w18_scope_is_the_first_word_and_plain_text_stays_mine():
    assert split_scope("3 weeks") == ("mine", "3 weeks")
    assert split_scope("anyone 3 weeks") == ("anyone", "3 weeks")
    assert split_scope("Pool: 6 months") == ("anyone", "6 months")
    assert split_scope("anyone") == ("mine", "anyone")


def test_w18_an_owner_makes_a_callback_theirs_and_the_pool_makes_it_anyones():
    alice, bob = Actor(REP, False, date(2025, 1, 1)), Actor("bob", False, date(2025, 1, 1))
    row = {"id": 7, "owner": None, "hold_until": None, "dead": 0, "status": "new", "callback": "anyone"}
    assert decide_claim(row, alice).fields["callback"] == "mine"
    assert decide_assign(row, alice, bob)[0].fields["callback"] == "mine"
    assert decide_release({**row, "owner": REP, "callback": "mine"}, alice)[0].fields["callback"] == "anyone"
    assert "callback" not in decide_claim({**row, "callback": None}, alice).fields


def test_w18_an_anyone_callback_goes_back_to_the_pool_when_due(svc, make_service, clock):
    lead = owned(svc)
    svc.followup(lead["id"], REP, "2 weeks", anyone=True)
    got = svc.lead(lead["id"])
    assert (got["owner"], got["callback"]) == (REP, "anyone")
    assert svc.sweep() == []
    clock.advance(days=7, minutes=1)
    assert svc.sweep() == [lead["id"]]
    got = svc.lead(lead["id"], events=True)
    assert (got["owner"], got["callback"]) == (None, "anyone")
    assert got["events"][-1]["kind"] == "callback_due" and got["events"][-1]["data"]["callback_of"] == REP
    rows, _ = svc.queue(NEWBIE)  # the first page: due callbacks first, for any rep
    assert rows[0]["id"] == lead["id"] and rows[0]["queue"] == "due"
    pool, _ = svc.queue(NEWBIE, ("pool", 0))
    assert lead["id"] not in {r["id"] for r in pool}  # listed once
    svc.claim(lead["id"], NEWBIE)
    got = svc.lead(lead["id"])
    assert (got["owner"], got["callback"]) == (NEWBIE, "mine")
    assert svc.sweep() == []


def test_w18_a_mine_callback_stays_with_the_rep_when_due(svc, clock):
    lead = owned(svc)
    svc.followup(lead["id"], REP, "3 weeks")
    clock.advance(days=11)
    assert svc.sweep() == []
    got = svc.lead(lead["id"])
    assert (got["owner"], got["callback"]) == (REP, "mine")
    assert lead["id"] not in {r["id"] for r in svc.queue(NEWBIE)[0]}


def test_w18_a_status_makes_the_callback_and_release_leaves_it_to_anyone(svc, clock):
    lead = owned(svc)
    svc.followup(lead["id"], REP, "2 weeks", anyone=True)
    svc.set_status(lead["id"], "needs-offer", REP)
    assert svc.lead(lead["id"])["callback"] is None
    clock.advance(days=8)
    assert svc.sweep() == [] and svc.lead(lead["id"])["owner"] == REP
    other = owned(svc)
    svc.followup(other["id"], REP, "2 weeks")
    svc.release(other["id"], REP)
    assert svc.lead(other["id"])["callback"] == "anyone"
    svc.undo(other["id"], REP)
    assert (svc.lead(other["id"])["owner"], svc.lead(other["id"])["callback"]) == (REP, "mine")


def test_w18_callbacks_list_overdue_today_upcoming_with_appointments_per_rep(svc, clock):
    start = clock.now()
    late, today, soon, far = (owned(svc) for _ in range(4))
    clock.set(start - timedelta(days=6))
    svc.followup(late["id"], REP, "6 days")  # due 3 days ago
    clock.set(start - timedelta(days=4, hours=1))
    svc.followup(today["id"], REP, "8 days")  # due an hour ago, today
    clock.set(start)
    svc.followup(soon["id"], REP, "4 days", anyone=True)  # in 2 days
    svc.followup(far["id"], REP, "6 months")  # past the week: not listed
    booked = owned(svc)
    svc.set_status(booked["id"], "appointment-booked", REP, at=(start + timedelta(days=1)).isoformat())
    theirs = owned(svc, NEWBIE)
    svc.followup(theirs["id"], NEWBIE, "2 days")
    rows = svc.callbacks(REP)
    assert [(r["lead_id"], r["kind"], r["section"]) for r in rows] == [
        (late["id"], "callback", "overdue"),
        (today["id"], "callback", "today"),
        (booked["id"], "appointment", "upcoming"),
        (soon["id"], "callback", "upcoming"),
    ]
    assert rows[3]["scope"] == "anyone" and rows[0]["scope"] == "mine" and rows[0]["rep"] == REP
    assert rows[0]["owner_name"] and rows[0]["address"] and rows[0]["asked_for"]
    everyone = svc.callbacks(MANAGER)
    assert [r["rep"] for r in everyone] == [REP] * 4 + [NEWBIE]
    assert far["id"] in {r["lead_id"] for r in svc.callbacks(REP, days=200)}


# --- hand-over -----------------------------------------------------------------------------------


def test_hand_over_moves_a_reps_leads_and_callbacks_in_one_step(svc, clock):
    plain, called, held = owned(svc), owned(svc), owned(svc)
    svc.followup(called["id"], REP, "2 weeks")
    svc.set_status(held["id"], "offer-rejected", REP)  # a W9 hold
    with pytest.raises(PinRequired):
        svc.hand_over(REP, NEWBIE, MANAGER, None)
    with pytest.raises(Refused, match="only a manager"):
        svc.hand_over(REP, NEWBIE, NEWBIE, PIN)
    with pytest.raises(LeadtuiError, match="another rep"):
        svc.hand_over(REP, "ALICE", MANAGER, PIN)
    with pytest.raises(LeadtuiError, match="no rep named"):
        svc.hand_over(REP, "ghost", MANAGER, PIN)
    result = svc.hand_over(REP, NEWBIE, MANAGER, PIN, chunk=2)  # F4: two slices
    assert (result["leads"], result["callbacks"], result["to"]) == (3, 1, NEWBIE)
    for lead in (plain, called, held):
        got = svc.lead(lead["id"], events=True)
        assert got["owner"] == NEWBIE and got["hold_until"] is None
        assert got["events"][-1]["kind"] == "handover" and got["events"][-1]["rep"] == MANAGER
    assert svc.lead(called["id"])["callback"] == "mine"
    assert svc.search(REP, owner=REP) == []


def test_hand_over_to_the_pool_leaves_callbacks_to_anyone(svc, clock):
    called, plain = owned(svc, NEWBIE), owned(svc, NEWBIE)
    svc.followup(called["id"], NEWBIE, "2 weeks")
    result = svc.hand_over(NEWBIE, None, MANAGER, PIN)
    assert (result["leads"], result["callbacks"], result["to"]) == (2, 1, None)
    assert svc.lead(called["id"])["owner"] is None and svc.lead(called["id"])["callback"] == "anyone"
    assert svc.lead(plain["id"])["callback"] is None
    clock.advance(days=7, minutes=1)
    assert called["id"] in {r["id"] for r in svc.queue(REP)[0] if r["queue"] == "due"}


def test_decide_handover_without_a_database():
    rows = [{"id": 1, "callback": "mine"}, {"id": 2, "callback": None}, {"id": 3, "callback": "anyone"}]
    assert [f for _, f in decide_handover(rows, "bo")] == [{"owner": "bo", "hold_until": None}] * 3
    assert [f.get("callback") for _, f in decide_handover(rows, None)] == ["anyone", None, "anyone"]
