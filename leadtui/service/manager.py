"""What a manager does: add reps, approve or reject, revive."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime
from typing import TYPE_CHECKING

from leadtui import clock
from leadtui.core.decide import approval_guard, decide_revive
from leadtui.core.names import rep_name_problem
from leadtui.core.pins import hash_pin, pin_problem
from leadtui.core.roster import manager_needed_to_add
from leadtui.core.rules import Actor, Decision, decide_status
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base, Outcome
from leadtui.service.calls import log_outcome
from leadtui.store import queries as q


class Managing(Base):
    """W10, W13 and the floor's reps."""

    if TYPE_CHECKING:  # from Reads and Leads, beside it in Service

        def reps(self) -> list[dict]: ...

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
        ) -> Outcome: ...

    def add_rep(
        self,
        name: str,
        *,
        manager: bool = False,
        started: date | None = None,
        pin: str | None = None,
        acting: str | None = None,
        acting_pin: str | None = None,
    ) -> dict:
        """Add a rep. Once the floor has a manager, adding anyone needs an acting manager's PIN (a
        back-dated rep would skip W13's first 30 days); the first manager needs no one's."""
        name = name.strip()
        with self.db.read() as conn:
            problem = rep_name_problem(name, [r["name"] for r in q.reps(conn)])
        if problem:
            raise LeadtuiError(problem)
        if manager and not pin:
            raise LeadtuiError("a manager needs a PIN (--pin)")
        problem = pin_problem(pin) if pin is not None else None
        if problem:
            raise LeadtuiError(problem)
        now = self.now()
        with self.db.read() as conn:
            needed = manager_needed_to_add(q.has_manager(conn), manager, started, now.date())
        # F4: scrypt (the acting manager's PIN, the new PIN's hash) runs with no transaction open
        check = self._manager_first(acting, acting_pin, needed) if needed else None
        hashed = hash_pin(pin) if pin else None
        with self.db.write() as conn:
            if check is not None:
                check(conn)
            elif q.has_manager(conn):
                raise Refused("a manager was added meanwhile: adding a rep now needs an acting manager's PIN")
            if q.rep(conn, name) is not None:
                raise LeadtuiError(f"there is already a rep named {name!r}")
            q.insert_rep(
                conn,
                name,
                "manager" if manager else "rep",
                (started or now.date()).isoformat(),
                hashed,
                clock.stamp(now),
            )
        return next(r for r in self.reps() if r["name"] == name)

    def approve(self, approval_id: int, rep: str | None, pin: str | None) -> Outcome:
        """W13: a manager approves; the status applies now, credited to the rep who asked."""
        now = self.now()
        check = self._manager_first(rep, pin, "approve")
        with self.db.write() as conn:
            manager = check(conn)
            row = self._pending(conn, approval_id)
            lead = self._lead(conn, row["lead_id"])
            approval_guard(row, q.events_after(conn, lead["id"], row["event_id"]))
            requester = self._someone(conn, row["rep"])
            phones = q.phones(conn, [lead["id"]])[lead["id"]]
            given = json.loads(row["inputs"])
            at = given.pop("at", None)
            d = decide_status(
                self.playbook.status(row["status"]),
                lead,
                phones,
                requester,
                now,
                approved=True,
                appointment_at=self._parse_at(at, lead, phones) if at else None,
                rules=self.rules,
                dials_24h=self._calls_24h(conn, now, lead["id"]),
                **given,
            )
            outcome = self._apply(
                conn,
                lead,
                phones,
                d,
                requester,
                now,
                extra={"approval": approval_id, "approved_by": manager.name, "why": row["reason"]},
            )
            log_outcome(
                conn, None, row["status"], d, outcome.event_id, phones, requester.name, self.station, now
            )
            q.decide_approval(conn, approval_id, "approved", manager.name, clock.stamp(now))
        outcome.message = f"approval #{approval_id} approved: {outcome.message}"
        return outcome

    def reject(self, approval_id: int, rep: str | None, pin: str | None, why: str) -> Outcome:
        """W13: a manager rejects; the lead is unchanged and the rep sees why."""
        if not why.strip():
            raise LeadtuiError("say why (--why TEXT): the rep sees it")
        now = self.now()
        check = self._manager_first(rep, pin, "reject")
        with self.db.write() as conn:
            manager = check(conn)
            row = self._pending(conn, approval_id)
            q.decide_approval(conn, approval_id, "rejected", manager.name, clock.stamp(now), why.strip())
            event_id = self._event(
                conn,
                now,
                lead_id=row["lead_id"],
                rep=manager.name,
                kind="approval_rejected",
                status=row["status"],
                data={"approval": approval_id, "for": row["rep"], "why": why.strip()},
            )
        return Outcome(row["lead_id"], f"approval #{approval_id} rejected", event_id)

    def _pending(self, conn: sqlite3.Connection, approval_id: int) -> sqlite3.Row:
        row = q.approval(conn, approval_id)
        if row is None:
            raise LeadtuiError(f"no approval {approval_id}")
        if row["state"] != "pending":
            raise Refused(f"approval #{approval_id} is already {row['state']}")
        return row

    def revive(self, lead_id: int, rep: str | None, pin: str | None) -> Outcome:
        """W10: a manager brings a killed lead back to what it was before the kill."""
        now = self.now()
        check = self._manager_first(rep, pin, "revive a lead")
        with self.db.write() as conn:
            manager = check(conn)
            lead = self._lead(conn, lead_id)
            undone = q.undone_ids(conn, lead_id)
            events = [e for e in q.events(conn, lead_id) if e["id"] not in undone]

            def active(name: str) -> bool:
                row = q.rep(conn, name)
                return row is not None and bool(row["active"])

            d = decide_revive(lead, events, self.playbook.initial, now, active)
            event_id = self._change(conn, lead, d.fields, now, manager.name, d.kind, data=d.data)
        restore = d.fields
        label = self.playbook.status(restore["status"]).label
        return Outcome(lead_id, f"lead {lead_id} revived as {label}", event_id)
