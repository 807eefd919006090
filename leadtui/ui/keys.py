"""The one key table: the playbook's statuses plus the controls, remapped by the `[keys]` config.

It makes the screen's Bindings (each with an `id`, so `App.set_keymap` remaps it), the keybar,
the help screen and the command palette. Nothing else lists keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import _character_to_key, format_key

from leadtui.core.controls import CONTROLS
from leadtui.core.playbook import Playbook
from leadtui.errors import LeadtuiError

# control id -> (Textual action, extra default keys)
CONTROL_ACTIONS = {
    "dial": ("dial", ""),
    "hangup": ("hangup", ""),
    "note": ("note", ""),
    "next-phone": ("phone(1)", ""),
    "previous-phone": ("phone(-1)", ""),
    "pick-phone": ("pick_phone", ""),
    "claim": ("claim", ""),
    "release": ("release", ""),
    "assign": ("assign", ""),
    "followup": ("followup", ""),
    "clear-sms": ("replies", ""),
    "undo": ("undo", ""),
    "next": ("cursor(1)", "down"),
    "previous": ("cursor(-1)", "up"),
    "search": ("search", ""),
    "help": ("help", ""),
    "palette": ("app.command_palette", ""),
    "detail": ("detail", ""),
    "excluded": ("toggle_excluded", ""),
    "next-tab": ("tab(1)", ""),
    "previous-tab": ("tab(-1)", ""),
    "replies": ("replies", ""),
    "approvals": ("approvals", ""),
    "outbox": ("outbox", ""),
    "callbacks": ("callbacks", ""),
    "pause": ("pause", ""),
    "floor-view": ("floor_view", ""),
    "board": ("board", ""),
    "quit": ("app.quit", ""),
}


@dataclass(frozen=True)
class Key:
    """One entry of the table: what a key does, for bindings, keybar, help and palette."""

    id: str
    keys: str  # Textual key names, comma-separated, after the user's keymap
    label: str
    description: str
    action: str
    group: str = ""  # a status's colour group; "" for a control
    symbol: str = ""
    default: str = ""  # the keys before the user's keymap

    @property
    def display(self) -> str:
        return "/".join(_shown(k) for k in self.keys.split(","))


def _shown(key: str) -> str:
    return {"space": "␣", "ctrl+p": "^p", "ctrl+q": "^q"}.get(key, format_key(key))


def _normal(key: str) -> str:
    return key if len(key) > 1 else _character_to_key(key)


def key_table(playbook: Playbook, keymap: dict[str, str]) -> list[Key]:
    """Every status the rep may set and every control, with the user's keys; errors name the config key."""
    table = [
        Key(
            s.id,
            ",".join([s.key, *s.alt_keys]),
            s.label,
            s.description,
            f"status('{s.id}')",
            s.group,
            s.symbol,
        )
        for s in playbook.statuses
        if s.settable
    ]
    for c in CONTROLS:
        action, extra = CONTROL_ACTIONS[c.id]
        table.append(Key(c.id, ",".join(k for k in (c.key, extra) if k), c.label, c.description, action))
    known = {k.id for k in table}
    for name in keymap:
        if name not in known:
            raise LeadtuiError(
                f"config key keys.{name}: not a status or control (one of: {', '.join(sorted(known))})"
            )
    table = [
        Key(
            k.id,
            ",".join(_normal(x.strip()) for x in keymap[k.id].split(",")) if k.id in keymap else k.keys,
            k.label,
            k.description,
            k.action,
            k.group,
            k.symbol,
            k.keys,
        )
        for k in table
    ]
    taken: dict[str, Key] = {}
    for k in table:
        for key in k.keys.split(","):
            if key in taken:
                mine, other = (
                    (taken[key], k) if taken[key].id in keymap and k.id not in keymap else (k, taken[key])
                )
                raise LeadtuiError(
                    f"config key keys.{mine.id}: {_shown(key)!r} is already the key of {other.label}"
                )
            taken[key] = k
    return table


def bindings(table: list[Key]) -> list[Binding]:
    """The screen's bindings on the default keys; `App.set_keymap(remapped(table))` applies the user's."""
    return [Binding(k.default, k.action, k.label, show=False, id=k.id, tooltip=k.description) for k in table]


def remapped(table: list[Key]) -> dict[str, str]:
    return {k.id: k.keys for k in table if k.keys != k.default}
