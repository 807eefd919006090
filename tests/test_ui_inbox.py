"""Issue 16's inbox at the station, by keyboard (Pilot) on a real database: approvals with their lead's
context and the STALE mark, the manager's badge, a new rep's reason, the callbacks view, the
follow-up's scope, replies routed to their reps, and an anyone's callback back in the pool when due."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, START
from test_ui_floor import app_for, go_to, lead, ready
from ui_floor import build_floor, isolate, notes, press

from leadtui.service import Service
from leadtui.ui.inbox_views import Approvals, Callbacks, Replies
from leadtui.ui.views import Detail


@pytest.fixture
def new_york(monkeypatch):
    """The station's local zone is New York (the floor's zone until `[floor] timezone`): a time shown
    in it differs from UTC, so raw UTC on screen would show."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def floor(tmp_path, monkeypatch, new_york):
    path = isolate(tmp_path, monkeypatch)
    return path, build_floor(path)


def station(path, **kwargs) -> Service:
    """Another station on the same floor (the clock at START, as the app's)."""
    return Service.open(path, **kwargs)


def title(app) -> str:
    return str(app.floor.query_one("#title").render())


def table_text(screen) -> str:
    table = screen.query_one("DataTable")
    return "\n".join(" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))


async def wait_for(pilot, check, rounds: int = 100) -> None:
    """Until `check()` holds (the screen polls the database on its own clock), or give up."""
    for _ in range(rounds):
        if check():
            return
        await pilot.pause(0.1)


# --- W13: approvals with context --------------------------------------------------------------


async def test_w13_approvals_show_the_leads_context_and_a_stale_one_cant_be_approved(floor, tmp_path):
    path, ids = floor
    other = station(path)
    fresh = other.set_status(ids["pool"], "dead-deal", NEWBIE, why="estate sold last spring").approval_id
    stale = other.set_status(ids["newbies"], "dead-deal", NEWBIE).approval_id
    other.set_status(ids["newbies"], "needs-offer", NEWBIE)  # the lead moved on since the request
    other.close()
    app = app_for(floor, tmp_path, rep=MANAGER)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "m")
        view = app.screen
        assert isinstance(view, Approvals)
        rows = table_text(view)
        assert "Pat Pool" in rows and "4 Pool St" in rows and "estate sold last spring" in rows
        assert "Nell Newbie" in rows and "STALE" in rows
        context = str(view.query_one("#context").render())
        assert "newbie asks Dead Deal" in context and "Call me after 5 [b]please[/b]" in context
        assert "approval requested" in context and "14:30" in context  # the reply's time, New York's
        await press(pilot, "j")
        context = str(view.query_one("#context").render())
        assert "STALE: status needs-offer by newbie" in context and "can't be approved" in context
        await press(pilot, "y")
        assert app.screen is view and any("is stale" in n for n in notes(app))  # no PIN is even asked
        assert lead(floor, ids["newbies"])["status"] == "needs-offer"  # nothing was applied
        await press(pilot, "k", "y", *PIN, "enter")
        assert lead(floor, ids["pool"])["dead"]
        assert [r["id"] for r in Service.open(path).approvals(MANAGER)] == [stale]
        assert lead(floor, ids["pool"], events=True)["events"][-1]["data"]["approval"] == fresh


async def test_w13_a_badge_on_the_managers_title_when_a_request_arrives(floor, tmp_path):
    path, ids = floor
    app = app_for(floor, tmp_path, rep=MANAGER)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert "approval" not in title(app)
        other = station(path)
        other.set_status(ids["newbies"], "dead-deal", NEWBIE)
        other.close()
        await wait_for(pilot, lambda: "approval" in title(app))
        assert "⚑ 1 approval (m)" in title(app)
    rep_app = app_for(floor, tmp_path, rep=REP)
    async with rep_app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.pause(0.3)
        assert "approval" not in title(rep_app)  # a rep's screen has no approvals badge


async def test_w13_a_new_rep_is_asked_a_reason_for_a_request(floor, tmp_path):
    _path, ids = floor
    app = app_for(floor, tmp_path, rep=NEWBIE)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, ids["pool"])
        await press(pilot, "D", *"they said: yes I might sell? no, wrong owner", "enter")
        assert any("approval" in n for n in notes(app))
    [request] = Service.open(floor[0]).approvals(MANAGER)
    assert request["reason"] == "they said: yes I might sell? no, wrong owner"
    assert not lead(floor, ids["pool"])["dead"]


