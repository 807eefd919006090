"""W20 on screen: today's leaderboard and a chart of the last 14 days, drawn with text (bars and
sparklines of block characters), so they read the same with NO_COLOR and fit 80x24. Both read on a
worker thread (the screen never waits) and again when another station commits."""

from __future__ import annotations

import math
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from leadtui.ui.style import plain
from leadtui.ui.views import View

SPARKS = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉"  # a bar's last cell, in eighths
# measure -> (short label, long label)
MEASURES = {
    "dials": ("dials", "Dials"),
    "contacts": ("cont", "Contacts"),
    "contact_rate": ("rate", "Contact rate"),
    "appointments": ("appt", "Appointments"),
    "offers": ("offer", "Offers"),
    "contracts": ("contr", "Contracts sent"),
    "under_contract": ("UC", "Under contract"),
    "calls": ("calls", "Calls"),
    "connects": ("conn", "Connects"),
    "talk_seconds": ("talk", "Talk time"),
}
BOARD_COLUMNS = (
    "dials",
    "contacts",
    "contact_rate",
    "appointments",
    "offers",
    "contracts",
    "under_contract",
    "calls",
    "talk_seconds",
)
WIDE = 100  # from this width the board shows each rep's dials per hour
DAY_HOURS = (8, 20)  # the hours a day's strip always shows (more when calls came earlier or later)
LEGEND = (
    "contact: a conversation with the owner · each credited once per lead per status per day · "
    "rate: contacts per dial"
)


def shown(measure: str, value: float | None) -> str:
    """A figure as the board prints it: 1,234 · 25% · 1:02:03 (talk) · - (no rate without dials)."""
    if value is None:
        return "-"
    if measure == "contact_rate":
        return f"{value:.0%}"
    if measure == "talk_seconds":
        seconds = int(value)
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{int(value):,}"


def spark(values: list[float | None]) -> str:
    """One block character per value, in eighths of the largest (█): nothing is a blank, anything
    above 0 at least ▁."""
    top = max((v for v in values if v), default=0)
    return "".join(" " if not v else SPARKS[max(0, math.ceil(v / top * len(SPARKS)) - 1)] for v in values)


