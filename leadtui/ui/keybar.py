"""The status keybar: every status key in its group colour with symbol and label, then the controls."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from leadtui.ui.keys import Key
from leadtui.ui.style import group_style

MIN_LABEL = 4  # shortest a label is cut to; the key and symbol are never cut


class KeyBar(Static):
    """Wraps to as many lines as it needs and shortens labels to fit; it never hides a key."""

    def __init__(self, table: list[Key], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table = table

    def on_resize(self) -> None:
        self.update(self.bar(self.size.width or 80))

    def on_mount(self) -> None:
        self.update(self.bar(self.size.width or 80))

    def bar(self, width: int) -> Text:
        statuses = [k for k in self.table if k.group]
        controls = [k for k in self.table if not k.group]
        out = Text()
        for entries, coloured in ((statuses, True), (controls, False)):
            cut = self._fit(entries, width, lines=3 if coloured else 2)
            line = 0
            for k in entries:
                label = k.label if len(k.label) <= cut else k.label[: cut - 1] + "."
                piece = f"{k.display} {k.symbol + ' ' if k.symbol else ''}{label}"
                if line and line + 2 + len(piece) > width:
                    out.append("\n")
                    line = 0
                if line:
                    out.append("  ")
                    line += 2
                style = group_style(self.app.theme_variables, k.group) if coloured else ""
                out.append(k.display, style="reverse " + style if coloured else "bold")
                out.append(piece[len(k.display):], style=style)
                line += len(piece)
            out.append("\n")
        out.rstrip()
        return out

    @staticmethod
    def _fit(entries: list[Key], width: int, lines: int) -> int:
        """The longest label length that keeps the entries within `lines` lines, else one line more."""
        longest = max((len(k.label) for k in entries), default=0)
        for allowed in (lines, lines + 1):
            for cut in range(longest, MIN_LABEL - 1, -1):
                used, line = 1, 0
                for k in entries:
                    piece = len(k.display) + 1 + (len(k.symbol) + 1 if k.symbol else 0) + min(len(k.label), cut)
                    if line and line + 2 + piece > width:
                        used, line = used + 1, 0
                    line += piece + (2 if line else 0)
                if used <= allowed:
                    return cut
        return MIN_LABEL
