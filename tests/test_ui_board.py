"""W20 on the screen (Pilot, a real database): the leaderboard (b) and the 14-day chart, driven by
keys, and their snapshots at 120x40 and 80x24, also with NO_COLOR. The floor's 15 days of calls
are made through the Service with a clock that walks them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from conftest import MANAGER, NEWBIE, NY, PIN, REP, START, Clock, add_lead, add_reps
from test_ui_floor import ready
from ui_floor import isolate, press, settings

from leadtui.service import Service, init_database
from leadtui.store.db import connect
from leadtui.ui.app import Leadtui
from leadtui.ui.board import Board, Chart, bar, spark

BOB = "bob"


def build_board_floor(path) -> None:
    """15 days up to START: each rep's no-answers and conversations at their own hours, different
    every day, and today a repeated Offer Made (credited once)."""
    clock = Clock(START - timedelta(days=15))
    init_database(path, "wholesale", test_clock=True)
    svc = Service(connect(path), now=clock.now, zone=NY, contracts_dir=path.parent / "contracts")
    add_reps(svc, START.date())
    svc.add_rep(BOB, started=date(2025, 3, 1), acting=MANAGER, acting_pin=PIN)
    for back in range(14, -1, -1):
        day = START.date() - timedelta(days=back)
        for rep, starts, dials, talks in (
            (REP, time(8, 30), 3 + back % 4, back % 3),
            (BOB, time(10, 40), 2 + back * 5 % 7, (back + 1) % 2 + (back == 0)),
            (NEWBIE, time(13, 0), back % 3, int(back == 0)),
        ):
            clock.set(datetime.combine(day, starts, tzinfo=NY))
            for _ in range(dials):
                svc.set_status(add_lead(svc)["id"], "not-contacted", rep)
                clock.advance(minutes=9)
            for n in range(talks):
                lead = add_lead(svc)["id"]
                svc.set_status(lead, "not-contacted", rep)
                svc.set_status(lead, ("needs-offer", "offer-made")[n % 2], rep)
                clock.advance(minutes=13)
    lead = add_lead(svc)["id"]
    for _ in range(3):
        svc.set_status(lead, "offer-made", NEWBIE)  # one offer, one contact, one dial
    lead = add_lead(svc)["id"]
    svc.claim(lead, BOB)
    call = svc.place_call(lead, BOB, system="baresip")  # a call through the phone system: talk time
    svc.call_event(call["id"], "answered")
    clock.advance(minutes=4, seconds=5)
    svc.call_event(call["id"], "ended", reason="completed")
    svc.set_status(lead, "needs-offer", BOB, call_id=call["id"])
    svc.close()


@pytest.fixture
def board_station(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    build_board_floor(path)
    return lambda: Leadtui(path, settings(tmp_path), REP)


async def open_board(pilot) -> Board:
    await ready(pilot)
    await press(pilot, "b")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(pilot.app.screen, Board)
    return pilot.app.screen


async def open_chart(pilot) -> Chart:
    await open_board(pilot)
    await press(pilot, "enter")  # the top rep's 14 days
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(pilot.app.screen, Chart)
    return pilot.app.screen


def test_w20_bars_and_sparklines_are_text():
    assert bar(5, 10, 4) == "██"
    assert bar(1, 10, 4) == "▍"  # 3.2 eighths of a cell
    assert bar(0.01, 10, 4) == "▏"  # above nothing: still seen
    assert bar(0, 10, 4) == bar(None, 10, 4) == ""
    assert spark([0, 1, 4, 8, None]) == " ▁▄█ "


async def test_w20_board_ranks_reps_and_opens_a_reps_chart_and_the_floors(board_station):
    app = board_station()
    async with app.run_test(size=(120, 40)) as pilot:
        board = await open_board(pilot)
        reps = board.data["reps"]
        assert [r["rep"] for r in reps] == [BOB, NEWBIE, REP, MANAGER]
        assert next(r for r in reps if r["rep"] == NEWBIE)["offers"] == 1  # pressed three times
        assert board.chosen() == BOB
        await press(pilot, "j")
        assert board.chosen() == NEWBIE
        await press(pilot, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        chart = app.screen
        assert isinstance(chart, Chart) and chart.rep == NEWBIE
        assert [d["dials"] for d in chart.data["days"]] == [n % 3 for n in range(13, 0, -1)] + [3]
        assert chart.measure == "dials"
        await press(pilot, "right")
        assert chart.measure == "contacts"
        await press(pilot, "right_square_bracket")  # the floor's next-tab key too
        assert chart.measure == "contact_rate"
        await press(pilot, "left", "left")
        assert chart.measure == "dials"
        await press(pilot, "escape", "c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, Chart) and app.screen.rep is None
        assert sum(d["dials"] for d in app.screen.data["days"]) == sum(
            sum(d["dials"] for d in app.svc.chart(rep=r)["days"]) for r in (REP, BOB, NEWBIE)
        )
        await press(pilot, "escape", "escape")
        assert app.screen is app.floor


def test_w20_board_snapshot_120x40(board_station, snap_compare):
    assert snap_compare(board_station(), terminal_size=(120, 40), run_before=open_board)


def test_w20_board_snapshot_80x24(board_station, snap_compare):
    assert snap_compare(board_station(), terminal_size=(80, 24), run_before=open_board)


def test_w20_board_snapshot_no_color(board_station, snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(board_station(), terminal_size=(80, 24), run_before=open_board)


def test_w20_chart_snapshot_120x40(board_station, snap_compare):
    assert snap_compare(board_station(), terminal_size=(120, 40), run_before=open_chart)


def test_w20_chart_snapshot_80x24(board_station, snap_compare):
    assert snap_compare(board_station(), terminal_size=(80, 24), run_before=open_chart)


def test_w20_chart_snapshot_no_color(board_station, snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(board_station(), terminal_size=(80, 24), run_before=open_chart)