def bar(value: float | None, top: float, width: int) -> str:
    """A horizontal bar `value / top` of `width` cells, to an eighth of a cell; any value above 0 shows."""
    if not value or not top or width <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    full, part = divmod(min(eighths, width * 8), 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def hour_strip(hours: list[dict], measures: tuple[str, ...], width: int) -> Text:
    """The floor's day by hour: the hours (at least DAY_HOURS) over a sparkline of each measure."""
    first, last = day_span(hours)
    span = range(first, last)
    cell = 3 if 12 + 3 * len(span) <= width else 2
    out = Text()
    out.append(f"{'hour':<12}", style="dim")
    out.append("".join(f"{h:>{cell}}" for h in span), style="dim")
    for measure in measures:
        values = {h["hour"]: h[measure] for h in hours}
        out.append(f"\n{MEASURES[measure][1]:<12}")
        out.append("".join(f"{s:>{cell}}" for s in spark([values.get(h) for h in span])))
    return out


def day_span(hours: list[dict]) -> tuple[int, int]:
    """The hours a day's strips cover, as a range's ends: DAY_HOURS, and any hour with figures."""
    seen = [h["hour"] for h in hours]
    return min([DAY_HOURS[0], *seen]), max([DAY_HOURS[1], *seen]) + 1


def chart_text(data: dict, measure: str, width: int, height: int, today: date) -> Text:
    """The chart: the measures (the chosen one marked), one bar per day with its figure, the span's
    total, and with room a sparkline of every measure over the same days."""
    days = data["days"]
    out = Text()
    for i, (key, (short, _)) in enumerate(MEASURES.items()):
        if i:
            out.append(" ")
        if key == measure:
            out.append(f"[{short}]", style="bold reverse")
        else:
            out.append(f" {short} ", style="dim")
    out.append("\n\n")
    values = [d[measure] for d in days]
    figures = [shown(measure, v) for v in values]
    wide = max(len(f) for f in figures)
    room = max(4, width - 11 - wide - 1)
    top = max((v for v in values if v), default=0)
    for day, value, figure in zip(days, values, figures, strict=True):
        on = date.fromisoformat(day["day"])
        label = "today" if on == today else f"{on:%a %m-%d}"
        out.append(f"{label:<10} ", style="bold" if on == today else "dim")
        out.append(f"{bar(value, top, room):<{room}} ")
        out.append(f"{figure:>{wide}}\n", style="bold" if on == today else "")
    span = {k: sum(d[k] for d in days) for k in MEASURES if k != "contact_rate"}
    rate = span["contacts"] / span["dials"] if span["dials"] else None
    best = max(days, key=lambda d: d[measure] or 0)
    summary = f"{len(days)} days: {shown(measure, rate if measure == 'contact_rate' else span[measure])}"
    if best[measure]:
        summary += f" · best {date.fromisoformat(best['day']):%a %m-%d} ({shown(measure, best[measure])})"
    out.append(summary + "\n", style="bold")
    if height >= len(days) + 5 + len(MEASURES):
        out.append("\n")
        for key, (_, label) in MEASURES.items():
            total = shown(key, rate if key == "contact_rate" else span[key])
            out.append(f"{label:<15}", style="bold" if key == measure else "")
            out.append(f"{spark([d[key] for d in days])}  {total}\n")
    out.rstrip()
    return out


class Board(View):
    """Today's leaderboard: every rep ranked (under contract, contracts, offers, appointments, contacts,
    dials), the floor's total, and the floor's day by hour. Enter: the rep's 14 days; c: the floor's."""

    TITLE_TEXT = "Board"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "chart(True)", "Rep's 14 days", priority=True),
        Binding("c", "chart(False)", "Floor's 14 days"),
    ]
    DEFAULT_CSS = """
    Board #hours { height: auto; padding: 0 1; }
    Board #legend { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.data: dict | None = None
        self._width = 0

    def body(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static(id="hours")
        yield Static(LEGEND, id="legend", markup=False)

    def fetch(self, svc: Any) -> dict:
        return svc.board()

    def on_resize(self) -> None:
        if self.data is not None and (self.size.width >= WIDE) != (self._width >= WIDE):
            self.show(self.data)

    def show(self, data: dict) -> None:
        self.data, self._width = data, self.size.width
        wide = self._width >= WIDE
        measures = BOARD_COLUMNS
        table = self.query_one(DataTable)
        was = self.chosen()
        table.clear(columns=True)
        table.add_columns("#", "rep", *(MEASURES[m][0] for m in measures), *(("by hour",) if wide else ()))
        hours = range(*day_span(data["hours"]))
        for row in data["reps"]:
            you = row["rep"].lower() == (self.app.rep or "").lower()
            cells: list[Text] = [
                Text(str(row["rank"]), justify="right"),
                Text(plain(row["rep"]) + (" ◂" if you else ""), style="bold" if you else ""),
                *(Text(shown(m, row[m]), justify="right") for m in measures),
            ]
            if wide:
                per_hour = {h["hour"]: h["dials"] for h in row.get("hours", [])}
                cells.append(Text(spark([per_hour.get(h) for h in hours])))
            table.add_row(*cells, key=row["rep"])
        floor = data["floor"]
        table.add_row(
            Text(""),
            Text("floor", style="bold"),
            *(Text(shown(m, floor[m]), justify="right", style="bold") for m in measures),
            *((Text(spark([h["dials"] for h in data["hours"]])),) if wide else ()),
            key="",
        )
        keys = [r["rep"] for r in data["reps"]]
        if was in keys:
            table.move_cursor(row=keys.index(was), animate=False)
        self.query_one("#hours", Static).update(
            hour_strip(data["hours"], ("dials", "contacts"), self._width - 2)
        )
        on = date.fromisoformat(data["day"])
        self.query_one("#view-title", Static).update(
            f"Board — today {on:%a %b %d %Y} ({data['zone']}) — {len(keys)} reps"
        )

    def chosen(self) -> str | None:
        """The rep under the cursor (None on the floor's row)."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_chart(True)

    def action_chart(self, rep: bool) -> None:
        name = self.chosen() if rep else None
        self.app.push_screen(Chart(name))


class Chart(View):
    """The last 14 floor days of one rep (or the floor): one bar per day for the chosen measure (←/→
    and the tab keys change it), its total and best day, and a sparkline of every measure."""

    TITLE_TEXT = "Chart"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "measure(1)", "Next measure", priority=True),
        Binding("left", "measure(-1)", "Previous measure", priority=True),
    ]
    DEFAULT_CSS = """
    Chart VerticalScroll { height: 1fr; }
    Chart #chart { padding: 0 1; }
    """

    def __init__(self, rep: str | None = None, measure: str = "dials") -> None:
        super().__init__()
        self.rep, self.measure = rep, measure
        self.data: dict | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="chart")

    def on_mount(self) -> None:
        for key in self.app.table:
            if key.id in ("next-tab", "previous-tab"):
                self._bindings.bind(key.keys, f"measure({1 if key.id == 'next-tab' else -1})", show=False)

    def fetch(self, svc: Any) -> dict:
        return svc.chart(rep=self.rep)  # (refused if the rep was renamed or removed meanwhile)

    def show(self, got: dict) -> None:
        self.data = got
        self.query_one("#view-title", Static).update(
            f"Chart — {plain(got['rep'] or 'the floor')} — last {len(got['days'])} days ({got['zone']})"
            f" — {MEASURES[self.measure][1]}"
        )
        self._draw()

    def _draw(self) -> None:
        if self.data is None:
            return
        chart = self.query_one("#chart", Static)
        width, height = self.query_one(VerticalScroll).size
        today = date.fromisoformat(self.data["days"][-1]["day"])
        chart.update(chart_text(self.data, self.measure, (width or 80) - 2, height or 22, today))

    def on_resize(self) -> None:
        self._draw()

    def action_measure(self, delta: int) -> None:
        keys = list(MEASURES)
        self.measure = keys[(keys.index(self.measure) + delta) % len(keys)]
        if self.data is not None:
            self.show(self.data)
