"""Rule D1: the gate a call passes before anything reaches a phone system, and when a refused call
can go. Pure: the service reads the lead, the phone, the lead's reservation, the phone's calls in
the last 24 h and the last call to the number inside its write transaction, and asks here.

The gate, in order: the lead is alive and this rep's to call (owned by them, or a pool lead on their
screen: F2), the rep has no call still waiting for its outcome (D3), and the phone passes B3 (not DNC,
litigator or bad; inside the lead-local window; under its 24-h cap) and the minimum gap since the
last call to its number, which is 0 inside the lead's triple-dial run on that phone (W1)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadtui.core.calling import FALLBACK_ZONES, CallingRules, check_dial, next_open
from leadtui.core.decide import reservation_guard
from leadtui.core.rules import Actor, Row, alive_guard, holder_guard
from leadtui.errors import Refused

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Go:
    """May the phone be called now; if not, why (one line, saying when) and from when (None: waiting
    won't do, e.g. a DNC phone)."""

    ok: bool
    reason: str = ""
    at: datetime | None = None


def in_run(lead: Row, phone: Row) -> bool:
    """The lead is inside a triple-dial run on this phone (W1): its gap is 0."""
    return bool(lead["dial_run"]) and phone["position"] == lead["cur_phone"]


def wait_text(now: datetime, at: datetime, zone: str | None) -> str:
    """ "in 1 h 10 m, 08:00 lead-local" (with the weekday when it is not the lead's today)."""
    minutes = max(1, math.ceil((at - now).total_seconds() / 60))
    hours, mins = divmod(minutes, 60)
    span = f"{hours} h {mins} m" if hours and mins else f"{hours} h" if hours else f"{mins} m"
    name = zone or FALLBACK_ZONES[0]
    there = at.astimezone(ZoneInfo(name))
    day = "" if there.date() == now.astimezone(ZoneInfo(name)).date() else f"{there:%a} "
    where = "lead-local" if zone else f"in {name}"
    return f"in {span}, {day}{there:%H:%M} {where}"


def phone_gate(
    now: datetime,
    *,
    lead: Row,
    phone: Row,
    recent: Sequence[datetime],
    last_call: datetime | None,
    rules: CallingRules,
) -> Go:
    """B3 and the minimum gap for one phone of `lead`. `recent`: when the phone's calls of the last
    24 h were placed; `last_call`: the last call to its number (any lead's), if any."""
    zone, state = phone["tz"], lead["state"]
    verdict = check_dial(
        now,
        zone=zone,
        state=state,
        dnc=bool(phone["dnc"]),
        litigator=bool(phone["litigator"]),
        bad=bool(phone["bad"]),
        dials_24h=len(recent),
        rules=rules,
    )
    if not verdict.overridable:
        return Go(False, verdict.reason)
    gap = timedelta(minutes=0 if in_run(lead, phone) else rules.min_gap_minutes)
    start = now
    cap = rules.cap_for(state)
    if len(recent) >= cap:
        start = max(start, sorted(recent)[len(recent) - cap] + DAY)  # the oldest call to age out
    if last_call is not None and gap:
        start = max(start, last_call + gap)
    at = next_open(start, zone, rules.window_for(state))
    if verdict.ok and at == now:
        return Go(True, at=now)
    reason = verdict.reason
    if verdict.ok:  # only the gap holds it back
        ago = max(0, int((now - last_call).total_seconds() // 60)) if last_call else 0
        reason = f"last call to this number {ago} min ago (minimum gap {rules.min_gap_minutes} min)"
    if at is None:
        return Go(False, f"{reason}; no hour is inside the window in every US zone: give the lead its state")
    verb = "opens" if reason.startswith("outside calling hours") else "can go"
    return Go(False, f"{reason}; {verb} {wait_text(now, at, zone)}", at)


def open_call_guard(call: Row | None) -> None:
    """D3: a rep's call still waiting for its outcome comes first."""
    if call is not None:
        raise Refused(
            f"call #{call['id']} to lead {call['lead_id']} ({call['number']}, placed {call['placed_at'][11:16]} UTC) "
            "has no outcome yet: record it first (D3)"
        )


# a call with no end and no outcome counts as going on this long (a crashed station's call)
LIVE_CALL = timedelta(hours=1)


def live_call_guard(phone: Row, live: Row | None, actor: Actor) -> None:
    """F2 for a number: one owner's properties are leads of their own and may share a phone; while
    another rep is on a call to it, nobody else dials it."""
    if live is not None and (live["rep"] or "").lower() != actor.name.lower():
        raise Refused(
            f"{phone['number']} is on {live['rep']}'s call now (lead {live['lead_id']}, placed"
            f" {live['placed_at'][11:16]} UTC): one owner is never dialled by two reps at once (F2)"
        )


def decide_call(
    now: datetime,
    *,
    lead: Row,
    phone: Row,
    actor: Actor,
    reservation: Row | None,
    open_call: Row | None,
    recent: Sequence[datetime],
    last_call: datetime | None,
    rules: CallingRules,
    live: Row | None = None,
) -> None:
    """D1 for one call, or Refused saying why and when it can go. `reservation`: the lead's live one;
    `open_call`: the rep's call without an outcome, if any; `live`: a call to the same number
    still going on (any lead's, any rep's)."""
    alive_guard(lead)
    holder_guard(lead, actor)
    reservation_guard(lead, reservation, actor)
    if lead["owner"] is None and reservation is None:
        raise Refused(
            f"lead {lead['id']} is in the pool and not on your screen: open it or claim it first (D1)"
        )
    open_call_guard(open_call)
    live_call_guard(phone, live, actor)
    go = phone_gate(now, lead=lead, phone=phone, recent=recent, last_call=last_call, rules=rules)
    if not go.ok:
        raise Refused(
            f"Lead {lead['id']} {lead['owner_name']}: no call to phone {phone['position']} "
            f"({phone['number']}): {go.reason} (D1)"
        )
