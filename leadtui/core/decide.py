"""The controls as pure decisions: claim, release, assign, follow-up, undo, revive, and the
station's own two (F1: the key acts on the lead shown; F2: reserving the lead on screen).

Each `decide_*` takes rows the service read inside its transaction and returns a Decision
(lead fields, event kind and data, message) or raises Refused saying why not. A Decision of
kind "none" changes nothing (the lead is already as asked)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadtui.clock import stamp
from leadtui.core.followup import half_way
from leadtui.core.inbox import ANYONE, MINE
from leadtui.core.kpi import FOLLOWUP, FOLLOWUP_KPI
from leadtui.core.rules import Actor, Decision, Row, alive_guard, holder_guard
from leadtui.errors import LeadtuiError, Refused

UNDO_WINDOW = timedelta(minutes=10)
UNDOABLE = ("status", "wrong_report", "claim", "release", "assign", "followup", "approval_requested")
# kinds that change a lead's state: one of these after yours (by anyone) blocks your undo
CHANGES = (
    "status",
    "wrong_report",
    "claim",
    "release",
    "assign",
    "followup",
    "revive",
    "hold_expired",
    "migrate",
    "callback_due",
    "handover",
)


@dataclass(frozen=True)
class Seen:
    """What the station showed when the key was pressed: the lead's owner then, its phone, and its
    status (None: not checked, as for a key chained behind the station's own on the lead)."""

    owner: str | None
    phone: int | None = None
    status: str | None = None


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()


def seen_guard(
    lead: Row, seen: Seen | None, actor: Actor, changed_by: Callable[[], str | None] = lambda: None
) -> None:
    """F1: refuse a key whose lead changed hands after the rep saw it, naming who has it now, or
    whose status someone else changed meanwhile (a cool-off a key would clear). `changed_by` gives
    who made the lead's last change (None: the floor itself); the rep's own may still be on its way
    to the screen, and is no reason to refuse."""
    if seen is None:
        return
    owner = lead["owner"]
    if not _same(owner, seen.owner):
        if owner is None:
            now = "went back to the pool"
        elif _same(owner, actor.name):
            now = "became yours"
        else:
            now = f"was taken by {owner}"
        raise Refused(f"lead {lead['id']} {now} since it was on your screen; nothing was changed (F1)")
    if seen.status is None or lead["status"] == seen.status:
        return
    by = changed_by()
    if by is not None and _same(by, actor.name):
        return
    raise Refused(
        f"lead {lead['id']}'s status was changed by {by or 'the floor'} since it was on your screen;"
        " nothing was changed (F1)"
    )


def reservation_guard(lead: Row, reservation: Row | None, actor: Actor) -> None:
    """F2: another rep's station has the lead on screen: nobody else writes on it meanwhile."""
    if reservation is not None and not _same(reservation["rep"], actor.name):
        raise Refused(
            f"lead {lead['id']} is on {reservation['rep']}'s screen (reserved until "
            f"{reservation['until'][11:16]} UTC) (F2)"
        )


def decide_reserve(lead: Row, reservation: Row | None, actor: Actor) -> None:
    """F2: a station may reserve a live lead that is in the pool or its rep's, and not on another rep's screen."""
    alive_guard(lead)
    holder_guard(lead, actor)
    reservation_guard(lead, reservation, actor)


def decide_claim(lead: Row, actor: Actor) -> Decision:
    """W14: a pool lead (or one held for a W9 hold) becomes the rep's."""
    alive_guard(lead)
    if _same(lead["owner"], actor.name) and not lead["hold_until"]:
        return Decision(kind="none", message=f"lead {lead['id']} is already yours")
    holder_guard(lead, actor)
    return Decision(
        kind="claim",
        fields={"owner": actor.name, "hold_until": None, **_callback_held(lead)},
        message=f"lead {lead['id']} claimed by {actor.name}",
    )


def decide_release(lead: Row, actor: Actor) -> tuple[Decision, bool]:
    """W15: back to the pool. Also says whether a manager's PIN is needed (another rep's lead)."""
    alive_guard(lead)
    if lead["owner"] is None:
        return Decision(kind="none", message=f"lead {lead['id']} is already in the pool"), False
    d = Decision(
        kind="release",
        fields={"owner": None, "hold_until": None, **_callback_pooled(lead)},
        message=f"lead {lead['id']} released to the pool",
    )
    return d, not _same(lead["owner"], actor.name)


def decide_assign(lead: Row, actor: Actor, target: Actor) -> tuple[Decision, bool]:
    """W16: a pool lead or your own to anyone; another rep's needs a manager (the bool)."""
    alive_guard(lead)
    owner = lead["owner"]
    if owner and _same(owner, target.name):
        return Decision(kind="none", message=f"lead {lead['id']} is already {target.name}'s"), False
    d = Decision(
        kind="assign",
        fields={"owner": target.name, "hold_until": None, **_callback_held(lead)},
        data={"from": owner, "to": target.name},
        message=f"lead {lead['id']} assigned to {target.name}",
    )
    return d, bool(owner) and not _same(owner, actor.name)


def decide_followup(lead: Row, actor: Actor, now: datetime, asked: str, scope: str = MINE) -> Decision:
    """W18: call back at half the interval the lead asked for; the lead stays with the rep until then.
    A callback is the rep's own (`mine`, W18) or `anyone`'s: back to the pool when due (issue 16)."""
    requested, scheduled = half_way(now, asked)
    alive_guard(lead)
    holder_guard(lead, actor)
    if scope not in (MINE, ANYONE):
        raise LeadtuiError(f"a callback is {MINE} or {ANYONE}, not {scope!r}")
    return Decision(
        kind="followup",
        kpi=FOLLOWUP_KPI,  # W20: the owner asked to be called back, a conversation
        press=FOLLOWUP,
        fields={
            "owner": actor.name,
            "hold_until": None,
            "cooloff_until": None,  # a callback ends a cool-off
            "next_call_at": scheduled,
            "followup_requested_at": requested,
            "callback": scope,
        },
        data={
            "asked": asked,
            "requested": stamp(requested),
            "scheduled": stamp(scheduled),
            "callback": scope,
        },
        message=(
            f"call back {scheduled.date().isoformat()} (asked for {requested.date().isoformat()})"
            + ("; anyone's: back to the pool when due" if scope == ANYONE else "")
        ),
    )


def _callback_held(lead: Row) -> dict:
    """A lead that gets an owner: an `anyone` callback on it becomes theirs (it won't go back to the pool)."""
    return {"callback": MINE} if lead["callback"] == ANYONE else {}


def _callback_pooled(lead: Row) -> dict:
    """A lead back in the pool: a callback on it becomes anyone's, still made when due."""
    return {"callback": ANYONE} if lead["callback"] == MINE else {}


def decide_undo(lead: Row, events: Sequence[Row], actor: Actor, now: datetime) -> tuple[Decision, Row]:
    """W19: the rep's last action on the lead within 10 minutes, if nothing changed the lead since.
    `events` are the lead's events not already undone, oldest first. Returns the decision and the
    event it reverses (the service cancels that event's actions and a pending approval)."""
    mine = [
        e
        for e in events
        if e["kind"] in UNDOABLE
        and _same(e["rep"], actor.name)
        and "approved_by" not in json.loads(e["data"] or "{}")
    ]  # a manager's approval stays
    if not mine or mine[-1]["at"] < stamp(now - UNDO_WINDOW):
        raise Refused(f"nothing of yours to undo on lead {lead['id']} in the last 10 minutes (W19)")
    target = mine[-1]
    later = [e for e in events if e["id"] > target["id"] and e["kind"] in CHANGES]
    if later:
        raise Refused(
            f"lead {lead['id']} changed since ({later[-1]['kind']} by {later[-1]['rep'] or 'the system'}); "
            "can't undo (W19)"
        )
    data = json.loads(target["data"] or "{}")
    phones = {int(pid): values for pid, values in data.get("phones_before", {}).items()}
    return Decision(
        kind="undo",
        fields=json.loads(target["before"] or "{}"),
        phones=phones,
        undoes=target["id"],
        data={"undid": target["kind"], "status": target["status"]},
    ), target


def decide_revive(
    lead: Row, events: Sequence[Row], initial: str, now: datetime, active: Callable[[str], bool]
) -> Decision:
    """W10: a killed lead back to what it was before the kill (its owner only if still active).
    `events` are the lead's events not undone, oldest first."""
    if not lead["dead"]:
        raise Refused(f"lead {lead['id']} is not dead")
    kill = next((e for e in reversed(events) if json.loads(e["after"] or "{}").get("dead") == 1), None)
    restore = json.loads(kill["before"]) if kill else {}
    restore.update(dead=0, status=restore.get("status", lead["status"] if kill else initial))
    if restore.get("owner") and not active(restore["owner"]):
        restore["owner"] = None
    if restore.get("hold_until") and restore["hold_until"] <= stamp(now):
        restore["hold_until"] = None
    return Decision(kind="revive", fields=restore, data={"killed_by": kill["rep"] if kill else None})


def approval_stale(later: Sequence[Row]) -> str | None:
    """W13: what changed on the lead since a request (`later`: its events after the request), e.g.
    "claim by bob", or None while the request still matches the lead."""
    changed = [e for e in later if e["kind"] in CHANGES or e["kind"] == "undo"]
    if not changed:
        return None
    last = changed[-1]
    what = f"{last['kind'].replace('_', ' ')}{' ' + last['status'] if last['status'] else ''}"
    return f"{what} by {last['rep'] or 'the system'}"


def approval_guard(approval: Row, later: Sequence[Row]) -> None:
    """W13: a request is approved only as it was asked: refused if the lead changed since (events
    after the request, undone ones excluded), saying what changed."""
    what = approval_stale(later)
    if what:
        raise Refused(
            f"approval #{approval['id']} is stale: lead {approval['lead_id']} changed since it was asked "
            f"({what}); reject it, the rep can ask again (W13)"
        )


def one_request_guard(pending: Row | None) -> None:
    """W13: one pending request per lead and rep."""
    if pending is not None:
        raise Refused(
            f"lead {pending['lead_id']} already has your request #{pending['id']} ({pending['status']}) "
            "waiting for a manager (W13)"
        )
