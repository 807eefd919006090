"""Snapshot of the Callbacks view at 80x24 (pytest-textual-snapshot), in the floor's zone (New York
here). Update after a deliberate change: pytest --snapshot-update."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from conftest import REP, START
from test_ui_floor import ready
from ui_floor import build_floor, isolate, settings

from leadtui.service import Service
from leadtui.ui.app import Leadtui


@pytest.fixture
def station(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    path = isolate(tmp_path, monkeypatch)
    ids = build_floor(path)
    svc = Service.open(path)
    svc.followup(ids["mine"], REP, "8 days", anyone=True)
    svc.set_status(ids["two_phones"], "appointment-booked", REP, at=(START + timedelta(days=2)).isoformat())
    svc.close()
    yield lambda: Leadtui(path, settings(tmp_path), REP)
    monkeypatch.undo()
    time.tzset()


def test_callbacks_view_80x24(station, snap_compare):
    async def open_callbacks(pilot):
        await ready(pilot)
        await pilot.press("g")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(station(), terminal_size=(80, 24), run_before=open_callbacks)
