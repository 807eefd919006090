"""Who is at the station (issue 16): the start-up picker lists active reps only; with `[floor]
require_pin = true` the floor opens only after the rep's own PIN, and a rep with no PIN is told to
get one from a manager. Pilot on a real floor."""

from __future__ import annotations

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP
from test_ui_floor import ready
from ui_floor import build_floor, isolate, notes, press

from leadtui import config
from leadtui.errors import LeadtuiError
from leadtui.service import Service
from leadtui.ui.app import Leadtui
from leadtui.ui.dialogs import Ask, Pick
from leadtui.ui.floor import Floor

ALICE_PIN = "739184"


@pytest.fixture
def floor(tmp_path, monkeypatch):
    """The UI floor; alice has a PIN of her own, newbie none; `bob` was deactivated."""
    path = isolate(tmp_path, monkeypatch)
    build_floor(path)
    svc = Service.open(path)
    svc.add_rep("bob", acting=MANAGER, acting_pin=PIN)
    svc.set_active("bob", False, MANAGER, PIN)
    svc.reset_pin(REP, ALICE_PIN, MANAGER, PIN)
    svc.close()
    return path


def settings(tmp_path, require_pin: bool):
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"[floor]\nrequire_pin = {'true' if require_pin else 'false'}\n", "utf-8")
    return config.load(str(path))


def choices(app) -> list[str]:
    return [value for value, _label in app.screen.choices]


async def test_startup_picker_lists_active_reps_only(floor, tmp_path):
    app = Leadtui(floor, settings(tmp_path, False), None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, Pick)
        assert sorted(choices(app)) == sorted([REP, MANAGER, NEWBIE])  # bob is inactive
    with pytest.raises(LeadtuiError, match="no active rep named 'bob'"):
        Leadtui(floor, settings(tmp_path, False), "bob")


async def test_require_pin_opens_the_floor_only_with_the_reps_own_pin(floor, tmp_path):
    app = Leadtui(floor, settings(tmp_path, True), REP)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, Ask) and app.screen.title_text == "PIN for alice"
        await press(pilot, *PIN, "enter")  # the manager's PIN is not alice's
        assert not isinstance(app.screen, Floor) and app.floor is None
        assert any("wrong PIN for alice" in n for n in notes(app))
        assert isinstance(app.screen, Ask) and app.screen.title_text == "PIN for alice"  # asked again
        await press(pilot, *ALICE_PIN, "enter")
        screen = await ready(pilot)
        assert app.rep == REP and "alice" in str(screen.query_one("#title").render())


async def test_require_pin_a_rep_without_one_is_told_to_ask_a_manager(floor, tmp_path):
    app = Leadtui(floor, settings(tmp_path, True), None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, *"newbie", "enter")
        assert any("newbie has no PIN yet" in n and "leadtui reps pin newbie" in n for n in notes(app))
        assert isinstance(app.screen, Pick) and app.floor is None  # back to who is here
        await press(pilot, *"alice", "enter")
        assert isinstance(app.screen, Ask)
        await press(pilot, "escape")  # not alice after all: back to the picker
        assert isinstance(app.screen, Pick)
        await press(pilot, *"alice", "enter")
        await press(pilot, *ALICE_PIN, "enter")
        await ready(pilot)
        assert app.rep == REP


async def test_without_require_pin_the_floor_opens_at_once(floor, tmp_path):
    app = Leadtui(floor, settings(tmp_path, False), NEWBIE)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.rep == NEWBIE
