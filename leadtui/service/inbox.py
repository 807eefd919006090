"""The manager's inbox (issue 16): approvals with their lead's context and a stale mark, drip
replies routed to the reps whose leads they are on (W17), callbacks and appointments per rep, the
badges a station shows, and a rep's hand-over of their leads and callbacks."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, tzinfo

from leadtui import clock
from leadtui.core.decide import approval_stale
from leadtui.core.inbox import day_bounds, decide_handover, reply_guard, section
from leadtui.core.optout import opt_out
from leadtui.core.rules import needs_approval
from leadtui.errors import LeadtuiError
from leadtui.service.base import Base, Outcome
from leadtui.service.shapes import event_json, lead_json
from leadtui.store import inbox
from leadtui.store import queries as q

CONTEXT_EVENTS = 5  # the lead's last events an approval shows
CONTEXT_REPLIES = 3  # and its last replies
CALLBACK_DAYS = 7  # the callbacks view looks this many days ahead ("my callbacks this week")
HANDOVER_CHUNK = 500  # leads a hand-over moves in one transaction at most (F4)
CALLBACK_LIMIT = 500  # rows of callbacks (and of appointments) one read returns at most


class Inbox(Base):
    """What lands on a rep's or a manager's desk, and handing a rep's desk over."""

    def floor_zone(self) -> tzinfo:
        """The zone the floor's times are shown and its days counted in (`[floor] timezone`, default
        the system's)."""
        return self.zone

    def local(self, stamp: str) -> datetime:
        """A stored time (UTC) in the floor's zone, for a screen or a report."""
        return clock.parse_iso(stamp).astimezone(self.floor_zone())

    # --- approvals (W13) -----------------------------------------------------------------------

    def approvals(self, rep: str, *, all_states: bool = False) -> list[dict]:
        """Approvals: a manager sees the pending ones (everyone's), a rep their own, with the why of a
        rejection. Each has its lead (owner name, address, owner and status now), the rep's reason,
        the lead's last events and replies, and `stale`: what changed on the lead since the request
        (a pending request that no longer matches its lead can't be approved), else None."""
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            states: tuple[str, ...] = (
                ("pending", "approved", "rejected", "cancelled") if all_states else ("pending",)
            )
            if not actor.manager and not all_states:
                states = ("pending", "rejected")
            rows = inbox.approvals(conn, states=list(states), rep_name=None if actor.manager else actor.name)
            return [self._approval(conn, r) for r in rows]

    def _approval(self, conn: sqlite3.Connection, r: sqlite3.Row) -> dict:
        lead_id = r["lead_id"]
        stale = None
        if r["state"] == "pending" and r["event_id"] is not None:
            stale = approval_stale(q.events_after(conn, lead_id, r["event_id"]))
        undone = q.undone_ids(conn, lead_id)
        return {
            "id": r["id"],
            "lead_id": lead_id,
            "rep": r["rep"],
            "status": r["status"],
            "status_label": self.playbook.label(r["status"]),
            "state": r["state"],
            "requested_at": r["requested_at"],
            "reason": r["reason"],
            "decided_by": r["decided_by"],
            "decided_at": r["decided_at"],
            "why": r["why"],
            "stale": stale,
            "lead": {
                "owner_name": r["owner_name"],
                "address": r["address"],
                "city": r["city"],
                "state": r["l_state"],
                "owner": r["lead_owner"],
                "status": r["lead_status"],
                "status_label": self.playbook.label(r["lead_status"]),
                "dead": bool(r["lead_dead"]),
            },
            "events": [event_json(e, undone) for e in inbox.last_events(conn, lead_id, CONTEXT_EVENTS)],
            "replies": [
                {
                    "id": m["id"],
                    "from_number": m["from_number"],
                    "body": m["body"],
                    "received_at": m["received_at"],
                    "cleared": m["cleared_at"] is not None,
                }
                for m in inbox.lead_replies(conn, lead_id, CONTEXT_REPLIES)
            ],
        }

    def approval_statuses(self, rep: str) -> list[str]:
        """W13: the statuses `rep` may only ask for today (their first days); the screen asks a reason."""
        now = self.now()
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
        return [s.id for s in self.playbook.statuses if s.settable and needs_approval(s, actor, now)]

    # --- drip replies (W17), routed ---------------------------------------------------------------

    def replies(self, rep: str | None = None) -> list[dict]:
        """W17's open replies as `rep` may see them: on their own leads, on the pool's and on none (a
        manager, or no rep: all), each with its lead's owner name, address and rep; `opted_out` when
        one is an opt-out (D4: its number went DNC as it came in)."""
        with self.db.read() as conn:
            rows = inbox.open_replies(conn, self._visible_to(self._viewer(conn, rep)))
        return [
            {
                "id": r["id"],
                "from_number": r["from_number"],
                "body": r["body"],
                "received_at": r["received_at"],
                "lead_id": r["lead_id"],
                "cleared_by": r["cleared_by"],
                "cleared_at": r["cleared_at"],
                "owner_name": r["owner_name"],
                "address": r["address"],
                "city": r["city"],
                "state": r["l_state"],
                "owner": r["lead_owner"],
                "opted_out": opt_out(r["body"]) is not None,
            }
            for r in rows
        ]

    def clear_reply(self, reply_id: int, rep: str | None) -> Outcome:
        """W17: mark a drip reply handled (who, when); it leaves the list. One on another rep's lead is
        theirs (or a manager's) to clear."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            row = q.reply(conn, reply_id)
            if row is None:
                raise LeadtuiError(f"no reply {reply_id}")
            reply_guard(row, q.lead(conn, row["lead_id"]) if row["lead_id"] else None, actor)
            q.clear_reply(conn, reply_id, actor.name, clock.stamp(now))
            if row["lead_id"]:
                self._event(
                    conn,
                    now,
                    lead_id=row["lead_id"],
                    rep=actor.name,
                    kind="sms_cleared",
                    data={"reply": reply_id, "from": row["from_number"]},
                )
        return Outcome(row["lead_id"], f"reply {reply_id} cleared")

    # --- callbacks (W18, issue 16) ------------------------------------------------------------------

    def callbacks(self, rep: str, *, days: int = CALLBACK_DAYS) -> list[dict]:
        """Callbacks overdue, due today and in the next `days` days, and appointments from today on
        as far: a rep's own and the pool's (anyone's), or every rep's for a manager. Each has `kind`
        (callback or appointment), `scope` (mine or anyone), `at`, `section` (overdue, today,
        upcoming on the floor's calendar) and `rep` (None: the pool's); ordered by rep, then time."""
        if days < 0:
            raise LeadtuiError("days can't be negative")
        now, zone = self.now(), self.floor_zone()
        start, end = day_bounds(now, zone, days)
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            visible_to = self._visible_to(actor)
            called = inbox.callbacks(conn, visible_to, clock.stamp(end), CALLBACK_LIMIT)
            booked = inbox.appointments(
                conn, visible_to, clock.stamp(start), clock.stamp(end), CALLBACK_LIMIT
            )
        out = [self._callback(r, "callback", r["next_call_at"], now, zone) for r in called] + [
            self._callback(r, "appointment", r["appointment_at"], now, zone) for r in booked
        ]
        return sorted(out, key=lambda c: (c["rep"] is None, (c["rep"] or "").lower(), c["at"], c["lead_id"]))

    def _callback(self, row: sqlite3.Row, kind: str, at: str, now: datetime, zone: tzinfo) -> dict:
        lead = lead_json(self.playbook, row, [])  # its status as shown: no phone is needed
        return {
            "kind": kind,
            "scope": row["callback"] if kind == "callback" else None,
            "at": at,
            "section": section(at, now, zone),
            "rep": row["owner"],
            "lead_id": row["id"],
            "asked_for": row["followup_requested_at"] if kind == "callback" else None,
            "owner_name": lead["owner_name"],
            "address": lead["address"],
            "city": lead["city"],
            "state": lead["state"],
            "status": lead["status"],
            "status_label": lead["status_label"],
            "symbol": lead["symbol"],
            "group": lead["group"],
        }

    def badges(self, rep: str) -> dict[str, int]:
        """What a station's title counts: approvals pending (a manager's; 0 for a rep) and callbacks due
        now that the rep may make (theirs and the pool's; a manager: every rep's)."""
        now = clock.stamp(self.now())
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            return {
                "approvals": inbox.pending_count(conn) if actor.manager else 0,
                "callbacks_due": inbox.callbacks_due(conn, self._visible_to(actor), now),
            }

    def hand_over(
        self, rep: str, to: str | None, by: str | None, pin: str | None, *, chunk: int = HANDOVER_CHUNK
    ) -> dict:
        """A manager moves every live lead `rep` holds, their callbacks with them, to rep `to` or (None)
        to the pool, in one step; one `handover` event per lead. To the pool, callbacks become
        anyone's. `rep` may already be inactive (a deactivated rep's desk is what this empties).

        F4: a desk of thousands of leads goes `chunk` leads a transaction at most (fewer once one
        held the lock `db.slice`), each a background slice a station's key may go between; each lead
        moves whole with its event. Run again after an interruption, it moves what is left."""
        with self.db.read() as conn:
            leaving = self._rep(conn, rep)["name"]
            target = self._someone(conn, to).name if to else None
        if target is not None and target.lower() == leaving.lower():
            raise LeadtuiError(f"hand {leaving}'s leads to another rep (or to the pool: no --to)")
        now = self.now()
        check = self._manager_first(by, pin, f"hand {leaving}'s leads over")
        moved: list[int] = []
        moved_to = {"from": leaving, **({"to": target} if target else {})}  # no `to`: the pool
        callbacks = 0
        while True:
            with self.db.write(background=True) as conn:
                manager = check(conn)
                if target is not None:
                    self._someone(conn, target)  # still active
                began = time.perf_counter()
                rows = inbox.held_by(conn, leaving, chunk)
                done = 0
                for lead, fields in decide_handover(rows, target):
                    self._change(
                        conn,
                        lead,
                        fields,
                        now,
                        manager.name,
                        "handover",
                        data=moved_to,
                    )
                    moved.append(lead["id"])
                    callbacks += bool(lead["callback"])
                    done += 1
                    if time.perf_counter() - began > self.db.slice:
                        break
            if done == len(rows) < chunk:
                break
        where = target or "the pool"
        return {
            "rep": leaving,
            "to": target,
            "leads": len(moved),
            "callbacks": callbacks,
            "lead_ids": moved,
            "message": f"{len(moved)} lead(s) of {leaving}, {callbacks} with a callback, handed to {where}",
        }
