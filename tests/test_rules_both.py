"""Rules for both playbooks: B1 group counts, B3 calling rules, B4 timeline, B5 bad input.

All through the Service on a real SQLite file, with the conftest clock (never the real time).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, add_lead

from leadtui import clock as clocklib
from leadtui.core.calling import CallingRules
from leadtui.errors import LeadtuiError, Refused

pytestmark = pytest.mark.engines

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
DIAL = "not-contacted"


def dump(svc) -> dict:
    """Every row of the tables a rule may touch, to prove a refusal changed nothing."""
    conn = svc.db.conn
    return {
        t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")]
        for t in ("leads", "phones", "events", "outbox", "approvals")
    }


def dials(svc, lead_id: int) -> list[dict]:
    return [
        e
        for e in svc.lead(lead_id, events=True)["events"]
        if e["kind"] == "status" and e.get("status") == DIAL
    ]


def flag(svc, lead_id: int, position: int, column: str) -> None:
    """DNC / litigator flags come from the importer (not built yet): set them on the test DB."""
    assert column in ("dnc", "litigator")
    svc.db.conn.execute(
        f"UPDATE phones SET {column} = 1 WHERE lead_id = ? AND position = ?", (lead_id, position)
    )


def refused(svc, call, *args, match: str = "", **kwargs) -> str:
    """The call is refused with one line, and the database is exactly as it was."""
    before = dump(svc)
    with pytest.raises(Refused) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    if match:
        assert match in message, message
    assert dump(svc) == before
    return message


@pytest.fixture
def svc(make_service):
    return make_service("wholesale")


# --- B1 ----------------------------------------------------------------------------------------


def test_b1_group_counts_every_group_in_order(svc):
    assert svc.group_counts() == {"grey": 0, "purple": 0, "green": 0, "yellow": 0, "red": 0}


def test_b1_group_counts_wholesale(svc):
    _new, dialled, offer, made, gone, rejected = (add_lead(svc) for _ in range(6))
    svc.set_status(dialled["id"], DIAL, REP)
    svc.set_status(offer["id"], "needs-offer", REP)
    svc.set_status(made["id"], "offer-made", REP)
    svc.set_status(gone["id"], "not-interested", REP)
    svc.set_status(rejected["id"], "offer-rejected", REP)
    assert svc.group_counts() == {"grey": 1, "purple": 1, "green": 2, "yellow": 2, "red": 0}
    # the group counts are the sums of the status counts
    counts = svc.counts()
    assert len(counts) == 13
    for group, n in svc.group_counts().items():
        assert n == sum(counts[s.id] for s in svc.playbook.in_group(group))


def test_b1_group_counts_leave_out_killed_leads(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "dead-deal", REP)
    assert svc.lead(lead["id"])["dead"] is True
    assert sum(svc.group_counts().values()) == 0


def test_b1_group_counts_as_a_rep_sees_them(svc):
    alices = add_lead(svc)
    add_lead(svc)
    svc.set_status(alices["id"], "needs-offer", REP)  # green claims it for alice
    assert svc.group_counts(REP) == {"grey": 1, "purple": 0, "green": 1, "yellow": 0, "red": 0}
    assert svc.group_counts(NEWBIE) == {"grey": 1, "purple": 0, "green": 0, "yellow": 0, "red": 0}
    assert svc.group_counts(MANAGER)["green"] == 1


def test_b1_group_counts_lifecycle(make_service):
    svc = make_service("lifecycle")
    plan = ["new", "non-client", "engage", "future", "active", "closed", "closed"]
    for status in plan:
        lead = add_lead(svc)
        if status != "new":
            svc.set_status(lead["id"], status, REP)
    assert svc.group_counts() == {"grey": 2, "purple": 1, "yellow": 1, "green": 3}


# --- B3 ----------------------------------------------------------------------------------------


def test_b3_dial_recorded_inside_window(svc):
    lead = add_lead(svc)  # Miami, 15:00 local
    out = svc.set_status(lead["id"], DIAL, REP)
    assert "dial 1 of 3" in out.message
    assert len(dials(svc, lead["id"])) == 1


@pytest.mark.parametrize(
    "local, ok",
    [
        ((7, 59), False),
        ((8, 0), True),
        ((12, 0), True),
        ((20, 59), True),
        ((21, 0), False),
        ((23, 30), False),
        ((0, 30), False),
    ],
)
def test_b3_window_is_lead_local_from_the_phone(svc, clock, local, ok):
    # a 213 number is Los Angeles, even on a lead whose property is in Florida
    lead = add_lead(svc, phones=["(213) 555-0101"])
    assert lead["phones"][0]["tz"] == "America/Los_Angeles"
    clock.set(datetime(2026, 11, 23, *local, tzinfo=LA))
    if ok:
        svc.set_status(lead["id"], DIAL, REP)
        assert len(dials(svc, lead["id"])) == 1
    else:
        message = refused(svc, svc.set_status, lead["id"], DIAL, REP, match="outside calling hours")
        assert "America/Los_Angeles" in message and "B3" in message


def test_b3_same_moment_differs_by_lead_zone(svc, clock):
    miami = add_lead(svc, phones=["(305) 555-0101"])
    la = add_lead(svc, phones=["(213) 555-0102"])
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=NY))  # 10:30 in Miami, 07:30 in Los Angeles
    svc.set_status(miami["id"], DIAL, REP)
    refused(svc, svc.set_status, la["id"], DIAL, REP, match="07:30")


def test_b3_window_from_property_state_when_phone_gives_none(svc, clock):
    # a toll-free number belongs to no zone: the property state (CA) decides
    lead = add_lead(svc, phones=["(800) 555-0199"], state="CA", city="Los Angeles", zip_code="90012")
    assert lead["phones"][0]["tz"] == "America/Los_Angeles"
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=NY))  # 07:30 in California
    refused(svc, svc.set_status, lead["id"], DIAL, REP, match="outside calling hours")
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=LA))
    svc.set_status(lead["id"], DIAL, REP)
    assert len(dials(svc, lead["id"])) == 1


def test_b3_unknown_zone_is_never_dialled_outside_any_us_window(svc, clock):
    lead = add_lead(svc, phones=["(800) 555-0199"], state=None)
    clock.set(datetime(2026, 11, 23, 22, 30, tzinfo=NY))  # 22:30 New York, 19:30 Los Angeles
    refused(svc, svc.set_status, lead["id"], DIAL, REP, match="outside calling hours")


def test_b3_window_from_state_override(make_service, clock):
    rules = CallingRules.from_config({"states": {"FL": {"window": ["08:00", "20:00"]}}})
    svc = make_service("wholesale", rules=rules)
    miami = add_lead(svc, phones=["(305) 555-0101"])  # FL
    nyc = add_lead(svc, phones=["(212) 555-0102"], state="NY", city="New York", zip_code="10001")
    clock.set(datetime(2026, 11, 23, 19, 59, tzinfo=NY))
    svc.set_status(miami["id"], DIAL, REP)
    clock.set(datetime(2026, 11, 23, 20, 30, tzinfo=NY))
    message = refused(svc, svc.set_status, miami["id"], DIAL, REP, match="outside calling hours")
    assert "08:00–20:00" in message
    svc.set_status(nyc["id"], DIAL, REP)  # NY keeps the default 08:00–21:00
    assert len(dials(svc, nyc["id"])) == 1


def test_b3_cap_from_state_override(make_service):
    rules = CallingRules.from_config({"states": {"FL": {"max_per_phone_24h": 2}}})
    svc = make_service("wholesale", rules=rules)
    lead = add_lead(svc)
    svc.set_status(lead["id"], DIAL, REP)
    svc.set_status(lead["id"], DIAL, REP)
    refused(svc, svc.set_status, lead["id"], DIAL, REP, match="cap 2")


@pytest.mark.parametrize("column, words", [("dnc", "do-not-call"), ("litigator", "litigator")])
def test_b3_dnc_never_dialled(svc, column, words):
    lead = add_lead(svc)
    flag(svc, lead["id"], 1, column)
    refused(svc, svc.set_status, lead["id"], DIAL, REP)
    refused(svc, svc.set_status, lead["id"], DIAL, REP, override=True)
    message = refused(svc, svc.set_status, lead["id"], DIAL, REP, phone=1, override=True, match=words)
    assert "never dialled" in message and "--override" not in message
    assert dials(svc, lead["id"]) == []


@pytest.mark.parametrize("column", ["dnc", "litigator"])
def test_b3_dnc_phone_skipped_for_the_next_good_phone(svc, column):
    lead = add_lead(svc, phones=2)
    flag(svc, lead["id"], 1, column)
    out = svc.set_status(lead["id"], DIAL, REP)
    assert "phone 2" in out.message
    (dial,) = dials(svc, lead["id"])
    assert dial["data"]["phone"] == 2


def test_b3_cap_three_dials_in_24h(svc, clock):
    lead = add_lead(svc)
    for n in (1, 2, 3):
        assert f"dial {n} of 3" in svc.set_status(lead["id"], DIAL, REP).message
        clock.advance(minutes=1)
    message = refused(
        svc, svc.set_status, lead["id"], DIAL, REP, match="3 dials to this phone in the last 24 h"
    )
    assert "cap 3" in message and "--override" in message
    clock.advance(hours=23, minutes=56)  # 23 h 59 min after the first dial
    refused(svc, svc.set_status, lead["id"], DIAL, REP, match="cap 3")
    assert len(dials(svc, lead["id"])) == 3


def test_b3_cap_allows_override(svc, clock):
    lead = add_lead(svc)
    for _ in range(3):
        svc.set_status(lead["id"], DIAL, REP)
    svc.set_status(lead["id"], DIAL, REP, override=True)
    got = dials(svc, lead["id"])
    assert len(got) == 4 and got[-1]["data"]["override"] is True
    # an override is for one dial: the next one is refused again
    refused(svc, svc.set_status, lead["id"], DIAL, REP, match="4 dials")


def test_b3_cap_lifts_after_24h(svc, clock):
    lead = add_lead(svc)
    for _ in range(3):
        svc.set_status(lead["id"], DIAL, REP)
    refused(svc, svc.set_status, lead["id"], DIAL, REP)
    clock.advance(hours=24)
    svc.set_status(lead["id"], DIAL, REP)
    assert len(dials(svc, lead["id"])) == 4


def test_b3_cap_is_per_phone(svc):
    lead = add_lead(svc, phones=2)
    for _ in range(3):
        svc.set_status(lead["id"], DIAL, REP)
    # the run of three moved the cursor to phone 2, which has its own cap
    out = svc.set_status(lead["id"], DIAL, REP)
    assert "phone 2" in out.message
    refused(svc, svc.set_status, lead["id"], DIAL, REP, phone=1, match="cap 3")


def test_b3_cap_counts_every_rep(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], DIAL, REP)
    svc.set_status(lead["id"], DIAL, NEWBIE)
    svc.set_status(lead["id"], DIAL, MANAGER)
    refused(svc, svc.set_status, lead["id"], DIAL, REP, match="cap 3")


# --- B4 ----------------------------------------------------------------------------------------


def test_b4_every_action_on_the_timeline(svc, clock):
    steps: list[tuple[str, str | None]] = []

    def step(kind, rep):
        steps.append((kind, rep, clocklib.stamp(clock.now())))
        clock.advance(minutes=1)

    lead = add_lead(svc, rep=REP)
    lid = lead["id"]
    number = lead["phones"][0]["number"]
    step("created", REP)
    svc.set_status(lid, DIAL, REP)
    step("status", REP)
    svc.claim(lid, REP)
    step("claim", REP)
    svc.followup(lid, REP, "3 weeks")
    step("followup", REP)
    svc.release(lid, REP)
    step("release", REP)
    svc.assign(lid, NEWBIE, REP)
    step("assign", REP)
    svc.set_status(lid, "wrong-number", NEWBIE)
    step("wrong_report", NEWBIE)
    svc.undo(lid, NEWBIE)
    step("undo", NEWBIE)
    first = svc.set_status(lid, "dead-deal", NEWBIE)
    step("approval_requested", NEWBIE)
    svc.reject(first.approval_id, MANAGER, PIN, "still a deal")
    step("approval_rejected", MANAGER)
    second = svc.set_status(lid, "dead-deal", NEWBIE)
    step("approval_requested", NEWBIE)
    svc.approve(second.approval_id, MANAGER, PIN)
    step("status", NEWBIE)
    svc.revive(lid, MANAGER, PIN)
    step("revive", MANAGER)
    svc.set_status(lid, "offer-rejected", NEWBIE)
    step("status", NEWBIE)
    clock.advance(days=8)
    assert svc.sweep() == [lid]
    step("hold_expired", None)
    reply = svc.add_reply(number, "call me", clock.now())
    svc.clear_reply(reply, REP)
    step("sms_cleared", REP)

    timeline = svc.lead(lid, events=True)["events"]
    assert [(e["kind"], e["rep"], e["at"]) for e in timeline] == steps
    for e in timeline:
        assert datetime.fromisoformat(e["at"]).utcoffset() is not None  # ISO-8601 with offset
    statuses = [e.get("status") for e in timeline if e["kind"] == "status"]
    assert statuses == [DIAL, "dead-deal", "offer-rejected"]
    assert [e["undone"] for e in timeline if e["kind"] == "wrong_report"] == [True]


def test_b4_timeline_is_only_this_leads(svc):
    a = add_lead(svc)
    b = add_lead(svc)
    svc.set_status(a["id"], "needs-offer", REP)
    assert [e["kind"] for e in svc.lead(b["id"], events=True)["events"]] == ["created"]
    assert "events" not in svc.lead(b["id"])


def test_b4_status_event_keeps_before_and_after(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    event = svc.lead(lead["id"], events=True)["events"][-1]
    assert event["before"] == {"status": "new", "owner": None}
    assert event["after"] == {"status": "needs-offer", "owner": REP}
    assert event["kpi"] == ["dials", "contacts"]


def test_b4_automation_queued_on_the_timeline(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    assert [a["action"] for a in svc.outbox(lead_id=lead["id"])] == ["text_underwriter"]
    timeline = svc.lead(lead["id"], events=True)["events"]
    assert any("text_underwriter" in repr(e) for e in timeline)


def test_b4_automation_cancelled_on_the_timeline(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.set_status(lead["id"], "dead-deal", REP)
    assert [a["state"] for a in svc.outbox(lead_id=lead["id"])] == ["cancelled"]
    kill = svc.lead(lead["id"], events=True)["events"][-1]
    assert "text_underwriter" in repr(kill) or "cancel" in repr(kill)


# --- B5 ----------------------------------------------------------------------------------------


def one_line_error(svc, call, *args, **kwargs) -> str:
    before = dump(svc)
    with pytest.raises(LeadtuiError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message
    assert "Traceback" not in message
    assert dump(svc) == before
    return message


def test_b5_unknown_lead(svc):
    add_lead(svc)
    assert one_line_error(svc, svc.set_status, 999, DIAL, REP) == "no lead 999"
    assert one_line_error(svc, svc.lead, 999) == "no lead 999"
    for call in (svc.claim, svc.release, svc.undo):
        assert one_line_error(svc, call, 999, REP) == "no lead 999"
    assert one_line_error(svc, svc.followup, 999, REP, "3 weeks") == "no lead 999"
    assert one_line_error(svc, svc.assign, 999, NEWBIE, REP) == "no lead 999"


def test_b5_unknown_status(svc):
    lead = add_lead(svc)
    message = one_line_error(svc, svc.set_status, lead["id"], "hot", REP)
    assert "unknown status 'hot'" in message and "not-contacted" in message
    one_line_error(svc, svc.search, status="hot")


def test_b5_unknown_rep(svc):
    lead = add_lead(svc)
    message = one_line_error(svc, svc.set_status, lead["id"], DIAL, "ghost")
    assert "no rep named 'ghost'" in message
    one_line_error(svc, svc.claim, lead["id"], "ghost")
    one_line_error(svc, svc.assign, lead["id"], "ghost", REP)
    one_line_error(svc, svc.counts, "ghost")
    one_line_error(svc, svc.group_counts, "ghost")
    one_line_error(svc, svc.add_lead, owner_name="X", address="9 Bay Rd", rep="ghost")
    assert "say who you are" in one_line_error(svc, svc.set_status, lead["id"], DIAL, None)


def test_b5_bad_inputs_are_one_line_errors(svc):
    lead = add_lead(svc)
    lid = lead["id"]
    assert "--at" in one_line_error(svc, svc.set_status, lid, "appointment-booked", REP)
    assert "ISO-8601" in one_line_error(
        svc, svc.set_status, lid, "appointment-booked", REP, at="tomorrow-ish"
    )
    assert "no phone 7" in one_line_error(svc, svc.set_status, lid, DIAL, REP, phone=7)
    assert "negative" in one_line_error(svc, svc.set_status, lid, "offer-made", REP, amount=-5)
    assert "not a phone number" in one_line_error(
        svc, svc.add_lead, owner_name="X", address="9 Bay Rd", phones=["12"]
    )
    one_line_error(svc, svc.followup, lid, REP, "whenever")


def test_b5_refusals_leave_the_database_unchanged(svc, clock):
    lead = add_lead(svc)
    lid = lead["id"]
    svc.set_status(lid, "needs-offer", REP)  # alice's, with a pending action
    dead = add_lead(svc)
    svc.set_status(dead["id"], "dead-deal", REP)
    # W2: green on another rep's lead
    refused(svc, svc.set_status, lid, "offer-made", NEWBIE, match="held by alice")
    # W14: claim of a held lead
    refused(svc, svc.claim, lid, NEWBIE, match="held by alice")
    # W10: anything on a dead lead
    refused(svc, svc.set_status, dead["id"], DIAL, REP, match="dead")
    # manager-only without PIN / with the wrong PIN / by a rep
    refused(svc, svc.revive, dead["id"], MANAGER, None)
    before = dump(svc)  # a wrong PIN changes no lead: it is only counted, as an event of its own
    with pytest.raises(Refused, match="wrong PIN"):
        svc.revive(dead["id"], MANAGER, "0000")
    after = dump(svc)
    assert after["events"][:-1] == before["events"] and after["events"][-1][5] == "pin_failed"
    assert {k: v for k, v in after.items() if k not in ("events", "reps")} == {
        k: v for k, v in before.items() if k not in ("events", "reps")
    }
    refused(svc, svc.revive, dead["id"], REP, PIN, match="only a manager")
    # W11: already sold needs confirmation first
    refused(svc, svc.set_status, lid, "already-sold", REP, match="confirm")
    # New is set only by import or add
    refused(svc, svc.set_status, lid, "new", REP)
    # B3 outside the window
    clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=NY))
    other = add_lead(svc)
    refused(svc, svc.set_status, other["id"], DIAL, REP, match="outside calling hours")
    # duplicate property address
    refused(svc, svc.add_lead, owner_name="Someone", address=lead["address"], zip_code=lead["zip"])
    assert [a["state"] for a in svc.outbox(lead_id=lid)] == ["pending"]
