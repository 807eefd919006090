"""What a status key does to a lead: a pure decision from the playbook's effects.

The service reads the lead inside its write transaction, asks `decide_status`,
and writes the Decision (lead fields, phone fields, event, outbox rows) at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from leadtui.clock import parse_iso
from leadtui.core.calling import CallingRules, check_dial, resolve_zone
from leadtui.core.cooloff import cooling_text, cooling_until, cooloff_end
from leadtui.core.playbook import Status
from leadtui.errors import LeadtuiError, Refused


class Row(Protocol):
    """A record read by column name: a sqlite3.Row from the store, or a dict."""

    def __getitem__(self, key: str, /) -> Any: ...


DEFAULT_RULES = CallingRules()  # the default window and cap (frozen, so one is shared)


@dataclass(frozen=True)
class Actor:
    name: str
    manager: bool
    started: date


@dataclass
class Decision:
    kind: str = "status"  # event kind: status | wrong_report | approval_requested
    status: str | None = None  # the status the event records
    fields: dict = field(default_factory=dict)  # lead column -> new value
    phones: dict = field(default_factory=dict)  # phone id -> {column: new value}
    phone_id: int | None = None
    dial: bool = False
    kpi: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    draft: str = ""
    kill: bool = False
    advance: str | None = None  # after W1's run: "phone" or "lead"
    message: str = ""
    data: dict = field(default_factory=dict)
    undoes: int | None = None  # W19: the event an undo reverses
    press: str | None = None  # the key pressed (a status id, or "followup"): W20 credits it once a day


class NeedsConfirmation(Refused):
    """W11: the rep must look at the owner's other properties and confirm first."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.others: list[dict] = []  # the owner's other properties, as the service finds them


def holder_guard(lead: Row, actor: Actor, rule: str = "W14") -> None:
    """Nobody acts on a lead another rep holds."""
    if lead["owner"] and lead["owner"].lower() != actor.name.lower():
        raise Refused(f"lead {lead['id']} is held by {lead['owner']} ({rule}); a manager can reassign it")


def alive_guard(lead: Row) -> None:
    if lead["dead"]:
        raise Refused(f"lead {lead['id']} is dead (W10); only a manager can revive it")


def dialable(phone: Row) -> bool:
    return not (phone["bad"] or phone["dnc"] or phone["litigator"])


def pick_phone(lead: Row, phones: Sequence[Row], position: int | None, usable: Callable[[Row], bool]) -> Row:
    """The phone asked for (`--phone N`), else the lead's current one, else its first usable one."""
    if position is not None:
        for phone in phones:
            if phone["position"] == position:
                return phone
        raise LeadtuiError(f"lead {lead['id']} has no phone {position} (it has {len(phones)})")
    for phone in phones:
        if phone["position"] == lead["cur_phone"] and usable(phone):
            return phone
    for phone in phones:
        if usable(phone):
            return phone
    raise Refused(f"lead {lead['id']} has no phone left to use (all bad, DNC or litigator)")


def why_not_now(
    lead: Row,
    phones: Sequence[Row],
    now: datetime,
    rules: CallingRules,
    dials_24h: Callable[[int], int],
) -> str | None:
    """Why the queue leaves a live lead out right now (B3, W1 cadence), or None when it can be dialled."""
    if not phones:
        return "no phone number"
    usable = [p for p in phones if dialable(p)]
    if not usable:
        return "no good phone (DNC, litigator or bad)"
    target = pick_phone(lead, phones, None, dialable)
    zone = resolve_zone((target["tz"],) if target["tz"] else (), lead["state"])
    cooling = cooling_until(lead["cooloff_until"], now)
    if cooling:
        return cooling_text(cooling, zone)
    if lead["next_call_at"] and parse_iso(lead["next_call_at"]) > now:
        when = parse_iso(lead["next_call_at"])
        return f"next call {when.astimezone(ZoneInfo(zone)) if zone else when:%a %b %d %H:%M}"
    verdict = check_dial(
        now,
        zone=target["tz"],
        state=lead["state"],
        dnc=False,
        litigator=False,
        bad=False,
        dials_24h=dials_24h(target["id"]),
        rules=rules,
    )
    return None if verdict.ok else verdict.reason


