"""Issue 17 on the screen (Pilot, a real database): the amount dialog refuses what isn't a number
(item 12), names can't steer the terminal or shift a column (item 16), and every view leaves with
Escape, every list moves with j/k, nothing covers the keybar, which fits 80x24 in 3 rows (item 23)."""

from __future__ import annotations

import unicodedata

import pytest
from conftest import REP
from rich.cells import cell_len
from test_ui_floor import go_to, lead, ready
from textual.widgets import DataTable
from textual.widgets._toast import Toast
from ui_floor import build_floor, isolate, press, settings

from leadtui.service import Service
from leadtui.ui.app import Leadtui
from leadtui.ui.dialogs import Ask
from leadtui.ui.inbox_views import Approvals, Replies
from leadtui.ui.views import Detail, Help, Outbox

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one glyph on some terminals, four on others
STEERING = "\u202eevil\u202c \u2066iso\u2069 zero\u200bwidth\u2060\ufeff"


@pytest.fixture
def floor(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    ids = build_floor(path)
    svc = Service.open(path)
    try:
        ids["family"] = svc.add_lead(
            owner_name=f"The {FAMILY} Family {STEERING}",
            address=f"1 {FAMILY} Way",
            phones=["(305) 555-0199"],
            city="Miami",
            state="FL",
            zip_code="33139",
        )["id"]
    finally:
        svc.close()
    return path, ids


def app_for(floor, tmp_path) -> Leadtui:
    return Leadtui(floor[0], settings(tmp_path), REP)


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def terminal_width(line: str) -> int:
    """A line's width as every terminal draws it: -1 when it holds a character terminals disagree on
    (a joiner, a format or bidi character, a variation selector), whose cells depend on the terminal."""
    for char in line:
        if unicodedata.category(char) == "Cf" or 0xFE00 <= ord(char) <= 0xFE0F:
            return -1
    return cell_len(line)


# --- item 12: the amount dialog ---------------------------------------------------------------


async def test_hardening_amount_dialog_refuses_inf_and_nan(floor, tmp_path):
    _path, ids = floor
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, ids["mine"])
        await press(pilot, "3")
        for value in ("inf", "nan", "1e309", "-inf", "Infinity"):
            app.screen.query_one("#answer").value = ""
            await press(pilot, *value)
            assert value in str(app.screen.query_one("#preview").render())  # the error names it
            await press(pilot, "enter")
            assert isinstance(app.screen, Ask), value  # refused: the dialog stays
        await press(pilot, "escape")
        assert (lead(floor, ids["mine"])["status"], lead(floor, ids["mine"])["offer_amount"]) == ("new", None)


# --- item 16: names that would steer the terminal or shift a column -----------------------------


async def test_hardening_bidi_zero_width_and_zwj_names_keep_every_column(floor, tmp_path):
    _path, ids = floor
    for size in ((80, 24), (120, 40)):
        async with app_for(floor, tmp_path).run_test(size=size) as pilot:
            screen = await ready(pilot)
            await go_to(pilot, screen, ids["family"])
            await pilot.pause()
            lines = screen_lines(pilot.app)
            assert any("Family" in line for line in lines)  # the lead is on screen, in the list and the panel
            assert [terminal_width(line) for line in lines] == [size[0]] * size[1], lines
            shown = "\n".join(lines)
            assert "\\u202e" in shown and "\\u200d" in shown  # shown inert, as escapes
            await press(pilot, "enter")  # the detail view too
            assert isinstance(pilot.app.screen, Detail)
            lines = screen_lines(pilot.app)
            assert [terminal_width(line) for line in lines] == [size[0]] * size[1], lines


# --- item 23: views, lists, toasts and the keybar ---------------------------------------------


async def test_hardening_escape_leaves_every_view(floor, tmp_path):
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        for key, view in (
            ("enter", Detail),
            ("i", Replies),
            ("m", Approvals),
            ("o", Outbox),
            ("question_mark", Help),
        ):
            await press(pilot, key)
            assert isinstance(app.screen, view)
            await press(pilot, "escape")
            assert app.screen is screen, view
        await press(pilot, "e")
        assert screen.excluded
        await press(pilot, "escape")
        assert not screen.excluded and "left out" not in str(screen.query_one("#title").render())
        await press(pilot, "right_square_bracket")
        assert screen.tab == 1
        await press(pilot, "escape")
        assert screen.tab == 0


async def test_hardening_j_k_move_in_every_list(floor, tmp_path):
    path, _ids = floor
    svc = Service.open(path)
    try:
        for number in ("(305) 555-0102", "(305) 555-0103"):  # three drip replies to move through
            svc.add_reply(number, f"reply from {number}", svc.now())
    finally:
        svc.close()
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        start = screen.list.cursor
        await press(pilot, "j")
        assert screen.list.cursor == start + 1
        await press(pilot, "k")
        assert screen.list.cursor == start
        for key, view in (("enter", Detail), ("i", Replies), ("o", Outbox)):
            if key == "o":
                await press(pilot, "1", "j", "1")  # two actions queued, so the outbox has rows
            await press(pilot, key)
            assert isinstance(app.screen, view)
            table = app.screen.query_one(DataTable)
            assert table.row_count >= 2, view
            await press(pilot, "j")
            assert table.cursor_row == 1, view
            await press(pilot, "k")
            assert table.cursor_row == 0, view
            await press(pilot, "escape")
        await press(pilot, "question_mark", "j")  # the help text scrolls
        assert isinstance(app.screen, Help)


async def test_hardening_notices_never_cover_the_keybar(floor, tmp_path):
    _path, ids = floor
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await ready(pilot)
        await go_to(pilot, screen, ids["pool"])
        await press(pilot, "r")  # not alice's lead to release: refused, a notice
        app.notify("a long notice " * 20, timeout=30)
        await pilot.pause(0.5)  # the toasts' fade-in
        toasts = list(app.screen.query(Toast))
        assert toasts
        bar = screen.query_one("#keybar").region
        said = screen.query_one("#said").region
        for toast in toasts:
            assert not toast.region.overlaps(bar) and not toast.region.overlaps(said), (toast.region, bar)


async def test_hardening_keybar_fits_3_rows_at_80x24_with_the_kpi_line(floor, tmp_path):
    _path, ids = floor
    app = app_for(floor, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        for lead_id in (ids["followup"], ids["mine"], ids["two_phones"]):
            await go_to(pilot, screen, lead_id)
            await press(pilot, "n")  # events on the panel, the cursor moved on
            bar = screen.query_one("#keybar")
            assert bar.region.height <= 3
            lines = screen_lines(app)
            assert any(f"Today ({REP})" in line for line in lines), lines  # the KPI line is in sight
            bar_text = "\n".join(lines[bar.region.y : bar.region.bottom])
            for key in app.table:  # every status key shows, and help for the rest
                if key.group:
                    assert f"{key.display} {key.symbol}" in bar_text, key
            assert "? " in bar_text