# --- callbacks -----------------------------------------------------------------------------------


async def test_callbacks_view_lists_overdue_today_upcoming_with_appointments(floor, tmp_path):
    path, ids = floor
    other = station(path)
    other.followup(ids["mine"], REP, "8 days", anyone=True)  # in 4 days
    other.set_status(ids["two_phones"], "appointment-booked", REP, at=(START + timedelta(days=2)).isoformat())
    other.close()
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert "☎ 1 due (g)" in title(app)  # Dora Due's callback is overdue
        await press(pilot, "g")
        view = app.screen
        assert isinstance(view, Callbacks)
        rows = table_text(view).splitlines()
        assert len(rows) == 3
        assert "overdue" in rows[0] and "Dora Due" in rows[0] and "call, mine" in rows[0]
        assert "appointment" in rows[1] and "Tom Two" in rows[1] and "Wed Nov 25 15:00" in rows[1]
        assert "call, anyone" in rows[2] and "Mia Mine" in rows[2] and "upcoming" in rows[2]
        assert "1 overdue · 0 today · 2 upcoming" in str(view.query_one("#view-title").render())
        await press(pilot, "j", "j", "k", "enter")
        assert isinstance(app.screen, Detail) and app.screen.lead_id == ids["two_phones"]
    boss = app_for(floor, tmp_path, rep=MANAGER)
    async with boss.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "g")
        assert len(table_text(boss.screen).splitlines()) == 3  # every rep's (alice's three)


async def test_w18_followup_dialog_mine_as_before_or_anyone_by_a_prefix(floor, tmp_path):
    _path, ids = floor
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, ids["mine"])
        await press(pilot, "f", *"3 weeks", "enter")
        got = lead(floor, ids["mine"])
        assert (got["owner"], got["callback"], got["next_call_at"][:10]) == (REP, "mine", "2026-12-03")
        await go_to(pilot, screen, ids["pool"])
        await press(pilot, "f", *"anyone 3 weeks")
        assert "anyone's: back to the pool then" in str(app.screen.query_one("#preview").render())
        await press(pilot, "enter")
        got = lead(floor, ids["pool"])
        assert (got["owner"], got["callback"]) == (REP, "anyone")


async def test_w18_an_anyone_callback_is_back_in_the_pool_when_due_for_another_rep(floor, tmp_path):
    path, ids = floor
    earlier = station(path, now=lambda: START - timedelta(days=10))
    earlier.followup(ids["mine"], REP, "2 weeks", anyone=True)  # due 3 days ago
    earlier.close()
    app = app_for(floor, tmp_path, rep=NEWBIE)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)  # the start-up sweep sent it back to the pool
        await wait_for(pilot, lambda: screen.list.rows and screen.list.rows[0]["id"] == ids["mine"])
        assert screen.list.rows[0]["id"] == ids["mine"] and screen.list.rows[0]["queue"] == "due"
        assert lead(floor, ids["mine"])["owner"] is None
        await go_to(pilot, screen, ids["mine"])
        await press(pilot, "c")
        got = lead(floor, ids["mine"])
        assert (got["owner"], got["callback"]) == (NEWBIE, "mine")


# --- W17: replies go to their reps ---------------------------------------------------------------


async def test_w17_a_rep_sees_replies_on_their_leads_and_the_pools_never_another_reps(floor, tmp_path):
    path, ids = floor
    other = station(path)
    for key, body in (("mine", "alice's lead here"), ("newbies", "newbie's lead here")):
        number = other.lead(ids[key])["phones"][0]["number"]
        other.add_reply(number, body, START - timedelta(minutes=10))
    other.close()
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "i")
        view = app.screen
        assert isinstance(view, Replies)
        rows = table_text(view)
        assert "alice's lead here" in rows and "Call me after 5" in rows
        assert "newbie's lead here" not in rows and "Nell Newbie" not in rows
        assert "Pat Pool" in rows and "4 Pool St" in rows and "Mia Mine" in rows
        assert "Mon Nov 23 14:30" in rows and "19:30" not in rows  # New York's time, not UTC
        await press(pilot, "j", "k", "enter")
        assert isinstance(app.screen, Detail) and app.screen.lead_id == ids["pool"]
        await press(pilot, "escape", "j", "x")
        assert "alice's lead here" not in table_text(view)
    boss = app_for(floor, tmp_path, rep=MANAGER)
    async with boss.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "i")
        assert "newbie's lead here" in table_text(boss.screen)