def _label(phone: Row) -> str:
    return f"phone {phone['position']} ({phone['number']})"


def needs_approval(st: Status, actor: Actor, now: datetime) -> bool:
    """W13: whether `st` set by `actor` now is only a request (a rep in their first `approval_days` days)."""
    return (
        bool(st.approval_days)
        and not actor.manager
        and now.date() < actor.started + timedelta(days=st.approval_days)
    )


def decide_status(
    st: Status,
    lead: Row,
    phones: Sequence[Row],
    actor: Actor,
    now: datetime,
    *,
    phone: int | None = None,
    appointment_at: datetime | None = None,
    amount: float | None = None,
    source: str | None = None,
    confirm: bool = False,
    override: bool = False,
    rules: CallingRules = DEFAULT_RULES,
    dials_24h: Callable[[int], int] = lambda _id: 0,
    approved: bool = False,
    gated: bool = False,
) -> Decision:
    """Apply status `st` for `actor`, or raise Refused / LeadtuiError saying why not. `gated`: the
    outcome of a call placed through the D1 gate, so its dial is not checked a second time."""
    alive_guard(lead)
    if not st.settable:
        raise Refused(f"{st.label} is set only by an import or `add`, not by hand")
    if not approved:
        holder_guard(lead, actor, "W2" if st.ownership == "claim" else "W14")
    if "appointment_at" in st.requires:
        if appointment_at is None:
            raise LeadtuiError(f"{st.label} needs the appointment's date and time (--at ISO) (W4)")
        if appointment_at <= now:
            raise LeadtuiError(f"the appointment time {appointment_at.isoformat()} is in the past")
    if amount is not None and amount < 0:
        raise LeadtuiError(f"an offer amount can't be negative: {amount}")
    if st.confirm_sources:
        if not confirm:
            raise NeedsConfirmation(
                f"{st.label} kills lead {lead['id']}: check the owner's other properties, then confirm "
                f"where the sale was seen (--source {'|'.join(st.confirm_sources)} --confirm) (W11)"
            )
        if source not in st.confirm_sources:
            raise LeadtuiError(f"{st.label} needs --source {'|'.join(st.confirm_sources)} (W11)")
    if not approved and needs_approval(st, actor, now):
        return Decision(
            kind="approval_requested",
            status=st.id,
            message=f"{st.label} needs a manager's approval in your first {st.approval_days} days (W13); request sent",
        )

    d = Decision(status=st.id, kpi=st.kpi, actions=st.actions, draft=st.draft, press=st.id)
    if lead["hold_until"]:
        d.fields["hold_until"] = None  # W9: anything the rep does ends the hold
    if lead["cooloff_until"]:
        d.fields["cooloff_until"] = None  # a new status ends a cool-off (one that releases again starts one)
    if lead["callback"]:
        d.fields["callback"] = None  # a status is the callback made: an `anyone` one stays where it is
    if st.reports_per_phone and not _wrong_number(d, st, lead, phones, phone):
        return d
    if st.dial:
        _dial(d, st, lead, phones, phone, now, rules, dials_24h, override, gated)
    _ownership(d, st, lead, actor, now)
    d.fields["status"] = st.id
    if appointment_at is not None:
        d.fields["appointment_at"] = appointment_at
    if amount is not None and "amount" in st.optional + st.requires:
        d.fields["offer_amount"] = amount
    if source:
        d.data["source"] = source
    d.message = d.message or f"{st.label} set"
    return d


