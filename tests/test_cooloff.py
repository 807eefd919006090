"""Cool-off (issue 16): a status with `cooloff_days` (built in: Not Interested and Listed With Agent,
30 days) keeps the lead it releases out of every queue that long; the excluded list says
"cooling off until ...". The rule is core.cooloff's, checked pure, then through the Service, the
CLI and the screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import NEWBIE, REP, START, add_lead, run_cli
from ui_floor import build_floor, isolate, press, settings

from leadtui.core.cooloff import cooling_text, cooling_until, cooloff_end
from leadtui.core.playbook import load, parse
from leadtui.core.rules import Actor, decide_status, why_not_now
from leadtui.errors import LeadtuiError
from leadtui.service import Service
from leadtui.ui.app import Leadtui

pytestmark = pytest.mark.engines

WHOLESALE = load("wholesale")
ALICE = Actor(REP, False, START.date() - timedelta(days=400))
UNTIL = "cooling off until Wed Dec 23 15:00"  # START + 30 days, in the lead's time (Miami)


def row(**fields) -> dict:
    """A lead as the store reads it, with one good Miami phone."""
    return {
        "id": 1,
        "owner": REP,
        "hold_until": None,
        "cooloff_until": None,
        "callback": None,
        "next_call_at": None,
        "dead": 0,
        "status": "needs-offer",
        "state": "FL",
        "cur_phone": 1,
        "dial_run": 0,
        **fields,
    }


PHONES = [
    {"id": 1, "position": 1, "bad": 0, "dnc": 0, "litigator": 0, "tz": "America/New_York", "wrong_reports": 0}
]


# --- the rule, pure ------------------------------------------------------------------------------


def test_cooloff_built_in_statuses_release_for_30_days():
    days = {s.id: s.cooloff_days for s in WHOLESALE.statuses if s.cooloff_days}
    assert days == {"not-interested": 30, "listed-with-agent": 30}
    for status in days:
        d = decide_status(WHOLESALE.status(status), row(), PHONES, ALICE, START)
        assert d.fields["owner"] is None and d.fields["cooloff_until"] == START + timedelta(days=30)
    held = decide_status(WHOLESALE.status("offer-rejected"), row(), PHONES, ALICE, START)
    assert "cooloff_until" not in held.fields  # a hold is no cool-off


def test_cooloff_a_pool_lead_set_not_interested_cools_off_too():
    d = decide_status(WHOLESALE.status("not-interested"), row(owner=None), PHONES, ALICE, START)
    assert "owner" not in d.fields and d.fields["cooloff_until"] == cooloff_end(
        WHOLESALE.status("not-interested"), START
    )


def test_cooloff_any_new_status_ends_it():
    cooling = row(owner=None, cooloff_until="2026-12-23T20:00:00+00:00")
    d = decide_status(WHOLESALE.status("needs-offer"), cooling, PHONES, ALICE, START)
    assert d.fields["cooloff_until"] is None and d.fields["owner"] == REP


def test_cooloff_why_not_now_says_until_when_in_the_leads_time():
    cooling = row(owner=None, cooloff_until="2026-12-23T20:00:00+00:00")
    assert why_not_now(cooling, PHONES, START, _rules(), lambda _id: 0) == UNTIL
    after = START + timedelta(days=31)
    assert cooling_until(cooling["cooloff_until"], after) is None
    assert why_not_now(cooling, PHONES, after.replace(hour=15), _rules(), lambda _id: 0) is None
    assert cooling_text(START, None).startswith("cooling off until Mon Nov 23")


def _rules():
    from leadtui.core.calling import CallingRules

    return CallingRules()


def test_cooloff_days_only_on_a_status_that_releases():
    text = WHOLESALE.source.replace(
        'ownership = "hold"\nhold_days = 7\n', 'ownership = "hold"\nhold_days = 7\ncooloff_days = 30\n'
    )
    with pytest.raises(
        LeadtuiError, match=r"mine\.toml:\d+: field 'status\[8\]\.cooloff_days': only a status releasing"
    ):
        parse(text, "mine.toml")
    bad = WHOLESALE.source.replace("cooloff_days = 30", "cooloff_days = 0", 1)
    with pytest.raises(LeadtuiError, match="cooloff_days': must be at least 1"):
        parse(bad, "mine.toml")


# --- through the Service --------------------------------------------------------------------------


def queued(svc: Service, rep: str) -> list[int]:
    """Every lead of the rep's queue, page after page."""
    out, cursor = [], ("due", 0)
    while cursor is not None:
        rows, cursor = svc.queue(rep, cursor)
        out += [r["id"] for r in rows]
    return out


