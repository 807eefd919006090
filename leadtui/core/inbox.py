"""The manager's inbox as pure rules (issue 16): a request's reason, a follow-up's scope, who may
clear a reply, where a callback falls (overdue, today, upcoming) and a rep's hand-over."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

from leadtui.core.rules import Actor, Row
from leadtui.errors import LeadtuiError, Refused

MINE, ANYONE = "mine", "anyone"
ANYONE_WORDS = ("anyone", "pool")  # "anyone 3 weeks", "pool 3 weeks": the follow-up is anyone's
REASON_MAX = 300  # a reason is one line a manager reads at a glance
SECTIONS = ("overdue", "today", "upcoming")
Lead = TypeVar("Lead", bound=Row)


def split_scope(text: str) -> tuple[str, str]:
    """A follow-up's scope and when: its first word `anyone` (or `pool`) makes it anyone's; any other
    text is the rep's own ("3 weeks" stays exactly as W18 reads it)."""
    first, _, rest = text.strip().partition(" ")
    if first.lower().rstrip(":") in ANYONE_WORDS and rest.strip():
        return ANYONE, rest.strip()
    return MINE, text


def reason(text: str | None) -> str | None:
    """A request's reason as stored: one line, trimmed, None when empty; too long is bad input."""
    if text is None or not text.strip():
        return None
    line = text.strip()
    if "\n" in line or "\r" in line:
        raise LeadtuiError("a reason is one line")
    if len(line) > REASON_MAX:
        raise LeadtuiError(f"a reason is at most {REASON_MAX} characters (this one has {len(line):,})")
    return line


def reply_guard(reply: Row, lead: Row | None, actor: Actor) -> None:
    """W17 routed: a reply on another rep's lead is theirs (or a manager's) to clear."""
    if reply["cleared_at"]:
        raise Refused(f"reply {reply['id']} was already cleared by {reply['cleared_by']}")
    owner = lead["owner"] if lead is not None else None
    if owner and owner.lower() != actor.name.lower() and not actor.manager:
        raise Refused(
            f"reply {reply['id']} is on lead {lead['id'] if lead is not None else '?'}, held by {owner}: "
            f"only {owner} or a manager clears it (W17)"
        )


def section(at: str | datetime, now: datetime, zone: tzinfo | None) -> str:
    """Where a callback or appointment falls on the floor's calendar: overdue (before today),
    today, or upcoming."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    day = moment.astimezone(zone).date()
    today = now.astimezone(zone).date()
    return "overdue" if day < today else "today" if day == today else "upcoming"


def day_bounds(now: datetime, zone: tzinfo | None, days: int) -> tuple[datetime, datetime]:
    """The start of today on the floor's calendar and the end of the `days`-th day after it."""
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=days + 1)


def decide_handover(leads: Sequence[Lead], to: str | None) -> list[tuple[Lead, dict[str, Any]]]:
    """A rep's live leads to another rep, or to the pool (`to` None), each with the fields it takes.
    To a rep: callbacks move as they are. To the pool: every callback becomes anyone's, so it is still
    made when due. A W9 hold ends either way (the hold was the old rep's)."""
    moved = []
    for lead in leads:
        fields: dict[str, Any] = {"owner": to, "hold_until": None}
        if to is None and lead["callback"]:
            fields["callback"] = ANYONE
        moved.append((lead, fields))
    return moved