def _wrong_number(d: Decision, st: Status, lead: Row, phones: Sequence[Row], position: int | None) -> bool:
    """W12: report the phone; True when no good phone is left and the status applies."""
    target = pick_phone(lead, phones, position, lambda p: not p["bad"])
    if target["bad"]:
        raise Refused(f"{_label(target)} is already marked bad (W12)")
    reports = target["wrong_reports"] + 1
    d.phone_id = target["id"]
    d.phones[target["id"]] = {
        "wrong_reports": reports,
        **({"bad": 1} if reports >= st.reports_per_phone else {}),
    }
    left = [p for p in phones if p["id"] != target["id"] and not p["bad"]]
    if reports < st.reports_per_phone or left:
        d.kind, d.status, d.actions, d.draft = "wrong_report", None, (), ""  # a report; the status waits
        d.data["press"] = st.id  # what was pressed, for W20's once a day
    if reports < st.reports_per_phone:
        d.message = f"wrong number {reports} of {st.reports_per_phone} on {_label(target)} (W12)"
        return False
    if left:
        if lead["cur_phone"] == target["position"]:
            following = [p for p in left if dialable(p)]
            if following:
                d.fields.update(cur_phone=following[0]["position"], dial_run=0)
        d.message = f"{_label(target)} marked bad after {reports} wrong-number reports (W12)"
        return False
    d.message = f"{_label(target)} marked bad; no good phone left: {st.label} (W12)"
    return True


def _dial(
    d: Decision,
    st: Status,
    lead: Row,
    phones: Sequence[Row],
    position: int | None,
    now: datetime,
    rules: CallingRules,
    dials_24h: Callable[[int], int],
    override: bool,
    gated: bool,
) -> None:
    """W1 + B3: record one dial attempt on the current phone, advancing after the run."""
    target = pick_phone(lead, phones, position, dialable)
    if not gated:
        verdict = check_dial(
            now,
            zone=target["tz"],
            state=lead["state"],
            dnc=bool(target["dnc"]),
            litigator=bool(target["litigator"]),
            bad=bool(target["bad"]),
            dials_24h=dials_24h(target["id"]),
            rules=rules,
            override=override,
        )
        if not verdict.ok:
            hint = " (--override to dial anyway)" if verdict.overridable else ""
            raise Refused(f"no dial on {_label(target)}: {verdict.reason} (B3){hint}")
    run = lead["dial_run"] + 1 if target["position"] == lead["cur_phone"] else 1
    d.dial, d.phone_id = True, target["id"]
    d.data.update(attempt=run, of=st.run_length, phone=target["position"], override=override or None)
    d.message = f"{st.label}: dial {run} of {st.run_length} on {_label(target)}"
    if run < st.run_length:
        d.fields.update(cur_phone=target["position"], dial_run=run)
        return
    usable = [p for p in phones if dialable(p)]
    following = [p for p in usable if p["position"] > target["position"]]
    if following:
        d.fields.update(cur_phone=following[0]["position"], dial_run=0)
        d.advance = "phone"
        d.message += f"; next: {_label(following[0])}"
    else:
        again = now + timedelta(days=st.cadence_days)
        d.fields.update(cur_phone=usable[0]["position"] if usable else None, dial_run=0, next_call_at=again)
        d.advance = "lead"
        d.message += f"; next call {again.date().isoformat()}"


def _ownership(d: Decision, st: Status, lead: Row, actor: Actor, now: datetime) -> None:
    if st.ownership in ("claim", "hold") and lead["owner"] is None:
        d.fields["owner"] = actor.name
        d.data["claimed"] = True
    if st.ownership == "hold":
        d.fields["hold_until"] = now + timedelta(days=st.hold_days)
    elif st.ownership == "release":
        if lead["owner"] is not None:
            d.fields["owner"] = None
        if st.cooloff_days:
            d.fields["cooloff_until"] = cooloff_end(st, now)
    elif st.ownership == "kill":
        d.kill = True
        d.actions = ()
        d.fields.update(owner=None, hold_until=None, next_call_at=None, dead=1)