def test_cooloff_not_interested_keeps_the_lead_out_of_every_queue_for_30_days(make_service, clock):
    svc = make_service()
    lead = add_lead(svc)["id"]
    other = add_lead(svc)["id"]
    svc.claim(lead, REP)
    svc.set_status(lead, "not-interested", REP)
    assert svc.lead(lead)["owner"] is None and svc.lead(lead)["cooloff_until"] == "2026-12-23T20:00:00+00:00"
    for rep in (REP, NEWBIE):  # nobody's queue: not the rep who released it, not anyone else's
        assert lead not in queued(svc, rep) and other in queued(svc, rep)
    left = {r["id"]: r["why"] for r in svc.left_out(NEWBIE)}
    assert left[lead] == UNTIL
    assert svc.why_not(lead) == UNTIL
    svc.claim(lead, NEWBIE)  # taken by hand from a search: still out of the queue until then
    assert lead not in queued(svc, NEWBIE)
    clock.advance(days=30)
    assert lead in queued(svc, NEWBIE)
    assert svc.why_not(lead) is None


def test_cooloff_a_followup_or_a_new_status_ends_it_and_undo_brings_it_back(make_service, clock):
    svc = make_service()
    lead = add_lead(svc)["id"]
    svc.set_status(lead, "listed-with-agent", REP)
    assert svc.lead(lead)["cooloff_until"] is not None
    svc.undo(lead, REP)  # W19: the cool-off goes with the status it came with
    assert svc.lead(lead)["cooloff_until"] is None
    svc.set_status(lead, "not-interested", REP)
    svc.followup(lead, REP, "3 weeks")  # the owner asked for a call: that call is what counts
    got = svc.lead(lead)
    assert got["cooloff_until"] is None and got["owner"] == REP
    other = add_lead(svc)["id"]
    svc.set_status(other, "not-interested", REP)
    clock.advance(minutes=11)
    svc.set_status(other, "needs-offer", REP)  # called anyway, found a deal: back in play
    assert svc.lead(other)["cooloff_until"] is None and other in queued(svc, REP)


def test_cooloff_cli_show_says_until_when(cli_env):
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    run_cli(
        "add", "--owner", "Jo Cool", "--address", "1 Main St", "--state", "FL", "--phone", "(305) 555-0101"
    )
    run_cli("set", "1", "not-interested", "--rep", REP)
    shown = run_cli("show", "1").stdout
    assert "cool-off  2026-12-23T20:00:00+00:00" in shown


# --- the screen ----------------------------------------------------------------------------------


async def test_cooloff_excluded_list_says_cooling_off_until(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    ids = build_floor(path)
    svc = Service.open(path)
    svc.set_status(ids["pool"], "not-interested", REP)
    svc.close()
    app = Leadtui(path, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        await press(pilot)
        screen = app.floor
        assert ids["pool"] not in [r["id"] for r in screen.list.rows]
        await press(pilot, "e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = screen.list.rows
        at = [r["id"] for r in rows].index(ids["pool"])
        assert rows[at]["why"] == UNTIL
        screen.list.move_to(at)
        await press(pilot)
        line = "".join(s.text for s in screen.list.render_line(at - screen.list.scroll_offset.y))
        assert UNTIL in line
        assert f"Can't call now: {UNTIL}" in str(screen.query_one("#panel").render())
