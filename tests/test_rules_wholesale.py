"""Rules W1-W20 of the wholesale playbook, through the Service on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from conftest import MANAGER, NEWBIE, NY, PIN, REP, START, add_lead

from leadtui.core.rules import NeedsConfirmation
from leadtui.errors import LeadtuiError, Refused
from leadtui.service import PinRequired, Service

pytestmark = pytest.mark.engines

# What a statement the database refuses raises: the driver's error, or (on PostgreSQL, inside a
# write) the store's one line (LeadtuiError) carrying the server's message.
REFUSED = (sqlite3.DatabaseError, psycopg.Error, LeadtuiError)

# --- helpers ------------------------------------------------------------------------------------


@contextmanager
def inserts_fail(svc: Service, table: str, message: str) -> Iterator[None]:
    """Every INSERT into `table` fails with `message` (a trigger), until the block ends."""
    conn = svc.db.conn
    if conn.engine == "postgresql":
        conn.execute(
            f"CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$;"
            f" CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION boom()"
        )
    else:
        conn.execute(
            f"CREATE TRIGGER boom BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    try:
        yield
    finally:  # (a PostgreSQL test database is emptied and used again: the trigger must go)
        conn.execute(f"DROP TRIGGER boom ON {table}" if conn.engine == "postgresql" else "DROP TRIGGER boom")
        if conn.engine == "postgresql":
            conn.execute("DROP FUNCTION boom()")


@pytest.fixture
def svc(make_service) -> Service:
    return make_service()


def utc(moment: datetime) -> str:
    """How the store writes a time."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def sql(svc: Service, query: str, *args):
    return svc.db.conn.execute(query, args).fetchall()


def flag_phone(svc: Service, lead_id: int, position: int, **flags) -> None:
    """Set a phone's dnc/litigator/bad flags as an import would."""
    sets = ", ".join(f"{k} = ?" for k in flags)
    svc.db.conn.execute(
        f"UPDATE phones SET {sets} WHERE lead_id = ? AND position = ?", (*flags.values(), lead_id, position)
    )


def actions(svc: Service, lead_id: int) -> list[tuple[str, str]]:
    return [(a["action"], a["state"]) for a in svc.outbox(lead_id=lead_id)]


def payload(svc: Service, lead_id: int, action: str) -> dict:
    row = sql(svc, "SELECT payload FROM outbox WHERE lead_id = ? AND action = ?", lead_id, action)[0]
    return json.loads(row[0])


def events(svc: Service, lead_id: int) -> list[dict]:
    return svc.lead(lead_id, events=True)["events"]


def kpi(svc: Service, rep: str, day: str = "2026-11-23") -> dict:
    rows = svc.kpis(rep=rep, day=day)
    return rows[0] if rows else {}


def owned(svc: Service, rep: str = REP, **fields) -> dict:
    """A lead claimed by `rep`."""
    lead = add_lead(svc, **fields)
    svc.claim(lead["id"], rep)
    return svc.lead(lead["id"])


def ids(leads: list[dict]) -> list[int]:
    return [x["id"] for x in leads]


def no_answer(svc: Service, lead_id: int, times: int = 1, rep: str = REP):
    for _ in range(times):
        out = svc.set_status(lead_id, "not-contacted", rep)
    return out


def wrong(svc: Service, lead_id: int, times: int = 1, **kwargs):
    for _ in range(times):
        out = svc.set_status(lead_id, "wrong-number", REP, **kwargs)
    return out


def kill(svc: Service, lead_id: int, rep: str = REP):
    return svc.set_status(lead_id, "dead-deal", rep)


# --- W1 Not Contacted ---------------------------------------------------------------------------


def test_w1_each_dial_shows_attempt_n_of_3(svc):
    lead = add_lead(svc)
    for n in (1, 2):
        out = svc.set_status(lead["id"], "not-contacted", REP)
        assert f"dial {n} of 3" in out.message
        got = svc.lead(lead["id"])
        assert (got["dial_run"], got["current_phone"]) == (n, 1)
        assert out.advance is None


def test_w1_records_one_dial_attempt_on_current_phone(svc):
    lead = add_lead(svc, phones=2)
    no_answer(svc, lead["id"], 2)
    dials = sql(svc, "SELECT phone_id, kind, status FROM events WHERE lead_id = ? AND dial = 1", lead["id"])
    phone1 = sql(svc, "SELECT id FROM phones WHERE lead_id = ? AND position = 1", lead["id"])[0][0]
    assert [tuple(d) for d in dials] == [(phone1, "status", "not-contacted")] * 2


def test_w1_allowed_on_every_dial_and_keeps_pool_lead_in_pool(svc):
    lead = add_lead(svc, phones=1)
    no_answer(svc, lead["id"], 3)
    got = svc.lead(lead["id"])
    assert got["status"] == "not-contacted" and got["owner"] is None


def test_w1_third_no_answer_moves_to_next_good_phone(svc):
    lead = add_lead(svc, phones=2)
    out = no_answer(svc, lead["id"], 3)
    assert "dial 3 of 3" in out.message and out.advance == "phone"
    got = svc.lead(lead["id"])
    assert (got["current_phone"], got["dial_run"], got["next_call_at"]) == (2, 0, None)
    assert "dial 1 of 3 on phone 2" in no_answer(svc, lead["id"]).message


def test_w1_next_phone_skips_bad_and_dnc(svc):
    lead = add_lead(svc, phones=4)
    flag_phone(svc, lead["id"], 2, bad=1)
    flag_phone(svc, lead["id"], 3, dnc=1)
    out = no_answer(svc, lead["id"], 3)
    assert out.advance == "phone" and svc.lead(lead["id"])["current_phone"] == 4


def test_w1_no_good_phone_left_moves_to_next_lead_next_day(svc, clock):
    lead = add_lead(svc, phones=2)
    flag_phone(svc, lead["id"], 2, litigator=1)
    out = no_answer(svc, lead["id"], 3)
    assert out.advance == "lead"
    got = svc.lead(lead["id"])
    assert got["next_call_at"] == utc(clock.now() + timedelta(days=1))
    assert "2026-11-24" in out.message


