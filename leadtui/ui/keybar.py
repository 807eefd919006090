"""The status keybar: every status key in its group colour with symbol and label, then the controls."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from leadtui.ui.keys import Key
from leadtui.ui.style import group_style

MIN_LABEL = 4  # shortest a label is cut to; the key and symbol are never cut
MIN_CONTROL = 6  # shortest a control's label is cut to before controls give way to "? more"
ROWS_PER = 8  # the bar may take one row per this many rows of the terminal, and at least 3
# the controls a rep uses most, first; when the bar can't hold them all, the rest are behind `?`
PRIORITY = (
    "dial",
    "hangup",
    "note",
    "undo",
    "claim",
    "release",
    "followup",
    "assign",
    "search",
    "detail",
    "excluded",
    "next-tab",
    "previous-tab",
    "replies",
    "approvals",
    "outbox",
    "next",
    "previous",
    "palette",
    "clear-sms",
    "pick-phone",
    "next-phone",
    "previous-phone",
    "quit",
    "pause",
    "floor-view",
    "callbacks",
    "board",
)


class KeyBar(Static):
    """Every status key, always, in at most `rows()` rows: labels are cut to fit. The controls get the
    rows left; those that don't fit are behind `? more` (the help screen lists every key)."""

    def __init__(self, table: list[Key], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table = table

    def on_resize(self) -> None:
        self.update(self.bar(self.size.width or 80))
        self.call_after_refresh(self._lift_toasts)

    def on_mount(self) -> None:
        self.update(self.bar(self.size.width or 80))

    def rows(self) -> int:
        return max(3, (self.app.size.height or 24) // ROWS_PER)

    def _lift_toasts(self) -> None:
        """Notices rise above the bar and the line above it, so they never cover a key."""
        racks = self.screen.query("#textual-toastrack")
        if racks and self.region.height:
            racks.first().styles.margin = (0, 0, self.screen.size.height - self.region.y + 1, 0)

    def bar(self, width: int) -> Text:
        statuses = [k for k in self.table if k.group]
        controls = [k for k in self.table if not k.group]
        budget = self.rows()
        status_rows, status_cut = self._fit_rows(statuses, width, budget - 1)
        shown, control_cut = self._controls(controls, width, budget - status_rows)
        out = Text()
        for entries, cut, coloured in ((statuses, status_cut, True), (shown, control_cut, False)):
            line = 0
            for k in entries:
                label = short(k.label, cut)
                piece = f"{k.display} {k.symbol + ' ' if k.symbol else ''}{label}"
                if line and line + 2 + len(piece) > width:
                    out.append("\n")
                    line = 0
                if line:
                    out.append("  ")
                    line += 2
                style = group_style(self.app.theme_variables, k.group) if coloured else ""
                out.append(k.display, style="reverse " + style if coloured else "bold")
                out.append(piece[len(k.display) :], style=style)
                line += len(piece)
            out.append("\n")
        out.rstrip()
        return out

    def _controls(self, controls: list[Key], width: int, rows: int) -> tuple[list[Key], int]:
        """The controls to show and their label cut: all of them if they fit, else the most used ones
        and `? more` (the help key, relabelled), in the table's order."""
        used, cut = self._fit(controls, width, rows)
        if used <= rows and cut >= min(MIN_CONTROL, max(len(k.label) for k in controls)):
            return controls, cut
        help_keys = [k for k in controls if k.id == "help"]
        more = [Key(k.id, k.keys, "more", k.description, k.action, default=k.default) for k in help_keys]
        rank = {name: i for i, name in enumerate(PRIORITY)}
        chosen: list[Key] = []
        for k in sorted((k for k in controls if k.id != "help"), key=lambda k: rank.get(k.id, len(rank))):
            trial = [c for c in controls if c in chosen or c is k] + more
            used, cut = self._fit(trial, width, rows)
            if used <= rows and cut >= min(MIN_CONTROL, max(len(c.label) for c in trial)):
                chosen.append(k)
        shown = [k for k in controls if k in chosen] + more
        return shown, self._fit(shown, width, rows)[1]

    @classmethod
    def _fit_rows(cls, entries: list[Key], width: int, most: int) -> tuple[int, int]:
        """(rows, cut): the fewest rows, up to `most`, that hold the entries with whole labels, else
        `most` rows with the longest cut that fits there."""
        longest = max((len(k.label) for k in entries), default=0)
        for rows in range(1, most + 1):
            used, cut = cls._fit(entries, width, rows)
            if used <= rows and cut == longest:
                return rows, cut
        used, cut = cls._fit(entries, width, most)
        return max(1, min(used, most)), cut

    @staticmethod
    def _fit(entries: list[Key], width: int, lines: int) -> tuple[int, int]:
        """(lines used, cut): the longest label length that keeps the entries within `lines` lines,
        else MIN_LABEL and the lines that takes."""
        longest = max((len(k.label) for k in entries), default=0)
        used = 1
        for cut in range(longest, MIN_LABEL - 1, -1):
            used, line = 1, 0
            for k in entries:
                piece = len(k.display) + 1 + (len(k.symbol) + 1 if k.symbol else 0) + min(len(k.label), cut)
                if line and line + 2 + piece > width:
                    used, line = used + 1, 0
                line += piece + (2 if line else 0)
            if used <= lines:
                return used, cut
        return used, MIN_LABEL


def short(label: str, cut: int) -> str:
    """A label in `cut` characters: `Not Co.`, and `Offer M` rather than `Offer .`."""
    if len(label) <= cut:
        return label
    head = label[: cut - 1]
    return label[:cut] if head.endswith(" ") else head + "."
