"""The floor's reps (issue 16, rep admin): who may add, switch off and on, and re-PIN a rep. Pure."""

from __future__ import annotations

from datetime import date

from leadtui.core.rules import Actor, Row
from leadtui.errors import Refused


def manager_needed_to_add(has_manager: bool, manager: bool, started: date | None, today: date) -> str | None:
    """What adding a rep needs a manager's PIN for (None: nothing). Once the floor has a manager,
    every new rep does (a back-dated one would skip W13's first 30 days); before, only the first
    manager is added freely, so a floor can start."""
    if not has_manager:
        return None
    if manager:
        return "add a manager"
    if started is not None and started < today:
        return "add a rep with a start date in the past"
    return "add a rep"


def decide_active(rep: Row, actor: Actor, active: bool) -> bool:
    """Whether switching `rep` to `active` changes anything; a manager can't switch themselves off
    (so the floor always keeps an active manager)."""
    if not active and rep["name"].lower() == actor.name.lower():
        raise Refused(f"{actor.name} can't deactivate themselves: another manager does that")
    return bool(rep["active"]) != active
