"""The controls: claim, release, assign, follow-up, undo; and the station's reservation (F2)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from leadtui import clock
from leadtui.core.decide import (
    Seen,
    decide_assign,
    decide_claim,
    decide_followup,
    decide_release,
    decide_reserve,
    decide_undo,
)
from leadtui.core.inbox import ANYONE, MINE
from leadtui.core.rules import Actor, Decision
from leadtui.errors import Refused
from leadtui.service.base import Base, Outcome, PinRequired
from leadtui.service.stations import refresh as station_moved
from leadtui.store import calls as calllog
from leadtui.store import queries as q
from leadtui.store import reservations


class Controls(Base):
    """W14-W16, W18, W19 and F2. Each is read -> core decides -> store applies, in one transaction."""

    def _store(
        self,
        conn: sqlite3.Connection,
        lead: sqlite3.Row,
        d: Decision,
        now: datetime,
        actor: str,
        **event: Any,
    ) -> Outcome:
        """Apply a control's Decision: the lead's fields and its event (nothing for kind "none")."""
        if d.kind == "none":
            return Outcome(lead["id"], d.message)
        d = self._credit(conn, lead["id"], d, actor, now)  # W20: a follow-up's credit, once a day
        event_id = self._change(
            conn, lead, d.fields, now, actor, d.kind, data=d.data or None, kpi=d.kpi, **event
        )
        return Outcome(lead["id"], d.message, event_id)

    def _as_manager(
        self,
        conn: sqlite3.Connection,
        check: Callable[[sqlite3.Connection], Actor] | None,
        rep: str | None,
        what: str,
    ) -> None:
        """Inside the transaction: the PIN given was checked before it (or is asked for now)."""
        actor = self._actor(conn, rep)
        if not actor.manager:
            raise Refused(f"only a manager may {what}")
        if check is None:
            raise PinRequired(f"{what} needs {actor.name}'s manager PIN")
        check(conn)

    def claim(self, lead_id: int, rep: str | None, *, seen: Seen | None = None) -> Outcome:
        """W14: lock a pool lead to the rep; of two stations at once exactly one wins."""
        now = self.now()
        with self.db.write(lead=lead_id) as conn:
            self._ahead(conn, lead_id, rep, now)
            actor = self._actor(conn, rep)
            lead = self._target(conn, lead_id, actor, seen, now)
            return self._store(conn, lead, decide_claim(lead, actor), now, actor.name)

    def release(
        self, lead_id: int, rep: str | None, pin: str | None = None, *, seen: Seen | None = None
    ) -> Outcome:
        """W15: the rep's lead back to the pool (another rep's: a manager, with PIN)."""
        now = self.now()
        check = self._manager_first(rep, pin, "release another rep's lead") if pin is not None else None
        with self.db.write(lead=lead_id) as conn:
            self._ahead(conn, lead_id, rep, now)
            actor = self._actor(conn, rep)
            lead = self._target(conn, lead_id, actor, seen, now)
            d, needs_manager = decide_release(lead, actor)
            if needs_manager:
                self._as_manager(conn, check, rep, f"release {lead['owner']}'s lead")
            return self._store(conn, lead, d, now, actor.name)

    def assign(
        self, lead_id: int, to: str, rep: str | None, pin: str | None = None, *, seen: Seen | None = None
    ) -> Outcome:
        """W16: a pool lead or your own to anyone; another rep's only by a manager."""
        now = self.now()
        check = self._manager_first(rep, pin, "take a lead from another rep") if pin is not None else None
        with self.db.write(lead=lead_id) as conn:
            self._ahead(conn, lead_id, rep, now, lambda c: q.rep(c, to, pin=False))
            actor = self._actor(conn, rep)
            target = self._someone(conn, to)
            lead = self._target(conn, lead_id, actor, seen, now)
            d, needs_manager = decide_assign(lead, actor, target)
            if needs_manager:
                self._as_manager(conn, check, rep, f"take a lead from {lead['owner']}")
            return self._store(conn, lead, d, now, actor.name)

    def followup(
        self, lead_id: int, rep: str | None, asked: str, *, anyone: bool = False, seen: Seen | None = None
    ) -> Outcome:
        """W18: call back at half the interval the lead asked for; the lead stays with the rep. An
        `anyone` callback goes back to the pool when due, for any rep to make (issue 16)."""
        now = self.now()
        scope = ANYONE if anyone else MINE
        with self.db.write(lead=lead_id) as conn:
            self._ahead(conn, lead_id, rep, now)
            actor = self._actor(conn, rep)
            lead = self._target(conn, lead_id, actor, seen, now)
            return self._store(conn, lead, decide_followup(lead, actor, now, asked, scope), now, actor.name)

    def undo(self, lead_id: int, rep: str | None, *, seen: Seen | None = None) -> Outcome:
        """W19: reverse the rep's last action on the lead within 10 minutes."""
        now = self.now()
        with self.db.write(lead=lead_id) as conn:
            self._ahead(
                conn,
                lead_id,
                rep,
                now,
                lambda c: q.undone_ids(c, lead_id),
                lambda c: q.events(c, lead_id, limit=200),
            )
            actor = self._actor(conn, rep)
            lead = self._target(conn, lead_id, actor, seen, now, moved_on=True)
            undone = q.undone_ids(conn, lead_id)
            events = [e for e in q.events(conn, lead_id, limit=200) if e["id"] not in undone]
            d, target = decide_undo(lead, events, actor, now)
            if target["kind"] == "approval_requested":
                approval = q.approval_of_event(conn, target["id"])
                if approval["state"] != "pending":
                    raise Refused(f"approval #{approval['id']} was already {approval['state']} (W19)")
                q.decide_approval(conn, approval["id"], "cancelled", actor.name, clock.stamp(now), "undone")
            for pid, values in d.phones.items():
                q.update_phone(conn, pid, values)
            calllog.reopen(conn, target["id"])  # a call whose outcome this was waits for a new one (D3)
            station_moved(conn, self.station, now)
            cancelled, went = q.cancel_actions(conn, clock.stamp(now), event_id=target["id"])
            if cancelled:
                d.data["cancelled"] = [f"{a['action']} #{a['id']}" for a in cancelled]
            event_id = self._change(
                conn, lead, d.fields, now, actor.name, "undo", undoes=d.undoes, data=d.data
            )
        label = (
            self.playbook.status(target["status"]).label
            if target["status"]
            else target["kind"].replace("_", " ")
        )
        outcome = Outcome(lead_id, f"undid {label} on lead {lead_id}", event_id)
        outcome.warnings = [
            f"{a['action']} is being delivered right now; it may still arrive"
            if a["state"] == "in flight"
            else f"{a['action']} already went out ({a['state']} {a['done_at']}); it can't be recalled"
            for a in went
        ]
        return outcome

    # --- F2: the lead on a station's screen ---------------------------------------------------

    def reserve(self, rep: str, lead_ids: list[int]) -> int | None:
        """Reserve for this station the first of `lead_ids` it may have (others' screens and
        hands skipped); its previous reservation goes. Returns the lead reserved, or None."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            actor = self._actor(conn, rep)
            chosen = next(
                (lead_id for lead_id in lead_ids if self._may_reserve(conn, lead_id, actor, now)), None
            )
            if chosen is None:
                reservations.drop(conn, self.station, clock.stamp(now))
            else:
                reservations.put(
                    conn,
                    chosen,
                    actor.name,
                    self.station,
                    clock.stamp(now),
                    clock.stamp(now + timedelta(seconds=self.reserve_seconds)),
                )
            station_moved(conn, self.station, now)
        return chosen

    def _may_reserve(self, conn: sqlite3.Connection, lead_id: int, actor: Actor, now: datetime) -> bool:
        if not reservations.take(conn, lead_id):
            return False
        lead = q.lead(conn, lead_id)
        if lead is None:
            return False
        try:
            decide_reserve(lead, reservations.of_lead(conn, lead_id, clock.stamp(now)), actor)
        except Refused:
            return False
        return True

    def unreserve(self) -> None:
        """This station lets go of its lead (moving to none, or quitting)."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            reservations.drop(conn, self.station, clock.stamp(now))
            station_moved(conn, self.station, now)