def test_w1_last_phone_run_ends_next_day_after_all_phones(svc, clock):
    lead = add_lead(svc, phones=2)
    no_answer(svc, lead["id"], 3)
    out = no_answer(svc, lead["id"], 3)
    got = svc.lead(lead["id"])
    assert out.advance == "lead" and got["next_call_at"] == utc(START + timedelta(days=1))
    assert (got["current_phone"], got["dial_run"]) == (1, 0)  # back to the first phone tomorrow


def test_w1_kpi_counts_each_dial(svc):
    lead = add_lead(svc)
    no_answer(svc, lead["id"], 2)
    assert kpi(svc, REP)["dials"] == 2 and kpi(svc, REP)["contacts"] == 0


def test_w1_b3_no_dial_outside_calling_hours(svc, clock):
    lead = add_lead(svc)
    clock.set(datetime(2026, 11, 23, 21, 30, tzinfo=NY))
    with pytest.raises(Refused, match="outside calling hours"):
        no_answer(svc, lead["id"])
    assert svc.lead(lead["id"])["dial_run"] == 0


def test_w1_b3_no_dial_on_dnc_phone(svc):
    lead = add_lead(svc, phones=2)
    flag_phone(svc, lead["id"], 1, dnc=1)
    with pytest.raises(Refused, match="do-not-call"):
        svc.set_status(lead["id"], "not-contacted", REP, phone=1)
    assert "phone 2" in no_answer(svc, lead["id"]).message  # without --phone: first dialable


def test_w1_b3_cap_per_phone_in_24h_unless_override(svc, clock):
    lead = add_lead(svc, phones=1)
    no_answer(svc, lead["id"], 3)
    clock.advance(hours=1)
    with pytest.raises(Refused, match="cap 3"):
        no_answer(svc, lead["id"])
    out = svc.set_status(lead["id"], "not-contacted", REP, override=True)
    assert "dial 1 of 3" in out.message


# --- W2 Green -----------------------------------------------------------------------------------


def test_w2_green_claims_pool_lead(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP)
    assert svc.lead(lead["id"])["owner"] == REP


def test_w2_green_keeps_own_lead(svc):
    lead = owned(svc)
    for status in ("needs-offer", "offer-made", "send-contract", "under-contract"):
        svc.set_status(lead["id"], status, REP)
        assert svc.lead(lead["id"])["owner"] == REP


def test_w2_green_on_another_reps_lead_refused_naming_holder(svc):
    lead = owned(svc, NEWBIE)
    with pytest.raises(Refused, match=r"held by newbie \(W2\)"):
        svc.set_status(lead["id"], "needs-offer", REP)
    got = svc.lead(lead["id"])
    assert got["status"] == "new" and got["owner"] == NEWBIE and actions(svc, lead["id"]) == []


# --- W3 Needs Offer -----------------------------------------------------------------------------


def test_w3_needs_offer_queues_text_underwriter_with_payload(svc, clock):
    lead = add_lead(svc, owner_name="Maria Lopez", address="12 Palm Ave", notes="roof leaks")
    out = svc.set_status(lead["id"], "needs-offer", REP)
    assert "text_underwriter" in out.message
    [row] = svc.outbox(lead_id=lead["id"])
    assert (row["action"], row["state"]) == ("text_underwriter", "pending")
    assert row["due_at"] == utc(clock.now() + timedelta(seconds=30))
    body = payload(svc, lead["id"], "text_underwriter")
    assert body["address"] == "12 Palm Ave" and body["owner_name"] == "Maria Lopez"
    assert body["phone"] == "+13055550101" and body["rep"] == REP and body["notes"] == "roof leaks"


def test_w3_payload_phone_is_never_a_bad_or_dnc_one(svc):
    lead = add_lead(svc, phones=3)
    flag_phone(svc, lead["id"], 2, dnc=1)
    wrong(svc, lead["id"], 3)  # phone 1 is a wrong number now
    svc.set_status(lead["id"], "needs-offer", REP)
    assert payload(svc, lead["id"], "text_underwriter")["phone"] == "+13055550103"


def test_w3_action_belongs_to_the_status_event(svc):
    lead = add_lead(svc)
    out = svc.set_status(lead["id"], "needs-offer", REP)
    [(event_id,)] = sql(svc, "SELECT event_id FROM outbox WHERE lead_id = ?", lead["id"])
    assert event_id == out.event_id


def test_w3_status_and_outbox_in_one_transaction(svc):
    lead = add_lead(svc)
    with inserts_fail(svc, "outbox", "outbox down"), pytest.raises(REFUSED, match="outbox down"):
        svc.set_status(lead["id"], "needs-offer", REP)
    got = svc.lead(lead["id"])
    assert got["status"] == "new" and got["owner"] is None
    assert [e["kind"] for e in events(svc, lead["id"])] == ["created"]


# --- W4 Appointment Booked ----------------------------------------------------------------------


def test_w4_appointment_requires_date_and_time(svc):
    lead = add_lead(svc)
    with pytest.raises(LeadtuiError, match="W4"):
        svc.set_status(lead["id"], "appointment-booked", REP)
    assert svc.lead(lead["id"])["status"] == "new"


def test_w4_appointment_in_the_past_refused(svc):
    lead = add_lead(svc)
    with pytest.raises(LeadtuiError, match="past"):
        svc.set_status(lead["id"], "appointment-booked", REP, at="2026-11-20T10:00")


def test_w4_appointment_stored_in_lead_local_time(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "appointment-booked", REP, at="2026-11-25T10:00")
    got = svc.lead(lead["id"])
    assert got["status"] == "appointment-booked" and got["owner"] == REP
    assert got["appointment_at"] == utc(datetime(2026, 11, 25, 10, 0, tzinfo=NY))


def test_w4_appointment_in_reps_agenda(svc):
    early, late = add_lead(svc), add_lead(svc)
    svc.set_status(late["id"], "appointment-booked", REP, at="2026-11-27T16:00")
    svc.set_status(early["id"], "appointment-booked", REP, at="2026-11-24T09:30")
    assert ids(svc.agenda(REP)) == [early["id"], late["id"]]
    assert svc.agenda(NEWBIE) == []


