"""Status colours (Okabe-Ito shades, apart for colour-blind eyes) as theme variables, and line text."""

from __future__ import annotations

from rich.text import Text

from leadtui.text import safe

# group -> colour; exposed to TCSS as $group-<id>, so a theme swaps them in one place
GROUP_COLOURS = {
    "grey": "#9a9a9a",
    "purple": "#cc79a7",
    "green": "#009e73",
    "yellow": "#f0e442",
    "red": "#d55e00",
}


def theme_defaults() -> dict[str, str]:
    return {f"group-{group}": colour for group, colour in GROUP_COLOURS.items()}


def group_style(variables: dict[str, str], group: str) -> str:
    return f"bold {variables.get(f'group-{group}', GROUP_COLOURS.get(group, 'default'))}"


def plain(value: object) -> str:
    """Outside text for one line: literal (no escapes obeyed), newlines shown as ↵."""
    return (
        safe("" if value is None else str(value)).replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵")
    )


def status_text(lead: dict, variables: dict[str, str]) -> Text:
    """Colour + symbol + label: readable with colour, and without it."""
    return Text(f"{lead['symbol']} {lead['status_label']}", style=group_style(variables, lead["group"]))
