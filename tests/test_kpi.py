"""W20, KPIs a manager trusts (issue 16): the floor's day ([floor] timezone), a press credited once
per lead per status per day (and its action queued once), contacts only for a conversation with the
owner, the figures per rep per day and per hour, the leaderboard and the 14-day chart. Core's rules
without a database first, then through the Service and the CLI on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import MANAGER, NEWBIE, NY, PIN, REP, add_lead, add_reps, run_cli

from leadtui import config
from leadtui.core import kpi
from leadtui.core.rules import Decision
from leadtui.errors import LeadtuiError
from leadtui.service import Service, init_database
from leadtui.store import db as db_module
from leadtui.store.db import connect
from leadtui.store.schema import MIGRATIONS

pytestmark = pytest.mark.engines

# --- core: the rules, no database ------------------------------------------------------------------


def event(kind: str, status: str | None = None, data: dict | None = None) -> dict:
    return {"kind": kind, "status": status, "data": json.dumps(data) if data else None}


def offer_made() -> Decision:
    return Decision(
        status="offer-made", kpi=("dials", "contacts", "offers"), press="offer-made", message="set"
    )


def test_w20_repeated_presses_core_a_repeat_credits_and_queues_nothing():
    first = kpi.once_a_day(offer_made(), lambda: [event("status", "needs-offer")])
    assert (first.kpi, first.data) == (("dials", "contacts", "offers"), {})
    needs = Decision(status="needs-offer", kpi=("dials", "contacts"), actions=("text_underwriter",))
    needs.press = "needs-offer"
    again = kpi.once_a_day(needs, lambda: [event("status", "needs-offer")])
    assert (again.kpi, again.actions, again.data) == ((), (), {"repeat": True})
    assert again.message == (
        "already pressed on this lead today: no new KPI credit, text_underwriter not queued again (W20)"
    )


def test_w20_repeated_presses_core_a_dial_attempt_counts_every_time_and_reads_nothing():
    dial = Decision(status="not-contacted", kpi=("dials",), dial=True, press="not-contacted")

    def earlier():
        raise AssertionError("a dial attempt needs no look at the day's presses")

    assert kpi.once_a_day(dial, earlier).kpi == ("dials",)


def test_w20_repeated_presses_core_what_an_event_was_the_press_of():
    assert kpi.press_of(event("status", "offer-made")) == "offer-made"
    assert kpi.press_of(event("wrong_report", None, {"press": "wrong-number"})) == "wrong-number"
    assert kpi.press_of(event("wrong_report")) is None  # a report made before the rule: no key kept
    assert kpi.press_of(event("followup")) == kpi.FOLLOWUP
    assert kpi.press_of(event("claim")) is None


def test_w20_contact_rate_is_contacts_per_dial():
    assert kpi.contact_rate(3, 12) == 0.25
    assert kpi.contact_rate(1, 3) == 0.333
    assert kpi.contact_rate(0, 0) is None


@pytest.mark.parametrize(
    ("zone", "quarter", "hour"),
    [
        ("America/New_York", "2026-11-24T01:45", 20),  # 20:45 Eastern, the day before in New York
        ("America/New_York", "2026-07-01T00:15", 20),  # summer time: UTC-4
        ("Asia/Kolkata", "2026-11-23T14:15", 19),  # +05:30: 19:45
        ("Asia/Kolkata", "2026-11-23T14:30", 20),  # 20:00
        ("Asia/Kathmandu", "2026-11-23T14:00", 19),  # +05:45: 19:45
    ],
)
def test_w20_local_hour_of_a_quarter_hour(zone, quarter, hour):
    assert kpi.local_hour(quarter, ZoneInfo(zone), {}) == hour


def test_w20_leaderboard_ranks_deepest_stage_first_ties_share_a_place_everyone_listed():
    day = "2026-11-23"
    rows = [
        kpi.total([], rep="ann", day=day) | {"dials": 40, "contacts": 9, "offers": 1},
        kpi.total([], rep="bo", day=day) | {"dials": 90, "contacts": 20},
        kpi.total([], rep="cy", day=day) | {"dials": 10, "contacts": 2, "offers": 1, "contracts": 1},
        kpi.total([], rep="di", day=day) | {"dials": 90, "contacts": 20},
        kpi.total([], rep="ed", day="2026-11-22") | {"dials": 5},  # another day: not on today's board
    ]
    board = kpi.leaderboard(rows, ["ann", "bo", "cy", "di", "ed", "Fay"], day)
    assert [(r["rank"], r["rep"]) for r in board] == [
        (1, "cy"),
        (2, "ann"),
        (3, "bo"),
        (3, "di"),
        (5, "ed"),
        (5, "Fay"),
    ]
    assert board[-1]["dials"] == 0 and board[-1]["contact_rate"] is None


def test_w20_series_fills_every_day_and_sums_the_reps():
    days = kpi.last_days(date(2026, 11, 23), 14)
    assert (days[0], days[-1], len(days)) == ("2026-11-10", "2026-11-23", 14)
    rows = [
        kpi.total([], rep="ann", day="2026-11-23") | {"dials": 4, "contacts": 1},
        kpi.total([], rep="bo", day="2026-11-23") | {"dials": 6, "contacts": 4},
        kpi.total([], rep="bo", day="2026-11-09") | {"dials": 99},  # before the 14 days
    ]
    out = kpi.series(rows, days)
    assert [d["dials"] for d in out] == [0] * 13 + [10]
    assert out[-1]["contact_rate"] == 0.5 and out[0]["contact_rate"] is None


# --- the floor's day: [floor] timezone ----------------------------------------------------------------

LATE = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)  # 20:55 Eastern on the 23rd, as a UTC host tells it


def test_w20_floor_timezone_a_dial_at_2055_eastern_on_a_utc_host_counts_today(make_service, clock):
    svc = make_service(zone=NY)
    lead = add_lead(svc)
    clock.set(LATE)
    svc.set_status(lead["id"], "not-contacted", REP)
    assert svc.today() == date(2026, 11, 23)
    (row,) = svc.kpis(day=svc.now().date().isoformat(), rep=REP)  # the panel's "Today" line reads this
    assert (row["day"], row["dials"]) == ("2026-11-23", 1)
    (hourly,) = svc.kpis(rep=REP, by="hour")
    assert (hourly["day"], hourly["hour"]) == ("2026-11-23", 20)
    board = svc.board()
    assert board["day"] == "2026-11-23" and board["floor"]["dials"] == 1
    assert svc.chart()["days"][-1] == kpi.total([row], day="2026-11-23")


def test_w20_floor_timezone_utc_floor_counts_it_tomorrow(make_service, clock):
    svc = make_service(zone=ZoneInfo("UTC"))
    lead = add_lead(svc)
    clock.set(LATE)
    svc.set_status(lead["id"], "not-contacted", REP)
    assert [(r["day"], r["dials"]) for r in svc.kpis(rep=REP)] == [("2026-11-24", 1)]


def test_w20_floor_timezone_sets_todays_appointments_in_the_queue(make_service, clock):
    svc = make_service(zone=NY)
    lead = add_lead(svc)
    svc.claim(lead["id"], REP)
    svc.set_status(lead["id"], "appointment-booked", REP, at="2026-11-23T18:30")  # 23:30 UTC
    clock.set(LATE)  # 20:55 in New York, 01:55 on the 24th in UTC
    assert [(x["id"], x["queue"]) for x in svc.queue(REP)[0]] == [(lead["id"], "due")]  # today's
    utc_station = make_service(zone=ZoneInfo("UTC"))
    assert utc_station.queue(REP)[0] == []  # a UTC floor's day began at 19:00 New York: yesterday's
    assert svc.agenda(REP) == []  # the agenda lists what is still ahead


def test_w20_floor_timezone_config_is_an_iana_name_checked_at_load(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[floor]\ntimezone = "America/New_York"\n')
    assert config.load(str(path)).floor["timezone"] == "America/New_York"
    for bad in ('"Eastern"', '"America"', '"../etc/passwd"', '""', "5"):
        path.write_text(f"[floor]\ntimezone = {bad}\n")
        with pytest.raises(LeadtuiError, match=r"floor\.timezone must be an IANA time zone name"):
            config.load(str(path))


def test_w20_floor_timezone_cli_report_on_a_utc_host(cli_env, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # the host's zone
    monkeypatch.setenv("LEADTUI_NOW", LATE.isoformat())
    conf = cli_env / "config" / "config.toml"

    def dial_late(db: str, floor_zone: str | None) -> list[dict]:
        monkeypatch.setenv("LEADTUI_DB", str(cli_env / db))
        conf.parent.mkdir(exist_ok=True)
        conf.write_text(f'[floor]\ntimezone = "{floor_zone}"\n' if floor_zone else "")
        run_cli("init", "--test-clock")
        run_cli("reps", "add", REP, "--started", "2025-01-01")
        run_cli("add", "--owner", "Late", "--address", "1 Late St", "--state", "FL", "--phone", "3055550101")
        run_cli("set", "1", "not-contacted", "--rep", REP)
        return json.loads(run_cli("report", "kpi", "--by", "hour", "--json").stdout)

    (eastern,) = dial_late("eastern.db", "America/New_York")
    assert (eastern["day"], eastern["hour"], eastern["dials"]) == ("2026-11-23", 20, 1)
    (system,) = dial_late("system.db", None)  # no [floor] timezone: the system's, UTC here
    assert (system["day"], system["hour"]) == ("2026-11-24", 1)
    conf.write_text('[floor]\ntimezone = "Mars/Olympus"\n')
    result = run_cli("report", "kpi", code=2)
    assert "floor.timezone must be an IANA time zone name" in result.stderr


# --- W20 credit rules through the Service --------------------------------------------------------------


@pytest.fixture
def svc(make_service) -> Service:
    return make_service()


def today(svc: Service, rep: str = REP) -> dict:
    rows = svc.kpis(day=svc.today().isoformat(), rep=rep)
    return rows[0] if rows else {}


def test_w20_repeated_presses_credit_an_offer_once_a_day(svc, clock):
    lead = add_lead(svc)
    for _ in range(5):
        out = svc.set_status(lead["id"], "offer-made", REP)
    assert "already pressed on this lead today: no new KPI credit (W20)" in out.message
    got = today(svc)
    assert (got["dials"], got["contacts"], got["offers"]) == (1, 1, 1)
    events = svc.lead(lead["id"], events=True)["events"]
    assert [e.get("kpi") for e in events if e["kind"] == "status"] == [["dials", "contacts", "offers"]] + [
        None
    ] * 4
    clock.advance(days=1)
    svc.set_status(lead["id"], "offer-made", REP)  # a new floor day: credited again
    assert today(svc)["offers"] == 1


def test_w20_repeated_presses_queue_a_green_keys_action_once(svc):
    lead = add_lead(svc)
    for _ in range(3):
        out = svc.set_status(lead["id"], "needs-offer", REP)
    assert "text_underwriter not queued again" in out.message
    assert [a["action"] for a in svc.outbox(lead_id=lead["id"])] == ["text_underwriter"]
    svc.set_status(lead["id"], "appointment-booked", REP, at="2026-11-25T10:00")  # another status: its own
    assert [a["action"] for a in svc.outbox(lead_id=lead["id"])] == ["text_underwriter", "appointment_booked"]
    assert (today(svc)["contacts"], today(svc)["appointments"]) == (2, 1)


def test_w20_repeated_presses_after_an_undo_credit_again(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.undo(lead["id"], REP)  # the credit and the text go
    assert today(svc) == {}
    svc.set_status(lead["id"], "needs-offer", REP)
    assert today(svc)["contacts"] == 1
    assert [(a["action"], a["state"]) for a in svc.outbox(lead_id=lead["id"])] == [
        ("text_underwriter", "cancelled"),
        ("text_underwriter", "pending"),
    ]


def test_w20_repeated_presses_are_each_reps_own(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "not-interested", REP)  # back to the pool, where another rep calls it
    svc.set_status(lead["id"], "not-interested", NEWBIE)
    assert today(svc)["contacts"] == 1 and today(svc, NEWBIE)["contacts"] == 1


def test_w20_not_contacted_counts_every_dial_and_no_contact(svc):
    lead = add_lead(svc)
    for _ in range(3):
        svc.set_status(lead["id"], "not-contacted", REP)
    got = today(svc)
    assert (got["dials"], got["contacts"], got["contact_rate"]) == (3, 0, 0.0)


def test_w20_wrong_number_is_not_a_contact(svc):
    lead = add_lead(svc, phones=2)
    for _ in range(6):  # three reports on each phone: both bad, the lead dies as Wrong Number
        svc.set_status(lead["id"], "wrong-number", REP)
    assert svc.lead(lead["id"])["status"] == "wrong-number"
    got = today(svc)
    assert (got["dials"], got["contacts"]) == (1, 0)  # one lead, one key, one day: one dial


def test_w20_already_sold_is_not_a_contact(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "already-sold", REP, source="propstream", confirm=True)
    got = today(svc)
    assert (got["dials"], got["contacts"]) == (1, 0)


def test_w20_a_followup_is_a_contact_once_a_day(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "not-contacted", REP)
    svc.followup(lead["id"], REP, "6 months")
    svc.followup(lead["id"], REP, "3 months")  # the owner changed their mind in the same call
    got = today(svc)
    assert (got["dials"], got["contacts"], got["contact_rate"]) == (2, 1, 0.5)
    svc.undo(lead["id"], REP)  # undoes the second: the first still stands
    assert today(svc)["contacts"] == 1


def test_w20_an_approved_request_is_credited_to_the_rep_who_asked(svc):
    lead = add_lead(svc)
    svc.claim(lead["id"], NEWBIE)
    out = svc.set_status(lead["id"], "dead-deal", NEWBIE)
    assert today(svc, NEWBIE) == {}  # a request credits nothing
    svc.approve(out.approval_id, MANAGER, PIN)
    got = today(svc, NEWBIE)
    assert (got["dials"], got["contacts"]) == (1, 1) and today(svc, MANAGER) == {}


# --- the figures: per hour, the board, the chart ------------------------------------------------------


def test_w20_kpis_per_rep_per_hour_and_the_call_logs(svc, clock):
    a, b = add_lead(svc), add_lead(svc)
    clock.set(datetime(2026, 11, 23, 9, 10, tzinfo=NY))
    svc.set_status(a["id"], "not-contacted", REP)
    clock.set(datetime(2026, 11, 23, 9, 50, tzinfo=NY))
    svc.set_status(a["id"], "needs-offer", REP)
    clock.set(datetime(2026, 11, 23, 14, 5, tzinfo=NY))
    svc.set_status(b["id"], "not-contacted", NEWBIE)
    rows = svc.kpis(by="hour")
    assert [(r["rep"], r["hour"], r["dials"], r["contacts"], r["calls"]) for r in rows] == [
        (REP, 9, 2, 1, 1),  # the Needs Offer had no call of its own: one reported call, the no-answer
        (NEWBIE, 14, 1, 0, 1),
    ]
    assert svc.kpis(rep="ALICE", by="hour") == rows[:1]  # a rep's name matches without case
    with pytest.raises(LeadtuiError, match="no rep named 'zed'"):
        svc.kpis(rep="zed")
    with pytest.raises(LeadtuiError, match="by day or hour"):
        svc.kpis(by="week")


def test_w20_board_ranks_every_active_rep_with_their_hours(svc, clock):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "not-contacted", NEWBIE)
    clock.advance(hours=1)
    svc.set_status(lead["id"], "offer-made", NEWBIE)
    board = svc.board()
    assert [(r["rank"], r["rep"], r["offers"]) for r in board["reps"]] == [
        (1, NEWBIE, 1),
        (2, REP, 0),  # alice and boss tie at nothing yet: by name
        (2, MANAGER, 0),
    ]
    mine = board["reps"][0]
    assert [(h["hour"], h["dials"]) for h in mine["hours"]] == [(15, 1), (16, 1)]
    assert [(h["hour"], h["dials"], h["offers"]) for h in board["hours"]] == [(15, 1, 0), (16, 1, 1)]
    assert (board["floor"]["dials"], board["zone"]) == (2, "America/New_York")


def test_w20_chart_shows_the_last_14_floor_days(svc, clock):
    lead = add_lead(svc)
    for back in (20, 13, 0):
        clock.set(datetime(2026, 11, 23, 10, 0, tzinfo=NY) - timedelta(days=back))
        svc.set_status(lead["id"], "not-contacted", REP)
    clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=NY))
    chart = svc.chart()
    assert [d["day"] for d in chart["days"]][::13] == ["2026-11-10", "2026-11-23"]
    assert [d["dials"] for d in chart["days"]] == [1] + [0] * 12 + [1]
    assert svc.chart(rep=NEWBIE)["days"][-1]["dials"] == 0
    with pytest.raises(LeadtuiError, match="1 to 366 days"):
        svc.chart(days=0)


def by_day_from_the_hours(svc: Service) -> list[dict]:
    """The rep-days recounted from the events and the call log (the per-hour read), summed."""
    hours: dict[tuple[str, str], list[dict]] = {}
    for row in svc.kpis(by="hour"):
        hours.setdefault((row["rep"], row["day"]), []).append(row)
    return [
        kpi.total(hours[key], rep=key[0], day=key[1])
        for key in sorted(hours, key=lambda k: (k[0].lower(), k[1]))
    ]


def test_w20_kpi_days_match_the_events_and_the_call_log(svc, clock):
    a, b = add_lead(svc), add_lead(svc)
    svc.claim(a["id"], REP)
    placed = svc.place_call(a["id"], REP, system="baresip")
    svc.call_event(placed["id"], "answered")
    clock.advance(seconds=95)
    svc.call_event(placed["id"], "ended", reason="completed")
    svc.set_status(a["id"], "needs-offer", REP, call_id=placed["id"])
    svc.set_status(a["id"], "needs-offer", REP)  # a repeat: nothing
    svc.set_status(b["id"], "not-contacted", NEWBIE)
    svc.undo(b["id"], NEWBIE)  # the dial's credit goes, its reported call stays (D2)
    svc.set_status(b["id"], "not-contacted", NEWBIE)
    clock.advance(hours=10)  # past midnight in New York: the next floor day
    svc.followup(a["id"], REP, "3 months")
    svc.set_status(b["id"], "wrong-number", NEWBIE)
    days = svc.kpis()
    assert [
        (r["rep"], r["day"], r["dials"], r["contacts"], r["calls"], r["connects"], r["talk_seconds"])
        for r in days
    ] == [
        (REP, "2026-11-23", 1, 1, 1, 1, 95),
        (REP, "2026-11-24", 1, 1, 0, 0, 0),
        (NEWBIE, "2026-11-23", 1, 0, 2, 0, 0),
        (NEWBIE, "2026-11-24", 1, 0, 0, 0, 0),
    ]
    assert days == by_day_from_the_hours(svc)


def test_w20_kpi_days_are_filled_from_a_floor_made_before_them(tmp_path, clock, monkeypatch):
    path = tmp_path / "old.db"
    before = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE kpi_days" in m)
    with monkeypatch.context() as old:  # opening it again runs the KPI days' migration (and any later)
        old.setattr(db_module, "MIGRATIONS", MIGRATIONS[:before])
        init_database(path, "wholesale", test_clock=True)
        svc = Service(connect(path), now=clock.now, zone=NY)
        add_reps(svc, clock.now().date())
        lead = add_lead(svc)
        svc.claim(lead["id"], REP)
        placed = svc.place_call(lead["id"], REP, system="baresip")
        svc.call_event(placed["id"], "answered")
        clock.advance(seconds=42)
        svc.call_event(placed["id"], "ended", reason="completed")
        svc.set_status(lead["id"], "offer-made", REP, call_id=placed["id"])
        svc.set_status(lead["id"], "not-interested", REP)
        svc.undo(lead["id"], REP)
        assert not svc.db.conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'kpi_days'").fetchone()
        svc.close()
    svc = Service(connect(path), now=clock.now, zone=NY)
    try:
        (row,) = svc.kpis()
        assert (row["dials"], row["contacts"], row["offers"], row["calls"], row["talk_seconds"]) == (
            1,
            1,
            1,
            1,
            42,
        )
        assert svc.kpis() == by_day_from_the_hours(svc)
    finally:
        svc.close()


def test_w20_report_kpi_cli_by_hour_until_and_the_rate(cli_env):
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    run_cli("add", "--owner", "A", "--address", "1 A St", "--state", "FL", "--phone", "3055550101")
    run_cli("set", "1", "not-contacted", "--rep", REP)
    run_cli("set", "1", "not-contacted", "--rep", REP)
    run_cli("set", "1", "needs-offer", "--rep", REP)
    run_cli("set", "1", "needs-offer", "--rep", REP)  # a repeat: no credit
    (row,) = json.loads(run_cli("report", "kpi", "--json").stdout)
    assert (row["dials"], row["contacts"], row["contact_rate"]) == (3, 1, 0.333)
    (hourly,) = json.loads(run_cli("report", "kpi", "--by", "hour", "--json").stdout)
    assert (hourly["hour"], hourly["dials"]) == (15, 3)
    table = run_cli("report", "kpi").stdout.splitlines()
    assert table[0].split()[-1] == "contact_rate" and table[1].split()[-1] == "33%"
    header = run_cli("report", "kpi", "--by", "hour", "--format", "csv").stdout.splitlines()[0]
    assert header.startswith("rep,day,hour,dials,")
    assert json.loads(run_cli("report", "kpi", "--until", "2026-11-22", "--json").stdout) == []
    run_cli("report", "kpi", "--by", "week", code=2)
