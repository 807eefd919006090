"""Snapshots of the real screen (pytest-textual-snapshot): main screen at 80x24 and 120x40, without
colour, a dialog and the help screen. Update after a deliberate change: pytest --snapshot-update."""

from __future__ import annotations

import pytest
from test_ui_floor import ready
from ui_floor import build_floor, isolate, settings

from leadtui.ui.app import Leadtui


@pytest.fixture
def station(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    build_floor(path)
    return lambda: Leadtui(path, settings(tmp_path), "alice")


async def settle(pilot) -> None:
    await ready(pilot)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen_80x24(station, snap_compare):
    assert snap_compare(station(), terminal_size=(80, 24), run_before=settle)


def test_main_screen_120x40(station, snap_compare):
    assert snap_compare(station(), terminal_size=(120, 40), run_before=settle)


def test_main_screen_no_color(station, snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(station(), terminal_size=(80, 24), run_before=settle)


def test_appointment_dialog(station, snap_compare):
    async def open_dialog(pilot):
        await settle(pilot)
        await pilot.press("2", *"2026-11-25 14:30")

    assert snap_compare(station(), terminal_size=(80, 24), run_before=open_dialog)


def test_help_screen(station, snap_compare):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(station(), terminal_size=(80, 24), run_before=open_help)
