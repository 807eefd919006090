"""The live floor (issue 16): what a station is doing, as pure decisions.

A station's activity comes from what it already has on the floor: its open call (dialling until
the phone system says answered, in a call until it ends, then wrapping up until its outcome is
recorded), else the lead it has reserved on screen, else idle. A pause is the rep's, with a
reason; a station whose heartbeat stopped (a crash, a lost host) is offline, and so is one that
closed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from leadtui.clock import parse_iso
from leadtui.core.rules import Row
from leadtui.errors import LeadtuiError, Refused

HEARTBEAT_SECONDS = 5  # a live station says so this often
OFFLINE_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)  # no heartbeat for this long: offline
SHOWN_FOR = timedelta(hours=12)  # a rep's closed station stays on the view this long
PAUSE_CODES = ("break", "lunch", "training", "meeting")  # [floor] pause_codes by default
REASON_LIMIT = 40  # characters in a pause reason

R = TypeVar("R", bound=Row)

LABELS = {
    "idle": "idle",
    "lead": "on a lead",
    "dialling": "dialling",
    "call": "in a call",
    "wrapup": "wrapping up",
    "paused": "paused",
    "offline": "offline",
}


@dataclass(frozen=True)
class Activity:
    """What a station is doing (not counting a pause), and on which lead and call."""

    state: str  # idle | lead | dialling | call | wrapup
    lead_id: int | None = None
    call_id: int | None = None


def activity(reserved: int | None, call: Row | None) -> Activity:
    """The station's open call decides (the call's lead, whatever is on screen meanwhile), else the
    lead reserved on its screen, else idle."""
    if call is not None:
        state = "wrapup" if call["ended_at"] else "call" if call["answered_at"] else "dialling"
        return Activity(state, call["lead_id"], call["id"])
    if reserved is not None:
        return Activity("lead", reserved)
    return Activity("idle")


def moved(row: Row, now: Activity) -> bool:
    """Whether the time in state starts again: another state, or the same one on another lead or call."""
    return (row["state"], row["lead_id"], row["call_id"]) != (now.state, now.lead_id, now.call_id)


def shown(row: Row, now: datetime) -> tuple[str, str]:
    """(state, since) as the floor view shows it: offline (closed, or no heartbeat for OFFLINE_AFTER:
    since the last one), else paused (since the pause), else the activity."""
    if row["state"] == "offline":
        return "offline", row["since"]
    if now - parse_iso(row["heartbeat_at"]) > OFFLINE_AFTER:
        return "offline", row["heartbeat_at"]
    if row["pause_reason"] is not None:
        return "paused", row["paused_at"]
    return row["state"], row["since"]


def on_view(rows: Sequence[R], now: datetime) -> list[tuple[R, str, str]]:
    """The stations the floor view lists, as (row, state, since): every live one, and for a rep with
    none live, their latest station if it was seen within SHOWN_FOR (offline). By rep, then start."""
    states = [(row, *shown(row, now)) for row in rows]
    live = {row["rep"].lower() for row, state, _ in states if state != "offline"}
    latest: dict[str, tuple[R, str, str]] = {}
    for entry in states:
        row = entry[0]
        rep = row["rep"].lower()
        if entry[1] != "offline" or rep in live:
            continue
        if now - parse_iso(row["heartbeat_at"]) > SHOWN_FOR:
            continue
        if rep not in latest or row["heartbeat_at"] > latest[rep][0]["heartbeat_at"]:
            latest[rep] = entry
    kept = [e for e in states if e[1] != "offline"] + list(latest.values())
    return sorted(kept, key=lambda e: (e[0]["rep"].lower(), e[0]["started_at"], e[0]["station"]))


def span(seconds: int) -> str:
    """A time in state as the floor reads it: 4:05, or 1:02:03 past an hour."""
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def reason_problem(reason: str) -> str | None:
    """Why a pause reason can't be stored, or None: one line of text, at most REASON_LIMIT characters."""
    if not reason.strip():
        return "a pause needs a reason"
    if len(reason) > REASON_LIMIT:
        return f"a pause reason is at most {REASON_LIMIT} characters; this one has {len(reason)}"
    if any(ord(c) < 32 or ord(c) == 127 for c in reason):
        return "a pause reason is one line of text"
    return None


def decide_pause(row: Row | None, open_call: Row | None, reason: str) -> str:
    """A rep pauses their station: not twice, not with a call still waiting for its outcome (the
    floor must not lose it). Returns the reason to store."""
    problem = reason_problem(reason)
    if problem:
        raise LeadtuiError(problem)
    if row is None or row["state"] == "offline":
        raise LeadtuiError("this station is not on the floor: only a running station pauses")
    if row["pause_reason"] is not None:
        raise Refused(f"already paused ({row['pause_reason']})")
    if open_call is not None:
        raise Refused(
            f"lead {open_call['lead_id']}'s call is still open: hang up and record its outcome, then pause"
        )
    return reason.strip()


def decide_resume(row: Row | None, now: datetime) -> int:
    """The rep resumes: refused when the station isn't paused. Returns the seconds it was paused."""
    if row is None or row["pause_reason"] is None:
        raise Refused("this station is not paused")
    return max(0, int((now - parse_iso(row["paused_at"])).total_seconds()))


def pause_guard(row: Row | None) -> None:
    """A paused station places no call."""
    if row is not None and row["pause_reason"] is not None:
        raise Refused(f"this station is paused ({row['pause_reason']}): resume first")
