"""The manager's live floor view (issue 16): every station's rep, state and for how long, its lead,
today's KPIs and last outcome, re-read twice a second on a worker thread (the screen never waits)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, Static

from leadtui.clock import parse_iso
from leadtui.core.stations import span
from leadtui.ui.style import plain
from leadtui.ui.views import View

REFRESH_SECONDS = 0.5  # the floor view re-reads this often: a change shows within a second
STATE_STYLES = {
    "dialling": "bold",
    "call": "bold reverse",
    "wrapup": "bold",
    "paused": "italic",
    "offline": "dim",
}
COLUMNS = (
    ("rep", "rep"),
    ("state", "state"),
    ("for", "for"),
    ("lead", "lead"),
    ("dials", "dials"),
    ("contacts", "cont"),
    ("appointments", "appt"),
    ("offers", "offr"),
    ("last", "last outcome"),
)


class FloorView(View):
    """Every station on the floor, live: rep, state and for how long, the lead, today's KPIs and the
    last outcome. Read on a worker thread every REFRESH_SECONDS; the screen never waits for it."""

    TITLE_TEXT = "Floor"

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*((label, key) for key, label in COLUMNS))
        self.set_interval(REFRESH_SECONDS, self._tick)

    def _tick(self) -> None:
        if not self._reading:  # a slow read is not asked again behind itself
            self.reload()

    def fetch(self, svc: Any) -> tuple[list[dict], tzinfo]:
        return svc.floor(self.app.rep), svc.now().tzinfo

    def failed(self, exc: Exception) -> None:
        """No longer a manager, or the database gone: said, and the view closes."""
        super().failed(exc)
        self.app.pop_screen()

    def show(self, got: tuple[list[dict], tzinfo]) -> None:
        got, zone = got
        table = self.query_one(DataTable)
        keys = [s["station"] for s in got]
        if [k.value for k in table.rows] != keys:  # a station came or went: the rows again, the cursor kept
            was = (
                table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
                if table.row_count
                else None
            )
            table.clear()
            for s in got:
                table.add_row(*cells(s, zone), key=s["station"])
            if was in keys:
                table.move_cursor(row=keys.index(was), animate=False)
        else:
            for s in got:
                for (column, _), cell in zip(COLUMNS, cells(s, zone), strict=True):
                    if table.get_cell(s["station"], column) != cell:
                        table.update_cell(s["station"], column, cell)
        self.query_one("#view-title", Static).update(summary(got))


def cells(station: dict, zone: tzinfo | None) -> tuple[Text, ...]:
    """One station's row, cut to stay narrow; outside text (names) shown literally, times in `zone`."""
    lead = f"{station['lead_id']} {plain(station['owner_name'])}" if station["lead_id"] is not None else ""
    last = ""
    if station["last_outcome"]:
        at = parse_iso(station["last_outcome_at"]).astimezone(zone)
        last = f"{station['last_outcome_label']} {at:%H:%M}"
    return (
        Text(plain(station["rep"])[:12]),
        Text(plain(station["label"])[:20], style=STATE_STYLES.get(station["state"], "")),
        Text(span(station["seconds"]), justify="right"),
        Text(lead[:24]),
        *(Text(str(station[k]), justify="right") for k in ("dials", "contacts", "appointments", "offers")),
        Text(last),
    )


def summary(stations: list[dict]) -> str:
    """The title: how many stations, and how many in each state that matters to a manager."""
    counts: dict[str, int] = {}
    for s in stations:
        counts[s["state"]] = counts.get(s["state"], 0) + 1
    parts = [
        f"{n} {label}"
        for state, label in (
            ("call", "in a call"),
            ("dialling", "dialling"),
            ("wrapup", "wrapping up"),
            ("paused", "paused"),
            ("offline", "offline"),
        )
        if (n := counts.get(state))
    ]
    return " · ".join([f"Floor — {len(stations)} station{'s' if len(stations) != 1 else ''}", *parts])
