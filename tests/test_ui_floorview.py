"""The live floor view (issue 16) as a manager and reps meet it, in Pilot: three stations (three apps
on one real floor file, the manual phone system) change state, and the manager's view, re-read on a
worker thread, follows: on a lead, dialling after `d`, paused with a reason (`z`: the dial key
refused, the pause an event), resumed, closed and so offline."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import MANAGER, PIN
from textual.widgets import DataTable
from ui_floor import build_floor, isolate, notes, press, settle
from ui_floor import lead_at as lead

from leadtui import config
from leadtui.service import Service
from leadtui.ui.app import Leadtui
from leadtui.ui.dialogs import Pick
from leadtui.ui.floor import Floor
from leadtui.ui.stations import FloorView

BOB, CAROL = "bob", "carol"
CODES = ["coaching", "lunch", "break"]


@pytest.fixture
def floor(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    ids = build_floor(path)
    svc = Service.open(path)
    svc.add_rep(BOB, acting=MANAGER, acting_pin=PIN)
    svc.add_rep(CAROL, acting=MANAGER, acting_pin=PIN)
    svc.close()
    return path, ids


def settings(tmp_path) -> config.Config:
    """The stations' config: the manual phone system (no [dialer]) and the floor's own pause codes."""
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"[floor]\npause_codes = {json.dumps(CODES)}\n", "utf-8")
    return config.load(str(path))


async def ready(pilot) -> Floor:
    app = pilot.app
    for _ in range(500):
        await pilot.pause(0.02)
        screen = app.screen
        if isinstance(screen, Floor) and screen.list.rows and screen.reserved_at and app.phone:
            await settle(pilot)
            return screen
    raise AssertionError(f"the station never became ready: {app.phone_error}")


def shown(view: FloorView) -> dict[str, tuple[str, ...]]:
    """What the manager's table shows, by rep: each cell's text."""
    table = view.query_one(DataTable)
    rows = [tuple(str(cell) for cell in table.get_row(key)) for key in table.rows]
    return {row[0]: row for row in rows}


async def until(pilot, check, what: str) -> None:
    """Wait (a few seconds at most) for the screen to show what `check` looks for."""
    for _ in range(300):
        await pilot.pause(0.02)
        if check():
            return
    raise AssertionError(f"never: {what}")


def calls_of(path, rep: str) -> list[dict]:
    svc = Service.open(path)
    try:
        return svc.calls(rep=rep)
    finally:
        svc.close()


def events_of(path, kind: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,)).fetchall()
    finally:
        conn.close()


async def test_floor_view_three_stations_change_state_and_the_managers_view_follows(floor, tmp_path):
    path, _ids = floor
    cfg = settings(tmp_path)
    boss, bob, carol = (Leadtui(path, cfg, rep) for rep in (MANAGER, BOB, CAROL))
    async with boss.run_test(size=(120, 40)) as mp, bob.run_test(size=(120, 40)) as bp:
        await ready(mp)
        b = await ready(bp)
        async with carol.run_test(size=(120, 40)) as cp:
            c = await ready(cp)
            await mp.press("v")
            await until(
                mp, lambda: isinstance(boss.screen, FloorView) and len(shown(boss.screen)) == 3, "3 rows"
            )
            view = boss.screen
            on = b.list.current
            await until(mp, lambda: shown(view)[BOB][1] == "on a lead", "bob on a lead")
            assert shown(view)[BOB][3].startswith(f"{on['id']} {on['owner_name']}")
            assert shown(view)[CAROL][3].startswith(str(c.list.current["id"]))

            await press(bp, "d")  # the manual phone system: the rep dials by hand
            await until(mp, lambda: shown(view)[BOB][1] == "dialling", "bob dialling")
            assert shown(view)[BOB][3].startswith(f"{on['id']} ")

            await cp.press("z")
            await until(cp, lambda: isinstance(carol.screen, Pick), "the pause reasons")
            options = carol.screen.query_one("OptionList")
            assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == CODES
            await press(cp, "l", "u", "n", "enter")
            await until(mp, lambda: shown(view)[CAROL][1] == "paused: lunch", "carol paused")
            assert shown(view)[CAROL][3] == ""  # her lead was let go while she is away
            assert "PAUSED: lunch (z resumes)" in str(c.query_one("#title").render())
            [paused] = events_of(path, "pause")
            assert (paused["lead_id"], paused["rep"], json.loads(paused["data"])["reason"]) == (
                None,
                CAROL,
                "lunch",
            )
            await press(cp, "d")
            assert notes(carol)[-1] == "paused: resume with z"
            assert not [e for e in events_of(path, "status") if e["rep"] == CAROL]
            assert not calls_of(path, CAROL)  # no call was placed

            await press(cp, "z")  # back: no dialog, the lead on screen again
            await until(mp, lambda: shown(view)[CAROL][1] == "on a lead", "carol back on a lead")
            assert shown(view)[CAROL][3].startswith(str(c.list.current["id"]))
            assert "PAUSED" not in str(c.query_one("#title").render())
            [resumed] = events_of(path, "resume")
            assert json.loads(resumed["data"])["reason"] == "lunch"

            await press(bp, "n")  # the outcome of bob's call: on the lead again
            await until(mp, lambda: shown(view)[BOB][1] == "on a lead", "bob's call done")
            assert shown(view)[BOB][4] == "1" and shown(view)[BOB][8].startswith("Not Contacted ")
            assert lead(path, on["id"])["status"] == "not-contacted"
        await until(mp, lambda: shown(view)[CAROL][1] == "offline", "carol offline once her station closed")
        assert shown(view)[CAROL][3] == ""
        assert str(view.query_one("#view-title").render()).startswith("Floor — 3 stations")


async def test_floor_view_is_a_managers_key_a_rep_is_told_so(floor, tmp_path):
    path, _ = floor
    bob = Leadtui(path, settings(tmp_path), BOB)
    async with bob.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await press(pilot, "v")
        assert isinstance(bob.screen, Floor)
        assert notes(bob)[-1] == "the floor view is for managers"


async def test_pause_escape_stays_at_work_and_a_refused_pause_leaves_the_station_working(floor, tmp_path):
    path, _ = floor
    bob = Leadtui(path, settings(tmp_path), BOB)
    async with bob.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await pilot.press("z")
        await until(pilot, lambda: isinstance(bob.screen, Pick), "the pause reasons")
        await press(pilot, "escape")
        assert bob.paused is None and not events_of(path, "pause")
        await press(pilot, "d")  # a call waits for its outcome: no pause until it has one
        await pilot.press("z")
        await until(pilot, lambda: isinstance(bob.screen, Pick), "the pause reasons")
        await press(pilot, "enter")
        await until(
            pilot, lambda: bob.paused is None and "call is still open" in (notes(bob) or [""])[-1], "refused"
        )
        assert not events_of(path, "pause")
        assert f.list.current is not None and "PAUSED" not in str(f.query_one("#title").render())
