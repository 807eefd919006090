"""Leads in by hand, and the status keys: core decides, one transaction stores it all."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from leadtui import clock
from leadtui.core import inbox
from leadtui.core.calling import resolve_zone
from leadtui.core.decide import Seen, one_request_guard
from leadtui.core.identity import address_key, owner_key
from leadtui.core.rules import Actor, Decision, NeedsConfirmation, decide_status
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base, Outcome
from leadtui.service.calls import call_for, log_outcome
from leadtui.service.drafts import draft_contract
from leadtui.service.reads import others_json
from leadtui.store import calls as calllog
from leadtui.store import queries as q


class Leads(Base):
    """Adding leads and setting statuses (W1-W13, L1, L2)."""

    if TYPE_CHECKING:  # from Reads, beside it in Service

        def lead(self, lead_id: int, *, events: bool = False, viewer: str | None = None) -> dict: ...

    def add_lead(
        self,
        *,
        owner_name: str,
        address: str,
        phones: Iterable[str] = (),
        city: str | None = None,
        state: str | None = None,
        zip_code: str | None = None,
        mailing_address: str | None = None,
        mailing_city: str | None = None,
        mailing_state: str | None = None,
        mailing_zip: str | None = None,
        apn: str | None = None,
        county: str | None = None,
        emails: Iterable[str] = (),
        source_list: str | None = None,
        source_status: str | None = None,
        notes: str = "",
        rep: str | None = None,
    ) -> dict:
        """L1: a lead entered by hand gets the playbook's initial status; a duplicate is refused."""
        from leadtui.core import (
            phones as phonelib,  # phonenumbers: ~20 ms, only where phones are parsed
        )

        if not owner_name.strip() or not address.strip():
            raise LeadtuiError("a lead needs --owner and --address")
        numbers = []
        for raw in phones:
            number = phonelib.normalize(raw)
            if number is None:
                raise LeadtuiError(f"not a phone number: {raw!r}")
            if number not in numbers:
                numbers.append(number)
        mailing = (
            mailing_address or address,
            mailing_city or city,
            mailing_state or state,
            mailing_zip or zip_code,
        )
        now = self.now()
        fields = {
            "owner_name": owner_name.strip(),
            "address": address.strip(),
            "city": city,
            "state": state and state.strip().upper(),
            "zip": zip_code,
            "mailing_address": mailing[0],
            "mailing_city": mailing[1],
            "mailing_state": mailing[2],
            "mailing_zip": mailing[3],
            "apn": apn,
            "county": county,
            "emails": json.dumps(list(emails)),
            "source_list": source_list,
            "source_status": source_status,
            "notes": notes,
            "owner_key": owner_key(owner_name, mailing[0], mailing[3]),
            "address_key": address_key(address, zip_code),
            "status": self.playbook.initial,
            "created_at": clock.stamp(now),
            "updated_at": clock.stamp(now),
        }
        with self.db.write() as conn:
            actor = self._actor(conn, rep).name if rep else None
            dup = q.lead_at_address(conn, fields["address_key"])
            if dup is not None:
                raise Refused(f"lead {dup} already has that property address (B2: no duplicates)")
            lead_id = q.insert_lead(conn, fields)
            q.insert_phones(
                conn,
                [
                    (lead_id, i, n, None, 0, 0, resolve_zone(phonelib.time_zones(n), fields["state"]))
                    for i, n in enumerate(numbers, 1)
                ],
            )
            self._event(
                conn,
                now,
                lead_id=lead_id,
                rep=actor,
                kind="created",
                status=fields["status"],
                data={"source": "manual"},
            )
        return self.lead(lead_id)

    def set_status(
        self,
        lead_id: int,
        status: str,
        rep: str | None,
        *,
        phone: int | None = None,
        at: str | None = None,
        amount: float | None = None,
        source: str | None = None,
        confirm: bool = False,
        override: bool = False,
        seen: Seen | None = None,
        call_id: int | None = None,
        why: str | None = None,
    ) -> Outcome:
        """A status key: core decides, one transaction stores lead, event and outbox rows. It is the
        outcome of call `call_id` (else of this station's call to the lead still waiting for one):
        linked to it, on its phone, with no second dial check (D1 gated the call). A dial recorded
        with no call is logged as a reported call (D2: caps count calls). `why`: the rep's one-line
        reason, kept on an approval request (W13) for the manager, else on the event."""
        st = self.playbook.status(status)
        why = inbox.reason(why)
        now = self.now()
        with self.db.write(lead=lead_id) as conn:
            name = self._acting(rep)
            self._ahead(
                conn,
                lead_id,
                rep,
                now,
                lambda c: q.phones(c, [lead_id]),
                lambda c: (
                    calllog.open_of(c, station=self.station) if call_id is None else calllog.get(c, call_id)
                ),
                lambda c: self._lead_calls_24h(c, lead_id, now) if st.dial else None,  # a dial's cap
                lambda c: self._presses(c, lead_id, name, now) if name and not st.dial else None,  # W20
            )
            actor = self._actor(conn, rep)
            lead = self._target(conn, lead_id, actor, seen, now)
            phones = q.phones(conn, [lead_id])[lead_id]
            call = call_for(conn, lead_id, call_id, self.station)
            if phone is None and call is not None:
                phone = call["phone_position"]
            if phone is None and seen is not None:
                phone = seen.phone  # F1: the phone that was on screen
            appointment = self._parse_at(at, lead, phones) if at else None
            try:
                d = decide_status(
                    st,
                    lead,
                    phones,
                    actor,
                    now,
                    phone=phone,
                    appointment_at=appointment,
                    amount=amount,
                    source=source,
                    confirm=confirm,
                    override=override,
                    rules=self.rules,
                    dials_24h=self._calls_24h(conn, now, lead_id),
                    gated=call is not None,
                )
            except NeedsConfirmation as exc:
                numbers = [p["number"] for p in phones]
                exc.others = others_json(self.playbook, conn, lead, numbers)  # W11: so the rep can work them
                raise
            inputs = {
                k: v
                for k, v in {
                    "phone": phone,
                    "at": at,
                    "amount": amount,
                    "source": source,
                    "confirm": confirm or None,
                    "override": override or None,
                }.items()
                if v is not None
            }
            extra = {"call": call["id"] if call is not None else None, "why": why}
            out = self._apply(conn, lead, phones, d, actor, now, extra=extra, inputs=inputs)
            log_outcome(conn, call, st.id, d, out.event_id, phones, actor.name, self.station, now)
            return out

    def _apply(
        self,
        conn: sqlite3.Connection,
        lead: sqlite3.Row,
        phones: list[sqlite3.Row],
        d: Decision,
        actor: Actor,
        now: datetime,
        extra: dict | None = None,
        inputs: dict | None = None,
    ) -> Outcome:
        """Store a Decision: lead and phone fields, the event, outbox rows, the approval."""
        # W20: a repeated key credits and queues nothing
        d = self._credit(conn, lead["id"], d, actor.name, now)
        data = {k: v for k, v in {**d.data, **(extra or {})}.items() if v is not None}
        if d.kind == "approval_requested":
            assert d.status is not None  # decide_status names the status asked for
            one_request_guard(q.pending_approval(conn, lead["id"], actor.name))
            why = data.pop("why", None)
            event_id = self._event(
                conn,
                now,
                lead_id=lead["id"],
                rep=actor.name,
                kind=d.kind,
                status=d.status,
                data={"why": why} if why else None,
            )
            approval = q.insert_approval(
                conn,
                lead_id=lead["id"],
                rep_name=actor.name,
                status=d.status,
                now=clock.stamp(now),
                event_id=event_id,
                inputs=inputs or {},
                reason=why,
            )
            return Outcome(lead["id"], f"{d.message} (approval #{approval})", event_id, approval_id=approval)
        if d.phones:
            data["phones_before"] = {
                str(pid): {k: next(p[k] for p in phones if p["id"] == pid) for k in ch}
                for pid, ch in d.phones.items()
            }
            for pid, change in d.phones.items():
                q.update_phone(conn, pid, change)
        fields = dict(d.fields)
        if d.draft:
            fields["contract_path"] = draft_contract(
                d.draft, {**dict(lead), **fields}, actor.name, now, self.contracts_dir, self.templates_dir
            )
        cancelled = q.cancel_actions(conn, clock.stamp(now), lead_id=lead["id"])[0] if d.kill else []
        if cancelled:
            data["cancelled"] = [f"{a['action']} #{a['id']}" for a in cancelled]
        if d.actions:
            data["queued"] = list(d.actions)
        event_id = self._change(
            conn,
            lead,
            fields,
            now,
            actor.name,
            d.kind,
            status=d.status,
            phone_id=d.phone_id,
            dial=d.dial,
            kpi=d.kpi,
            data=data or None,
        )
        outcome = Outcome(lead["id"], d.message, event_id, advance=d.advance)
        if cancelled:
            outcome.message += f"; {len(cancelled)} pending action(s) cancelled (W10)"
        if d.actions:
            payload = self._payload(conn, lead["id"], actor.name)
            for action in d.actions:
                q.insert_action(
                    conn,
                    lead_id=lead["id"],
                    event_id=event_id,
                    action=action,
                    payload={"action": action, **payload},
                    now=clock.stamp(now),
                    due=clock.stamp(now + self.delay),
                )
            outcome.message += f"; queued {', '.join(d.actions)}"
        return outcome
