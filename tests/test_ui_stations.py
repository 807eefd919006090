"""Two stations' screens on one floor (Pilot, one real database file): F1-F3 as reps meet them."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest
from conftest import MANAGER, PIN, REP, START, Clock
from textual import events
from ui_floor import build_floor, isolate, notes, press, settings, settle
from ui_floor import lead_at as lead

from leadtui import config
from leadtui.service import Service
from leadtui.ui.app import Leadtui
from leadtui.ui.dialogs import Ask
from leadtui.ui.floor import Floor

BOB, CAROL = "bob", "carol"


@pytest.fixture
def floor(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    ids = build_floor(path)
    svc = Service.open(path)
    svc.add_rep(BOB, acting=MANAGER, acting_pin=PIN)
    svc.add_rep(CAROL, acting=MANAGER, acting_pin=PIN)
    svc.close()
    return path, ids


async def ready(pilot) -> Floor:
    for _ in range(300):
        await pilot.pause(0.02)
        screen = pilot.app.screen
        if isinstance(screen, Floor) and screen.list.rows and screen.reserved_at:
            await settle(pilot)
            return screen
    raise AssertionError("the queue never loaded")


def burst(app, text: str) -> None:
    """Keys arriving in one write (a paste, a slow link): posted together, nothing in between."""
    names = {" ": "space", "\r": "enter"}
    for ch in text:
        app.post_message(events.Key(names.get(ch, ch), None if ch == "\r" else ch))


async def test_f2_two_stations_open_on_different_leads_f1_a_lead_taken_meanwhile_stays_marked(
    floor, tmp_path
):
    path, _ids = floor
    bob = Leadtui(path, settings(tmp_path), BOB)
    carol = Leadtui(path, settings(tmp_path), CAROL)
    async with bob.run_test(size=(120, 40)) as bp, carol.run_test(size=(120, 40)) as cp:
        b, c = await ready(bp), await ready(cp)
        await settle(bp)
        held = b.list.current["id"]
        assert c.list.current["id"] != held  # no two stations offer the same pool lead
        # bob's station hangs past its lease; a manager's script hands his lead to carol meanwhile
        later = Service.open(path, now=Clock(START + timedelta(minutes=5)).now)
        later.claim(held, CAROL)
        later.close()
        await press(bp, "7")  # Not Interested, on the lead bob sees
        assert any(f"Lead {held}" in n and f"was taken by {CAROL}" in n for n in notes(bob)), notes(bob)
        assert lead(path, held)["status"] == "new"
        bob.poll()
        await settle(bp)
        row = b.list.current
        assert row["id"] == held and row["gone"] == f"taken by {CAROL}"  # the cursor did not move
        assert f"taken by {CAROL}" in str(b.list.render_line(b.list.cursor - b.list.scroll_offset.y).text)
        before = len(notes(bob))
        await press(bp, "7")  # refused on the screen, naming the lead, until bob moves on
        assert f"Lead {held}" in notes(bob)[-1] and len(notes(bob)) == before + 1
        assert lead(path, held)["status"] == "new"
        await press(bp, "j")
        assert b.list.current["id"] != held and not b.list.current.get("gone")


async def test_f3_keys_typed_for_a_dialog_that_did_not_open_are_not_taken_as_floor_keys(floor, tmp_path):
    """`f` on a lead taken meanwhile is refused and opens no dialog: the text typed for it (`k`, a
    space, Enter) must not move the cursor and press Not Contacted on the lead above."""
    path, _ids = floor
    app = Leadtui(path, settings(tmp_path), BOB)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        screen.list.move_to(1)
        await settle(pilot)
        above, held = screen.list.rows[0]["id"], screen.list.current["id"]
        later = Service.open(path, now=Clock(START + timedelta(minutes=5)).now)  # bob's lease ran out
        later.claim(held, CAROL)
        later.close()
        app.poll()
        await settle(pilot)
        assert screen.list.current["id"] == held and screen.list.current["gone"]
        burst(app, "fk \r")
        await settle(pilot)
        assert screen.list.current["id"] == held  # no `k`
        assert lead(path, above)["status"] == "new"  # no Not Contacted on the lead above
        assert any("3 key(s) typed for a dialog that did not open were dropped" in n for n in notes(app))
        await press(pilot, "k")  # a key typed once the refusal shows goes on
        assert screen.list.current["id"] == above


async def test_f3_a_burst_f_3_weeks_enter_n_schedules_the_follow_up_then_dials(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        target = ids["pool"]
        screen.list.move_to([r["id"] for r in screen.list.rows].index(target))
        await settle(pilot)
        burst(app, "f3 weeks\rn")
        await settle(pilot)
        assert not isinstance(app.screen, Ask)
        events_ = [
            e for e in lead(path, target, events=True)["events"] if e["kind"] in ("followup", "status")
        ]
        assert [e["kind"] for e in events_] == ["followup", "status"]
        assert events_[0]["data"]["asked"] == "3 weeks" and events_[1]["status"] == "not-contacted"


async def test_f1_a_move_while_a_re_list_loads_is_kept_not_undone_by_it(floor, tmp_path):
    path, _ids = floor
    app = Leadtui(path, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        before = screen.list.current["id"]
        screen.load(keep=before)  # another station committed: the queue re-lists ...
        screen.action_cursor(1)  # ... and the rep moves on before its page arrives
        moved_to = screen.list.current["id"]
        screen.load(keep=moved_to)  # another commit: a second re-list while the first still loads
        await settle(pilot)
        assert moved_to != before and screen.list.current["id"] == moved_to


async def test_f3_a_past_appointment_keeps_the_dialog_open_with_its_text(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        screen.list.move_to([r["id"] for r in screen.list.rows].index(ids["mine"]))
        await settle(pilot)
        burst(app, "22020-01-01 10:00\r")
        await settle(pilot)
        assert isinstance(app.screen, Ask)
        assert app.screen.query_one("#answer").value == "2020-01-01 10:00"
        assert "in the past" in str(app.screen.query_one("#preview").render())
        assert lead(path, ids["mine"])["status"] == "new"


def config_with(tmp_path, text: str):
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, "utf-8")
    return config.load(str(path))


async def test_f3_keys_while_another_connection_holds_the_write_lock_all_land_once_in_order(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, config_with(tmp_path, "[database]\nbusy_timeout_ms = 200\n"), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        rows = [r["id"] for r in screen.list.rows]
        first = rows.index(ids["pool"])
        screen.list.move_to(first)
        await settle(pilot)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer keeps the lock 2 s: past the busy timeout
        try:
            await pilot.press("n")
            await pilot.press("j")
            assert screen.list.cursor == first + 1  # the screen moved at once
            second = screen.list.current["id"]
            await pilot.press("n", "n")
            await pilot.pause(0.05)
            assert screen.pending == {ids["pool"]: 1, second: 2}
            assert "saving 2…" in str(
                screen.list.render_line(screen.list.cursor - screen.list.scroll_offset.y).text
            )
            await asyncio.sleep(2)
            await pilot.press("k")
            assert screen.list.cursor == first  # still answering keys while the writes wait
            assert lead(path, ids["pool"])["dial_run"] == 0  # nothing committed yet
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await settle(pilot)
        assert not screen.pending
        dials = [
            (e["id"], e["data"]["attempt"])
            for e in lead(path, ids["pool"], events=True)["events"]
            if e["kind"] == "status"
        ]
        assert [a for _, a in dials] == [1]
        other = [
            (e["id"], e["data"]["attempt"])
            for e in lead(path, second, events=True)["events"]
            if e["kind"] == "status"
        ]
        assert [a for _, a in other] == [1, 2]
        assert dials[0][0] < other[0][0] < other[1][0]  # applied in the order pressed


async def test_hardening_an_empty_queue_says_why_and_where_to_look(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    monkeypatch.setenv(
        "LEADTUI_NOW", (START + timedelta(hours=8)).isoformat()
    )  # 23:00 New York: no lead callable
    build_floor(path)
    app = Leadtui(path, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if isinstance(app.screen, Floor) and app.screen.list.empty_text != "Loading…":
                break
        screen = app.screen
        assert not screen.list.rows
        assert "Nothing to call now: e lists every lead left out and why" in screen.list.empty_text
