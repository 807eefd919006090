"""The lead list: a line-API scroll view over a window of rows fetched page by page from SQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from leadtui.ui.style import plain, status_text

PREFETCH = 30  # ask for the next page when the cursor is this close to the end


class LeadList(ScrollView, can_focus=True):
    """Rows of leads with a cursor; holds only the pages loaded so far, never every lead."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    class NeedMore(Message):
        """The cursor is near the end of what is loaded and more rows exist."""

    def __init__(
        self,
        *,
        id: str | None = None,
        pending: Mapping[int | None, int] | None = None,
        highlighted: Callable[[dict | None], None] = lambda lead: None,
    ) -> None:
        super().__init__(id=id)
        self.pending = pending if pending is not None else {}  # keys queued per lead: marked at once (F3)
        self.highlighted = highlighted  # called when the cursor is on another lead (or on none)
        self.rows: list[dict] = []
        self.more = False
        self.cursor = 0
        self.empty_text = "Loading…"
        self._asked = False

    # --- data ---------------------------------------------------------------------------

    @property
    def current(self) -> dict | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def set_rows(
        self, rows: list[dict], more: bool, keep: int | None = None, kept: dict | None = None
    ) -> None:
        """Replace the rows; the cursor stays on lead `keep`. A kept lead no longer among them (`kept`,
        with why in `gone`) stays where it was, marked: the cursor never jumps to another lead (F1)."""
        ids = [r["id"] for r in rows]
        if keep is not None and keep not in ids and kept is not None:
            rows.insert(min(self.cursor, len(rows)), kept)
            ids = [r["id"] for r in rows]
        cursor = ids.index(keep) if keep in ids else min(self.cursor, max(len(rows) - 1, 0))
        # (a re-list after the station's own reservation, or another's change elsewhere on the floor)
        same = rows == self.rows and more == self.more and cursor == self.cursor
        self.rows, self.more, self._asked, self.cursor = rows, more, False, cursor
        if same:  # no line to repaint: the panel is read again all the same
            self.highlighted(self.current)
            return
        self._resized()
        self._moved()

    def add_rows(self, rows: list[dict], more: bool) -> None:
        seen = {r["id"] for r in self.rows}
        self.rows += [r for r in rows if r["id"] not in seen]
        self.more, self._asked = more, False
        self._resized()

    def update_lead(self, lead: dict) -> None:
        """Repaint one lead's row after a change (only that line)."""
        for i, row in enumerate(self.rows):
            if row["id"] == lead["id"]:
                self.rows[i] = {**row, **lead}
                self.refresh_line(i - self.scroll_offset.y)
                return

    def repaint_lead(self, lead_id: int | None) -> None:
        for i, row in enumerate(self.rows):
            if row["id"] == lead_id:
                self.refresh_line(i - self.scroll_offset.y)
                return

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + (1 if self.more or not self.rows else 0))
        self.refresh()

    # --- cursor ---------------------------------------------------------------------------

    def move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        old, self.cursor = self.cursor, max(0, min(index, len(self.rows) - 1))
        if old != self.cursor:
            self.refresh_line(old - self.scroll_offset.y)
            self.refresh_line(self.cursor - self.scroll_offset.y)
            self._moved()

    def action_page(self, direction: int) -> None:
        self.move(direction * max(self.size.height - 1, 1))

    def action_jump(self, where: int) -> None:
        self.move_to(where if where >= 0 else len(self.rows) - 1)

    def _moved(self) -> None:
        top, height = self.scroll_offset.y, max(self.size.height, 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        if self.more and not self._asked and self.cursor >= len(self.rows) - PREFETCH:
            self._asked = True
            self.post_message(self.NeedMore())
        self.highlighted(self.current)

    # --- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if index >= len(self.rows):
            text = Text(
                "  loading more…"
                if self.more and index == len(self.rows)
                else (f"  {self.empty_text}" if not self.rows and index == 0 else ""),
                style="dim",
            )
            return self._strip(text, width, Style())
        row = self.rows[index]
        selected = index == self.cursor
        text = Text("▶ " if selected else "  ")
        status = status_text(row, self.app.theme_variables)
        column = max(12, min(20, width // 4))  # narrow screens cut the label, never the symbol
        status.truncate(column, overflow="ellipsis", pad=True)
        text.append_text(status)
        text.append(" ")
        waiting = self.pending.get(row["id"], 0)
        tag = (
            (f"saving {waiting}…" if waiting > 1 else "saving…")
            if waiting
            else (
                row.get("gone")
                or row.get("why")
                or {"due": "due", "mine": "mine"}.get(row.get("queue", ""), "")
            )
        )
        owner = "" if row.get("queue") or row.get("why") or row.get("gone") else (row["owner"] or "pool")
        name = plain(row["owner_name"])
        place = plain(f"{row['address']}, {row['city'] or ''} {row['state'] or ''}")
        rest = max(width - text.cell_len - len(tag) - len(owner) - 3, 10)
        text.append(f"{name[: rest // 2]:<{rest // 2}} ", style="bold" if not row["dead"] else "strike")
        text.append(f"{place[: rest - rest // 2 - 1]:<{rest - rest // 2 - 1}} ")
        text.append(owner, style="dim")
        text.append(
            tag,
            style="italic"
            if tag in ("due", "mine")
            else "bold reverse"
            if row.get("gone") and not waiting
            else "dim",
        )
        return self._strip(text, width, Style(reverse=True) if selected and self.has_focus else Style())

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        text.truncate(width, pad=True)
        segments = list(text.render(self.app.console))
        return Strip(
            [Segment(s.text, (s.style or Style()) + style) for s in segments if s.text != "\n"]
        ).crop(0, width)