def test_w4_appointment_queues_action(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "appointment-booked", REP, at="2026-11-25T10:00-05:00")
    assert actions(svc, lead["id"]) == [("appointment_booked", "pending")]
    assert payload(svc, lead["id"], "appointment_booked")["appointment_at"] == "2026-11-25T15:00:00+00:00"


# --- W5 Offer Made ------------------------------------------------------------------------------


def test_w5_offer_credited_at_key_press(svc, clock):
    lead = add_lead(svc)
    out = svc.set_status(lead["id"], "offer-made", REP)
    assert kpi(svc, REP)["offers"] == 1
    [event] = [e for e in events(svc, lead["id"]) if e["id"] == out.event_id]
    assert event["at"] == utc(clock.now()) and event["rep"] == REP and "offers" in event["kpi"]


def test_w5_offer_amount_stored(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP, amount=185000)
    assert svc.lead(lead["id"])["offer_amount"] == 185000


def test_w5_offer_amount_optional(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP)
    got = svc.lead(lead["id"])
    assert got["status"] == "offer-made" and got["offer_amount"] is None


def test_w5_negative_amount_refused(svc):
    lead = add_lead(svc)
    with pytest.raises(LeadtuiError, match="negative"):
        svc.set_status(lead["id"], "offer-made", REP, amount=-1)


# --- W6 Send Contract ---------------------------------------------------------------------------


def test_w6_send_contract_queues_contract_link(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "send-contract", REP)
    assert actions(svc, lead["id"]) == [("send_contract_link", "pending")]


def test_w6_contract_drafted_with_lead_fields_path_on_lead(svc, tmp_path):
    lead = add_lead(
        svc, owner_name="Maria Lopez", address="12 Palm Ave", apn="01-3232-012-0010", county="Miami-Dade"
    )
    svc.set_status(lead["id"], "offer-made", REP, amount=185000)
    svc.set_status(lead["id"], "send-contract", REP)
    path = svc.lead(lead["id"])["contract_path"]
    assert path and path.startswith(str(tmp_path / "contracts"))
    text = Path(path).read_text(encoding="utf-8")
    for expected in (
        "Maria Lopez",
        "12 Palm Ave, Miami, FL 33139",
        "01-3232-012-0010",
        "Miami-Dade",
        "$185,000",
        f"lead #{lead['id']}",
        REP,
    ):
        assert expected in text
    assert payload(svc, lead["id"], "send_contract_link")["contract_path"] == path


# --- W7 Under Contract --------------------------------------------------------------------------


def test_w7_under_contract_queues_deal_info_form(svc):
    lead = owned(svc)
    svc.set_status(lead["id"], "under-contract", REP)
    got = svc.lead(lead["id"])
    assert got["status"] == "under-contract" and got["owner"] == REP
    assert actions(svc, lead["id"]) == [("deal_info_form", "pending")]
    assert kpi(svc, REP)["under_contract"] == 1


# --- W8 Yellow ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["not-interested", "listed-with-agent"])
def test_w8_yellow_releases_to_pool_at_once(svc, status):
    lead = owned(svc)
    svc.set_status(lead["id"], status, REP)
    got = svc.lead(lead["id"])
    assert got["status"] == status and got["owner"] is None and got["hold_until"] is None
    assert lead["id"] in ids(svc.search(NEWBIE, pool=True))


def test_w8_yellow_on_pool_lead_stays_in_pool(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "not-interested", REP)
    assert svc.lead(lead["id"])["owner"] is None


def test_w8_offer_rejected_is_not_released(svc):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    assert svc.lead(lead["id"])["owner"] == REP


# --- W9 Offer Rejected hold ---------------------------------------------------------------------


def test_w9_offer_rejected_holds_seven_days(svc, clock):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    got = svc.lead(lead["id"])
    assert got["owner"] == REP and got["hold_until"] == utc(clock.now() + timedelta(days=7))


def test_w9_offer_rejected_hold_not_expired_before_seven_days(svc, clock):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    clock.advance(days=7, seconds=-1)
    assert svc.sweep() == []
    assert svc.lead(lead["id"])["owner"] == REP


def test_w9_offer_rejected_hold_expires(svc, clock):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    clock.advance(days=7)
    assert svc.sweep() == [lead["id"]]
    got = svc.lead(lead["id"])
    assert got["owner"] is None and got["hold_until"] is None and got["status"] == "offer-rejected"
    last = events(svc, lead["id"])[-1]
    assert last["kind"] == "hold_expired" and last["rep"] is None and last["data"]["held_by"] == REP
    assert svc.sweep() == []


def test_w9_new_status_ends_hold(svc, clock):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    clock.advance(days=2)
    svc.set_status(lead["id"], "not-contacted", REP)
    assert svc.lead(lead["id"])["hold_until"] is None
    clock.advance(days=6)
    assert svc.sweep() == [] and svc.lead(lead["id"])["owner"] == REP


def test_w9_followup_ends_hold(svc, clock):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    svc.followup(lead["id"], REP, "3 weeks")
    got = svc.lead(lead["id"])
    assert got["hold_until"] is None and got["owner"] == REP
    clock.advance(days=8)
    assert svc.sweep() == []


def test_w9_claim_ends_hold(svc, clock):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    svc.claim(lead["id"], REP)
    got = svc.lead(lead["id"])
    assert got["hold_until"] is None and got["owner"] == REP
    clock.advance(days=8)
    assert svc.sweep() == []


def test_w9_held_lead_not_claimable_by_others(svc):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    with pytest.raises(Refused, match="held by alice"):
        svc.claim(lead["id"], NEWBIE)


# --- W10 Red kills ------------------------------------------------------------------------------


def test_w10_red_kills_lead_owner_cleared(svc):
    lead = owned(svc)
    kill(svc, lead["id"])
    got = svc.lead(lead["id"])
    assert got["dead"] and got["owner"] is None and got["status"] == "dead-deal"
    assert got["next_call_at"] is None and got["hold_until"] is None


def test_w10_dead_lead_gone_from_default_search(svc):
    lead, other = owned(svc), add_lead(svc)
    kill(svc, lead["id"])
    for who in (REP, MANAGER, None):
        assert ids(svc.search(who)) == [other["id"]]
    assert ids(svc.search(MANAGER, dead=True)) == [lead["id"]]
    assert svc.counts(REP)["dead-deal"] == 0


def test_w10_kill_cancels_pending_actions(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.set_status(lead["id"], "send-contract", REP)
    svc.db.conn.execute("UPDATE outbox SET state = 'failed' WHERE action = 'text_underwriter'")  # retrying
    out = kill(svc, lead["id"])
    assert "2 pending action(s) cancelled" in out.message
    assert actions(svc, lead["id"]) == [
        ("text_underwriter", "cancelled"),
        ("send_contract_link", "cancelled"),
    ]


def test_w10_kill_leaves_sent_actions_alone(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.db.conn.execute("UPDATE outbox SET state = 'sent' WHERE lead_id = ?", (lead["id"],))
    kill(svc, lead["id"])
    assert actions(svc, lead["id"]) == [("text_underwriter", "sent")]


def test_w10_dead_lead_takes_no_new_action(svc):
    lead = owned(svc)
    kill(svc, lead["id"])
    for attempt in (
        lambda: svc.set_status(lead["id"], "needs-offer", REP),
        lambda: svc.set_status(lead["id"], "not-contacted", REP),
        lambda: svc.claim(lead["id"], REP),
        lambda: svc.followup(lead["id"], REP, "6 months"),
        lambda: svc.assign(lead["id"], NEWBIE, REP),
    ):
        with pytest.raises(Refused, match="W10"):
            attempt()
    assert actions(svc, lead["id"]) == []


def test_w10_manager_revives_to_previous_status(svc):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-made", REP, amount=90000)
    kill(svc, lead["id"])
    out = svc.revive(lead["id"], MANAGER, PIN)
    assert "Offer Made" in out.message
    got = svc.lead(lead["id"])
    assert (got["status"], got["owner"], got["dead"], got["offer_amount"]) == (
        "offer-made",
        REP,
        False,
        90000,
    )
    last = events(svc, lead["id"])[-1]
    assert last["kind"] == "revive" and last["rep"] == MANAGER and last["data"]["killed_by"] == REP


def test_w10_revive_needs_pin(svc):
    lead = owned(svc)
    kill(svc, lead["id"])
    with pytest.raises(PinRequired):
        svc.revive(lead["id"], MANAGER, None)
    assert svc.lead(lead["id"])["dead"]


def test_w10_revive_wrong_pin_refused(svc):
    lead = owned(svc)
    kill(svc, lead["id"])
    with pytest.raises(Refused, match="wrong PIN") as err:
        svc.revive(lead["id"], MANAGER, "0000")
    assert not isinstance(err.value, PinRequired)
    assert svc.lead(lead["id"])["dead"]


def test_w10_revive_refused_for_non_manager(svc):
    lead = owned(svc)
    kill(svc, lead["id"])
    with pytest.raises(Refused, match="only a manager"):
        svc.revive(lead["id"], REP, PIN)
    assert svc.lead(lead["id"])["dead"]


def test_w10_revive_live_lead_refused(svc):
    lead = owned(svc)
    with pytest.raises(Refused, match="not dead"):
        svc.revive(lead["id"], MANAGER, PIN)


# --- W11 Already Sold ---------------------------------------------------------------------------


def family(svc: Service) -> tuple[dict, dict, dict, dict]:
    """A lead, the same owner's other property, a stranger sharing a phone, an unrelated lead."""
    home = add_lead(
        svc,
        owner_name="Maria Lopez",
        address="12 Palm Ave",
        mailing_address="1 Main St",
        phones=["(305) 555-0150"],
    )
    rental = add_lead(
        svc,
        owner_name="MARIA  LOPEZ",
        address="98 Bay Rd",
        mailing_address="1 Main St",
        phones=["(305) 555-0151"],
    )
    sharing = add_lead(svc, owner_name="Jo Smith", address="7 Elm St", phones=["(305) 555-0150"])
    unrelated = add_lead(svc, owner_name="Ann Wu", address="3 Oak Ct", phones=["(305) 555-0152"])
    return home, rental, sharing, unrelated


def test_w11_already_sold_needs_confirmation_showing_other_properties(svc):
    home, rental, sharing, _ = family(svc)
    with pytest.raises(NeedsConfirmation, match="W11") as err:
        svc.set_status(home["id"], "already-sold", REP)
    assert ids(err.value.others) == [rental["id"], sharing["id"]]
    assert ids(svc.other_properties(home["id"])) == [rental["id"], sharing["id"]]
    got = svc.lead(home["id"])
    assert got["status"] == "new" and not got["dead"]


def test_w11_other_properties_come_with_their_phones(svc):
    home, _rental, _sharing, _ = family(svc)
    with pytest.raises(NeedsConfirmation) as err:
        svc.set_status(home["id"], "already-sold", REP)
    assert [[p["number"] for p in x["phones"]] for x in err.value.others] == [
        ["+13055550151"],
        ["+13055550150"],
    ]


def test_w11_other_properties_skip_dead_leads(svc):
    home, rental, sharing, _ = family(svc)
    kill(svc, sharing["id"])
    with pytest.raises(NeedsConfirmation) as err:
        svc.set_status(home["id"], "already-sold", REP)
    assert ids(err.value.others) == [rental["id"]]


def test_w11_already_sold_needs_source(svc):
    home, *_ = family(svc)
    with pytest.raises(LeadtuiError, match=r"propstream|assessor"):
        svc.set_status(home["id"], "already-sold", REP, confirm=True)
    with pytest.raises(LeadtuiError, match="W11"):
        svc.set_status(home["id"], "already-sold", REP, confirm=True, source="zillow")
    assert not svc.lead(home["id"])["dead"]


@pytest.mark.parametrize("source", ["propstream", "assessor"])
def test_w11_already_sold_applies_after_confirmation(svc, source):
    home, rental, *_ = family(svc)
    svc.set_status(home["id"], "already-sold", REP, confirm=True, source=source)
    got = svc.lead(home["id"])
    assert got["status"] == "already-sold" and got["dead"] and got["owner"] is None
    assert events(svc, home["id"])[-1]["data"]["source"] == source
    assert not svc.lead(rental["id"])["dead"]


# --- W12 Wrong Number ---------------------------------------------------------------------------


def test_w12_wrong_number_reports_one_and_two_recorded(svc):
    lead = add_lead(svc, phones=1)
    for n in (1, 2):
        out = wrong(svc, lead["id"])
        assert f"wrong number {n} of 3" in out.message
        got = svc.lead(lead["id"])
        assert got["phones"][0]["wrong_reports"] == n and not got["phones"][0]["bad"]
        assert got["status"] == "new" and not got["dead"]
    assert [e["kind"] for e in events(svc, lead["id"])][-2:] == ["wrong_report", "wrong_report"]


def test_w12_third_report_marks_phone_bad_lead_lives_with_good_phone(svc):
    lead = add_lead(svc, phones=2)
    out = wrong(svc, lead["id"], 3)
    assert "marked bad" in out.message
    got = svc.lead(lead["id"])
    assert [p["bad"] for p in got["phones"]] == [True, False]
    assert got["status"] == "new" and not got["dead"]
    assert "phone 2" in no_answer(svc, lead["id"]).message


def test_w12_third_report_on_current_phone_moves_cursor(svc):
    lead = add_lead(svc, phones=2)
    no_answer(svc, lead["id"])
    wrong(svc, lead["id"], 3)
    got = svc.lead(lead["id"])
    assert (got["current_phone"], got["dial_run"]) == (2, 0)


def test_w12_lead_dies_when_no_good_phone_left(svc):
    lead = owned(svc, phones=2)
    wrong(svc, lead["id"], 3)
    out = wrong(svc, lead["id"], 3)  # now on phone 2
    assert "no good phone left" in out.message
    got = svc.lead(lead["id"])
    assert all(p["bad"] for p in got["phones"]) and [p["wrong_reports"] for p in got["phones"]] == [3, 3]
    assert got["status"] == "wrong-number" and got["dead"] and got["owner"] is None


def test_w12_report_on_phone_already_bad_refused(svc):
    lead = add_lead(svc, phones=2)
    wrong(svc, lead["id"], 3)
    with pytest.raises(Refused, match="already marked bad"):
        wrong(svc, lead["id"], phone=1)


def test_w12_reports_are_per_phone(svc):
    lead = add_lead(svc, phones=2)
    wrong(svc, lead["id"], 2, phone=1)
    assert "wrong number 1 of 3 on phone 2" in wrong(svc, lead["id"], phone=2).message
    assert [p["wrong_reports"] for p in svc.lead(lead["id"])["phones"]] == [2, 1]


# --- W13 Dead Deal approval ---------------------------------------------------------------------


def test_w13_newbie_dead_deal_becomes_pending_approval(svc):
    lead = owned(svc, NEWBIE)
    out = kill(svc, lead["id"], NEWBIE)
    assert out.approval_id and "approval" in out.message
    got = svc.lead(lead["id"])
    assert (got["status"], got["owner"], got["dead"]) == ("new", NEWBIE, False)
    [pending] = svc.approvals(MANAGER)
    assert (pending["id"], pending["lead_id"], pending["rep"], pending["status"], pending["state"]) == (
        out.approval_id,
        lead["id"],
        NEWBIE,
        "dead-deal",
        "pending",
    )
    assert kpi(svc, NEWBIE) == {}


def test_w13_manager_approves_dead_deal_applies(svc):
    lead = owned(svc, NEWBIE)
    approval = kill(svc, lead["id"], NEWBIE).approval_id
    svc.approve(approval, MANAGER, PIN)
    got = svc.lead(lead["id"])
    assert (got["status"], got["dead"], got["owner"]) == ("dead-deal", True, None)
    assert svc.approvals(MANAGER) == []
    last = events(svc, lead["id"])[-1]
    assert last["rep"] == NEWBIE and last["data"]["approved_by"] == MANAGER
    assert kpi(svc, NEWBIE)["dials"] == 1


def test_w13_approve_needs_manager_pin(svc):
    lead = owned(svc, NEWBIE)
    approval = kill(svc, lead["id"], NEWBIE).approval_id
    with pytest.raises(PinRequired):
        svc.approve(approval, MANAGER, None)
    with pytest.raises(Refused, match="only a manager"):
        svc.approve(approval, REP, PIN)
    assert not svc.lead(lead["id"])["dead"]


def test_w13_reject_leaves_lead_and_rep_sees_why(svc):
    lead = owned(svc, NEWBIE)
    approval = kill(svc, lead["id"], NEWBIE).approval_id
    svc.reject(approval, MANAGER, PIN, "owner said call back after probate")
    got = svc.lead(lead["id"])
    assert (got["status"], got["dead"], got["owner"]) == ("new", False, NEWBIE)
    [seen] = svc.approvals(NEWBIE)
    assert seen["state"] == "rejected" and seen["why"] == "owner said call back after probate"
    assert seen["decided_by"] == MANAGER
    with pytest.raises(Refused, match="already rejected"):
        svc.approve(approval, MANAGER, PIN)


def test_w13_reject_needs_a_reason(svc):
    lead = owned(svc, NEWBIE)
    approval = kill(svc, lead["id"], NEWBIE).approval_id
    with pytest.raises(LeadtuiError, match="why"):
        svc.reject(approval, MANAGER, PIN, "  ")


def test_w13_rep_past_thirty_days_applies_directly(svc):
    lead = owned(svc)
    out = kill(svc, lead["id"])
    assert out.approval_id is None and svc.lead(lead["id"])["dead"]
    assert svc.approvals(MANAGER) == []


def test_w13_thirty_day_boundary(svc, clock):
    svc.add_rep("day29", started=clock.now().date() - timedelta(days=29), acting=MANAGER, acting_pin=PIN)
    svc.add_rep("day30", started=clock.now().date() - timedelta(days=30), acting=MANAGER, acting_pin=PIN)
    young, old = owned(svc, "day29"), owned(svc, "day30")
    assert kill(svc, young["id"], "day29").approval_id is not None
    assert kill(svc, old["id"], "day30").approval_id is None
    assert svc.lead(old["id"])["dead"] and not svc.lead(young["id"])["dead"]


def test_w13_manager_in_first_days_needs_no_approval(svc, clock):
    svc.add_rep(
        "newboss", manager=True, pin="905172", started=clock.now().date(), acting=MANAGER, acting_pin=PIN
    )
    lead = owned(svc, "newboss")
    assert kill(svc, lead["id"], "newboss").approval_id is None


# --- W14 Claim ----------------------------------------------------------------------------------


def test_w14_claim_locks_pool_lead(svc):
    lead = add_lead(svc)
    out = svc.claim(lead["id"], REP)
    assert svc.lead(lead["id"])["owner"] == REP and "claimed by alice" in out.message
    assert events(svc, lead["id"])[-1]["kind"] == "claim"


def test_w14_claim_by_another_rep_refused_naming_holder(svc):
    lead = owned(svc)
    with pytest.raises(Refused, match="held by alice"):
        svc.claim(lead["id"], NEWBIE)
    assert svc.lead(lead["id"])["owner"] == REP


def test_w14_claimed_lead_hidden_from_other_reps(svc):
    lead, pool = owned(svc), add_lead(svc)
    assert ids(svc.search(NEWBIE)) == [pool["id"]]
    assert ids(svc.search(NEWBIE, text="Ocean")) == [pool["id"]]
    assert ids(svc.search(REP)) == [lead["id"], pool["id"]]
    assert ids(svc.search(MANAGER)) == [lead["id"], pool["id"]]
    assert svc.counts(NEWBIE)["new"] == 1 and svc.counts(REP)["new"] == 2
    with pytest.raises(Refused, match="W14"):
        svc.search(NEWBIE, owner=REP)


def test_w14_other_rep_cannot_set_status_on_claimed_lead(svc):
    lead = owned(svc)
    with pytest.raises(Refused, match="held by alice"):
        svc.set_status(lead["id"], "not-contacted", NEWBIE)


def test_w14_two_stations_claim_at_once_exactly_one_wins(make_service):
    first = make_service()
    lead = add_lead(first)
    stations = [first, make_service()]
    barrier, results = threading.Barrier(2), {}

    def station(svc: Service, rep: str) -> None:
        barrier.wait()
        try:
            results[rep] = svc.claim(lead["id"], rep)
        except Refused as exc:
            results[rep] = exc

    threads = [
        threading.Thread(target=station, args=(s, r)) for s, r in zip(stations, (REP, NEWBIE), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = first.lead(lead["id"])["owner"]
    loser = NEWBIE if winner == REP else REP
    assert winner in (REP, NEWBIE)
    assert isinstance(results[loser], Refused) and f"held by {winner}" in str(results[loser])
    assert [e["kind"] for e in events(first, lead["id"])].count("claim") == 1


# --- W15 Release --------------------------------------------------------------------------------


def test_w15_release_puts_lead_back_in_pool(svc):
    lead = owned(svc)
    svc.release(lead["id"], REP)
    assert svc.lead(lead["id"])["owner"] is None
    assert lead["id"] in ids(svc.search(NEWBIE, pool=True))
    last = events(svc, lead["id"])[-1]
    assert last["kind"] == "release" and last["before"] == {"owner": REP} and last["after"] == {"owner": None}


def test_w15_release_other_reps_lead_needs_manager(svc):
    lead = owned(svc)
    with pytest.raises(Refused, match="only a manager"):
        svc.release(lead["id"], NEWBIE)
    with pytest.raises(PinRequired):
        svc.release(lead["id"], MANAGER)
    svc.release(lead["id"], MANAGER, PIN)
    assert svc.lead(lead["id"])["owner"] is None


def test_w15_release_pool_lead_is_a_no_op(svc):
    lead = add_lead(svc)
    assert "already in the pool" in svc.release(lead["id"], REP).message


# --- W16 Assign To ------------------------------------------------------------------------------


def test_w16_rep_assigns_pool_lead_to_anyone(svc):
    lead = add_lead(svc)
    svc.assign(lead["id"], NEWBIE, REP)
    assert svc.lead(lead["id"])["owner"] == NEWBIE
    data = events(svc, lead["id"])[-1]["data"]
    assert data == {"from": None, "to": NEWBIE}


def test_w16_rep_assigns_own_lead(svc):
    lead = owned(svc)
    svc.assign(lead["id"], NEWBIE, REP)
    assert svc.lead(lead["id"])["owner"] == NEWBIE


def test_w16_rep_cannot_take_another_reps_lead(svc):
    lead = owned(svc, NEWBIE)
    with pytest.raises(Refused, match="only a manager"):
        svc.assign(lead["id"], REP, REP)
    assert svc.lead(lead["id"])["owner"] == NEWBIE


def test_w16_manager_takes_another_reps_lead_with_pin(svc):
    lead = owned(svc, NEWBIE)
    with pytest.raises(PinRequired):
        svc.assign(lead["id"], REP, MANAGER)
    with pytest.raises(Refused, match="wrong PIN"):
        svc.assign(lead["id"], REP, MANAGER, "1111")
    svc.assign(lead["id"], REP, MANAGER, PIN)
    assert svc.lead(lead["id"])["owner"] == REP


def test_w16_assign_only_to_active_rep(svc):
    lead = add_lead(svc)
    svc.db.conn.execute("UPDATE reps SET active = 0 WHERE name = ?", (NEWBIE,))
    with pytest.raises(Refused, match="not active"):
        svc.assign(lead["id"], NEWBIE, REP)
    with pytest.raises(LeadtuiError, match="no rep named"):
        svc.assign(lead["id"], "ghost", REP)
    assert [r["name"] for r in svc.reps() if r["active"]] == [REP, MANAGER]


# --- W17 Clear SMS ------------------------------------------------------------------------------


def test_w17_reply_matched_to_lead_by_phone(svc, clock):
    lead = add_lead(svc, phones=2)
    reply_id = svc.add_reply("305.555.0102", "call me tomorrow", clock.now())
    [reply] = svc.replies()
    assert (reply["id"], reply["lead_id"], reply["from_number"]) == (reply_id, lead["id"], "+13055550102")


def test_w17_unmatched_reply_listed_without_lead(svc, clock):
    svc.add_reply("(305) 555-0199", "who is this", clock.now())
    assert [r["lead_id"] for r in svc.replies()] == [None]


def test_w17_same_reply_stored_once(svc, clock):
    add_lead(svc)
    assert svc.add_reply("(305) 555-0101", "yes", clock.now()) is not None
    assert svc.add_reply("(305) 555-0101", "yes", clock.now()) is None
    assert len(svc.replies()) == 1


def test_w17_clear_removes_reply_and_records_who_and_when(svc, clock):
    lead = add_lead(svc)
    keep = svc.add_reply("(305) 555-0101", "stop", clock.now())
    done = svc.add_reply("(305) 555-0101", "interested", clock.now() + timedelta(minutes=1))
    clock.advance(minutes=5)
    svc.clear_reply(done, REP)
    assert [r["id"] for r in svc.replies()] == [keep]
    [(by, at)] = sql(svc, "SELECT cleared_by, cleared_at FROM replies WHERE id = ?", done)
    assert (by, at) == (REP, utc(clock.now()))
    last = events(svc, lead["id"])[-1]
    assert last["kind"] == "sms_cleared" and last["rep"] == REP and last["data"]["reply"] == done


def test_w17_clear_twice_refused(svc, clock):
    add_lead(svc)
    reply_id = svc.add_reply("(305) 555-0101", "ok", clock.now())
    svc.clear_reply(reply_id, REP)
    with pytest.raises(Refused, match="already cleared by alice"):
        svc.clear_reply(reply_id, NEWBIE)


# --- W18 General Follow-Up ----------------------------------------------------------------------


def test_w18_six_months_calls_back_in_three_calendar_months(svc):
    lead = owned(svc)
    out = svc.followup(lead["id"], REP, "6 months")
    got = svc.lead(lead["id"])
    assert got["next_call_at"] == utc(datetime(2027, 2, 23, 15, 0, tzinfo=NY))  # not +90 days (Feb 21)
    assert got["followup_requested_at"] == utc(datetime(2027, 5, 23, 15, 0, tzinfo=NY))
    assert "2027-02-23" in out.message and "2027-05-23" in out.message


@pytest.mark.parametrize(
    "asked, requested, scheduled",
    [
        ("3 weeks", "2026-12-14", "2026-12-03"),
        ("90 days", "2027-02-21", "2027-01-07"),
        ("in 2 months", "2027-01-23", "2026-12-23"),
        ("2027-01-22", "2027-01-22", "2026-12-23"),
    ],
)
def test_w18_other_forms_show_both_dates(svc, asked, requested, scheduled):
    lead = owned(svc)
    out = svc.followup(lead["id"], REP, asked)
    assert requested in out.message and scheduled in out.message
    assert svc.lead(lead["id"])["next_call_at"].startswith(scheduled)


def test_w18_calendar_correct_month_end(svc, clock):
    clock.set(datetime(2026, 8, 31, 12, 0, tzinfo=NY))
    lead = owned(svc)
    svc.followup(lead["id"], REP, "6 months")
    assert svc.lead(lead["id"])["next_call_at"] == utc(datetime(2026, 11, 30, 12, 0, tzinfo=NY))


def test_w18_lead_stays_with_rep(svc):
    lead, pool = owned(svc), add_lead(svc)
    svc.followup(lead["id"], REP, "6 months")
    svc.followup(pool["id"], REP, "6 months")
    assert svc.lead(lead["id"])["owner"] == REP and svc.lead(pool["id"])["owner"] == REP
    assert svc.lead(lead["id"])["status"] == "new"


def test_w18_followup_on_another_reps_lead_refused(svc):
    lead = owned(svc, NEWBIE)
    with pytest.raises(Refused, match="held by newbie"):
        svc.followup(lead["id"], REP, "6 months")


def test_w18_unreadable_request_refused(svc):
    lead = owned(svc)
    with pytest.raises(LeadtuiError, match="can't read follow-up"):
        svc.followup(lead["id"], REP, "whenever")
    assert svc.lead(lead["id"])["next_call_at"] is None


# --- W19 Undo -----------------------------------------------------------------------------------


def test_w19_undo_restores_status_and_owner(svc, clock):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP, amount=100000)
    clock.advance(minutes=9)
    out = svc.undo(lead["id"], REP)
    assert "undid Offer Made" in out.message
    got = svc.lead(lead["id"])
    assert (got["status"], got["owner"], got["offer_amount"]) == ("new", None, None)


def test_w19_undo_restores_hold(svc):
    lead = owned(svc)
    svc.set_status(lead["id"], "offer-rejected", REP)
    held = svc.lead(lead["id"])["hold_until"]
    svc.set_status(lead["id"], "not-contacted", REP)
    svc.undo(lead["id"], REP)
    got = svc.lead(lead["id"])
    assert (got["status"], got["hold_until"], got["dial_run"]) == ("offer-rejected", held, 0)


def test_w19_undo_restores_next_call_and_dial_run(svc):
    lead = add_lead(svc, phones=1)
    no_answer(svc, lead["id"], 3)
    assert svc.lead(lead["id"])["next_call_at"] is not None
    svc.undo(lead["id"], REP)
    got = svc.lead(lead["id"])
    assert (got["next_call_at"], got["dial_run"], got["current_phone"]) == (None, 2, 1)


def test_w19_undo_restores_wrong_number_counters(svc):
    lead = add_lead(svc, phones=1)
    wrong(svc, lead["id"], 2)
    svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["phones"][0]["wrong_reports"] == 1


def test_w19_undo_revives_a_lead_killed_by_wrong_number(svc):
    lead = owned(svc, phones=1)
    wrong(svc, lead["id"], 3)
    svc.undo(lead["id"], REP)
    got = svc.lead(lead["id"])
    assert (got["status"], got["dead"], got["owner"]) == ("new", False, REP)
    assert (got["phones"][0]["bad"], got["phones"][0]["wrong_reports"]) == (False, 2)


def test_w19_undo_removes_kpi_credit(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "not-contacted", REP)
    svc.set_status(lead["id"], "offer-made", REP)
    svc.undo(lead["id"], REP)
    got = kpi(svc, REP)
    assert (got["dials"], got["contacts"], got["offers"]) == (1, 0, 0)


def test_w19_undo_cancels_pending_actions(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    out = svc.undo(lead["id"], REP)
    assert out.warnings == []
    assert actions(svc, lead["id"]) == [("text_underwriter", "cancelled")]


def test_w19_undo_warns_when_action_already_went(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.db.conn.execute("UPDATE outbox SET state = 'sent' WHERE lead_id = ?", (lead["id"],))
    out = svc.undo(lead["id"], REP)
    assert len(out.warnings) == 1 and "text_underwriter already went out" in out.warnings[0]
    assert actions(svc, lead["id"]) == [("text_underwriter", "sent")]
    assert svc.lead(lead["id"])["status"] == "new"


def test_w19_undo_refused_after_ten_minutes(svc, clock):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP)
    clock.advance(minutes=10, seconds=1)
    with pytest.raises(Refused, match="10 minutes"):
        svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["status"] == "offer-made"


def test_w19_undo_refused_when_another_rep_changed_lead(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "not-contacted", REP)
    svc.set_status(lead["id"], "not-contacted", NEWBIE)
    with pytest.raises(Refused, match=r"changed since.*newbie"):
        svc.undo(lead["id"], REP)


def test_w19_undo_refused_after_manager_reassigned(svc):
    lead = owned(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.assign(lead["id"], NEWBIE, MANAGER, PIN)
    with pytest.raises(Refused, match="changed since"):
        svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["owner"] == NEWBIE


def test_w19_undo_only_your_own_action(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP)
    with pytest.raises(Refused, match="nothing of yours"):
        svc.undo(lead["id"], NEWBIE)


def test_w19_undo_is_an_event(svc):
    lead = add_lead(svc)
    target = svc.set_status(lead["id"], "offer-made", REP).event_id
    out = svc.undo(lead["id"], REP)
    timeline = events(svc, lead["id"])
    undo = timeline[-1]
    assert (undo["id"], undo["kind"], undo["rep"], undo["undoes"]) == (out.event_id, "undo", REP, target)
    assert undo["after"]["status"] == "new" and undo["before"]["status"] == "offer-made"
    assert next(e for e in timeline if e["id"] == target)["undone"] is True


def test_w19_undo_twice_walks_back(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.set_status(lead["id"], "offer-made", REP)
    svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["status"] == "needs-offer"
    svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["status"] == "new"
    with pytest.raises(Refused):
        svc.undo(lead["id"], REP)


def test_w19_undo_claim_and_followup(svc):
    lead = add_lead(svc)
    svc.claim(lead["id"], REP)
    svc.followup(lead["id"], REP, "6 months")
    svc.undo(lead["id"], REP)
    got = svc.lead(lead["id"])
    assert (got["next_call_at"], got["followup_requested_at"], got["owner"]) == (None, None, REP)
    svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["owner"] is None


def test_w19_undo_cancels_pending_approval(svc):
    lead = owned(svc, NEWBIE)
    approval = kill(svc, lead["id"], NEWBIE).approval_id
    svc.undo(lead["id"], NEWBIE)
    assert svc.approvals(MANAGER) == []
    with pytest.raises(Refused, match="cancelled"):
        svc.approve(approval, MANAGER, PIN)


# --- W20 KPIs -----------------------------------------------------------------------------------


def test_w20_kpis_per_rep_per_day(svc, clock):
    a, b = add_lead(svc), add_lead(svc)
    no_answer(svc, a["id"], 2)
    svc.set_status(a["id"], "needs-offer", REP)
    svc.set_status(a["id"], "appointment-booked", REP, at="2026-11-25T10:00")
    svc.set_status(a["id"], "offer-made", REP)
    svc.set_status(a["id"], "send-contract", REP)
    svc.set_status(a["id"], "under-contract", REP)
    no_answer(svc, b["id"], 1, rep=NEWBIE)
    clock.advance(days=1)
    no_answer(svc, b["id"], 1, rep=NEWBIE)
    assert svc.kpis() == [
        {
            "rep": REP,
            "day": "2026-11-23",
            "dials": 5,
            "contacts": 3,
            "appointments": 1,
            "offers": 1,
            "contracts": 1,
            "under_contract": 1,
            "calls": 2,  # D2: the two Not Contacted, reported on a floor that dials by hand
            "connects": 0,
            "talk_seconds": 0,
            "contact_rate": 0.6,  # issue 16: contacts per dial
        },
        {
            "rep": NEWBIE,
            "day": "2026-11-23",
            "dials": 1,
            "contacts": 0,
            "appointments": 0,
            "offers": 0,
            "contracts": 0,
            "under_contract": 0,
            "calls": 1,
            "connects": 0,
            "talk_seconds": 0,
            "contact_rate": 0.0,
        },
        {
            "rep": NEWBIE,
            "day": "2026-11-24",
            "dials": 1,
            "contacts": 0,
            "appointments": 0,
            "offers": 0,
            "contracts": 0,
            "under_contract": 0,
            "calls": 1,
            "connects": 0,
            "talk_seconds": 0,
            "contact_rate": 0.0,
        },
    ]
    assert [(r["rep"], r["day"]) for r in svc.kpis(day="2026-11-24")] == [(NEWBIE, "2026-11-24")]
    assert [(r["rep"], r["day"]) for r in svc.kpis(rep=REP)] == [(REP, "2026-11-23")]


def test_w20_kpi_day_is_the_local_day(svc, clock):
    lead = add_lead(svc)
    clock.set(datetime(2026, 11, 23, 20, 30, tzinfo=NY))  # already 01:30 on the 24th in UTC
    no_answer(svc, lead["id"])
    assert [r["day"] for r in svc.kpis(rep=REP)] == ["2026-11-23"]


# --- events are append-only ---------------------------------------------------------------------


def test_events_are_append_only(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "offer-made", REP)
    with pytest.raises(REFUSED, match="append-only"):
        svc.db.conn.execute("UPDATE events SET rep = 'mallory' WHERE lead_id = ?", (lead["id"],))
    with pytest.raises(REFUSED, match="append-only"):
        svc.db.conn.execute("DELETE FROM events WHERE lead_id = ?", (lead["id"],))
    assert {e["rep"] for e in events(svc, lead["id"])} == {None, REP}
