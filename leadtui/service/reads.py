"""Reads: leads, the call queue and what it leaves out, counts, KPIs, the floor's lists."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from leadtui import clock
from leadtui.core.calling import OpenNow, narrowest, widest
from leadtui.core.facts import parse_filters
from leadtui.core.playbook import Playbook
from leadtui.core.rules import Row, why_not_now
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base
from leadtui.service.shapes import call_json, event_json, lead_json, status_shown
from leadtui.store import calls as calllog
from leadtui.store import queries as q
from leadtui.store import reservations

DUE_MAX = 1000  # due follow-ups and appointments shown at the top of a rep's queue


class Reads(Base):
    """What a rep or manager may see; every read is one consistent snapshot."""

    def lead(self, lead_id: int, *, events: bool = False, viewer: str | None = None) -> dict:
        """One lead as JSON-ready data, with phones (and its timeline). With `viewer`, only if that
        rep may see it (W14: the pool, their own and dead leads; a manager all)."""
        with self.db.read() as conn:
            row = self._lead(conn, lead_id)
            self._may_see(conn, row, viewer)
            out = lead_json(self.playbook, row, q.phones(conn, [lead_id])[lead_id])
            held = reservations.of_lead(conn, lead_id, clock.stamp(self.now()))
            out["reserved"] = (
                None
                if held is None
                else {
                    "rep": held["rep"],
                    "station": held["station"],
                    "since": held["since"],
                    "until": held["until"],
                    "here": held["station"] == self.station,
                }
            )
            if events:
                undone = q.undone_ids(conn, lead_id)
                out["events"] = [event_json(e, undone) for e in q.events(conn, lead_id)]
                out["calls"] = [call_json(c) for c in calllog.select(conn, lead_id=lead_id)]  # D2
        return out

    def search(
        self,
        rep: str | None = None,
        *,
        status: str | None = None,
        pool: bool = False,
        owner: str | None = None,
        text: str | None = None,
        dead: bool = False,
        limit: int | None = None,
        after: int = 0,
        statuses: Iterable[str] = (),
    ) -> list[dict]:
        """Leads as `rep` may see them: the pool and their own (a manager, or no rep: all); by id after `after`.
        `text` may hold property-fact filters (`beds:3 equity>50000`, core.facts) besides its words."""
        if status:
            self.playbook.status(status)
        text, filters = parse_filters(text) if text else (text, [])
        if limit is not None and limit < 0:
            raise LeadtuiError("--limit can't be negative")
        with self.db.read() as conn:
            viewer = self._viewer(conn, rep)
            visible_to = self._visible_to(viewer)
            if owner and visible_to and owner.lower() != visible_to.lower():
                raise Refused("only a manager sees another rep's leads (W14)")
            if owner and q.rep(conn, owner) is None:
                raise LeadtuiError(f"no rep named {owner!r}")
            rows = q.search(
                conn,
                visible_to=visible_to,
                status=status,
                pool=pool,
                owner=owner,
                text=text or None,
                dead=dead,
                limit=limit,
                after=after,
                statuses=statuses,
                facts=[(f.column, f.op, f.value) for f in filters],
            )
            phones = q.phones(conn, [r["id"] for r in rows])
        return [lead_json(self.playbook, r, phones[r["id"]]) for r in rows]

    def queue(
        self, rep: str, cursor: tuple[str, int] = ("due", 0), limit: int = 100
    ) -> tuple[list[dict], tuple | None]:
        """One page of the rep's call queue and the cursor of the next page (None at the end).

        In order: due follow-ups and today's appointments (cursor ("due", 0)), the rep's other leads
        (("mine", after_id)), then the pool (("pool", after_id)). Each lead has `queue`: due, mine or
        pool. Leads that can't be dialled now are left out (see `left_out`)."""
        now = self.now()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        day = (clock.stamp(day_start), clock.stamp(day_start + timedelta(days=1)))
        is_open = OpenNow(now, widest(self.rules.windows()))
        phase, after = cursor
        elsewhere = (self.station, clock.stamp(now))
        more: tuple[str, int] | None
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            if phase == "due":
                rows, more = (
                    q.queue_due(conn, actor.name, clock.stamp(now), day, DUE_MAX, is_open, elsewhere),
                    ("mine", 0),
                )
            elif phase == "mine":
                rows = q.queue_mine(conn, actor.name, day, after, limit, is_open, elsewhere)
                more = ("mine", rows[-1]["id"]) if len(rows) == limit else ("pool", 0)
            else:
                rows = q.queue_pool(conn, clock.stamp(now), after, limit, is_open, elsewhere)
                more = ("pool", rows[-1]["id"]) if len(rows) == limit else None
            phones = q.phones(conn, [r["id"] for r in rows])
            calls = self._page_calls_24h(conn, phones, now)
            out = []
            for row in rows:
                appointment = row["appointment_at"] is not None and day[0] <= row["appointment_at"] < day[1]
                check = {**dict(row), "next_call_at": None} if appointment else row
                if why_not_now(check, phones[row["id"]], now, self.rules, calls) is None:
                    out.append({**lead_json(self.playbook, row, phones[row["id"]]), "queue": phase})
        return out, more

    def left_out(self, rep: str, *, after: int = 0, limit: int = 100) -> list[dict]:
        """Leads missing from the rep's queue, by id after `after`, each with `why`."""
        now = self.now()
        is_open = OpenNow(now, narrowest(self.rules.windows()))
        out: list[dict] = []
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            while len(out) < limit:
                rows = q.queue_left_out(conn, actor.name, clock.stamp(now), after, limit, is_open)
                phones = q.phones(conn, [r["id"] for r in rows])
                calls = self._page_calls_24h(conn, phones, now)
                for row in rows:
                    lead = lead_json(self.playbook, row, phones[row["id"]])
                    why: str | None
                    if row["dead"]:
                        why = f"dead: {lead['status_label']}"
                    elif row["owner"] and row["owner"] != actor.name:
                        why = f"held by {row['owner']}"
                    else:
                        why = why_not_now(row, phones[row["id"]], now, self.rules, calls)
                    if why:
                        out.append({**lead, "why": why})
                if len(rows) < limit:
                    break
                after = rows[-1]["id"]
        return out[:limit]

    def _why_not(
        self, conn: sqlite3.Connection, lead: Row, phones: Sequence[Row], now: datetime
    ) -> str | None:
        return why_not_now(lead, phones, now, self.rules, self._calls_24h(conn, now, lead["id"]))

    @staticmethod
    def _page_calls_24h(
        conn: sqlite3.Connection, phones: dict[int, list[sqlite3.Row]], now: datetime
    ) -> Callable[[int], int]:
        """B3's counts for a page's phones, read in one statement (not one per lead)."""
        since = clock.stamp(now - timedelta(hours=24))
        counts = calllog.counts_since(conn, [p["id"] for rows in phones.values() for p in rows], since)
        return lambda phone_id: counts.get(phone_id, 0)

    def why_not(self, lead_id: int) -> str | None:
        """Why lead `lead_id` can't be dialled now (B3, cadence), or None."""
        now = self.now()
        with self.db.read() as conn:
            lead = self._lead(conn, lead_id)
            if lead["dead"]:
                return "dead"
            return self._why_not(conn, lead, q.phones(conn, [lead_id])[lead_id], now)

    def gone(self, lead_id: int, rep: str) -> dict | None:
        """A lead that left the rep's listing while on screen, with `gone`: why, naming who has it (F1).
        None when row security hides it from a rep's own role (another rep took it): it just goes."""
        try:
            lead = self.lead(lead_id)
        except Refused:
            if self.bound:
                return None
            raise
        held = lead["reserved"]
        if lead["dead"]:
            why = f"dead: {lead['status_label']}"
        elif lead["owner"] and lead["owner"].lower() != rep.lower():
            why = f"taken by {lead['owner']}"
        elif held and not held["here"]:
            why = (
                f"on {held['rep']}'s screen"
                if held["rep"].lower() != rep.lower()
                else "open at another station of yours"
            )
        else:
            why = self.why_not(lead_id) or "no longer in this list"
        return {**lead, "gone": why}

    def data_version(self) -> int:
        """Changes when another station commits (PRAGMA data_version)."""
        return q.data_version(self.db.conn)

    def counts(self, rep: str | None = None, *, include_dead: bool = False) -> dict[str, int]:
        """Live leads per status, every status of the playbook listed (L3, B1); killed ones too if asked."""
        with self.db.read() as conn:
            got = q.counts_by_status(conn, self._visible_to(self._viewer(conn, rep)), include_dead)
        return {s.id: got.get(s.id, 0) for s in self.playbook.statuses}

    def group_counts(self, rep: str | None = None) -> dict[str, int]:
        by_status = self.counts(rep)
        return {
            g.id: sum(by_status[s.id] for s in self.playbook.in_group(g.id)) for g in self.playbook.groups
        }

    def other_properties(self, lead_id: int) -> list[dict]:
        """W11: the owner's other properties (same owner and mailing address, or a shared phone)."""
        with self.db.read() as conn:
            row = self._lead(conn, lead_id)
            numbers = [p["number"] for p in q.phones(conn, [lead_id])[lead_id]]
            return others_json(self.playbook, conn, row, numbers)

    def agenda(self, rep: str) -> list[dict]:
        """W4: the rep's appointments from now on."""
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            rows = q.agenda(conn, actor.name, clock.stamp(self.now()))
            phones = q.phones(conn, [r["id"] for r in rows])
        return [lead_json(self.playbook, r, phones[r["id"]]) for r in rows]

    def reps(self) -> list[dict]:
        with self.db.read() as conn:
            rows = q.reps(conn)
        return [
            {
                "name": r["name"],
                "role": r["role"],
                "manager": r["role"] == "manager",
                "started": r["started"],
                "active": bool(r["active"]),
                "has_pin": r["pin_hash"] is not None,
            }
            for r in rows
        ]

    def visible_to(self, viewer: str | None) -> str | None:
        """The rep whose view limits what `viewer` sees (None: everything, for a manager or no rep)."""
        with self.db.read() as conn:
            return self._visible_to(self._viewer(conn, viewer))

    def outbox(
        self, states: Iterable[str] = (), lead_id: int | None = None, viewer: str | None = None
    ) -> list[dict]:
        """Actions, as `viewer` may see them (W14: on the pool's leads and their own; a manager all)."""
        with self.db.read() as conn:
            if lead_id is not None:
                self._may_see(conn, self._lead(conn, lead_id), viewer)
            rows = q.actions(conn, states, lead_id, self._visible_to(self._viewer(conn, viewer)))
        return [
            {
                "id": r["id"],
                "lead_id": r["lead_id"],
                "action": r["action"],
                "state": r["state"],
                "attempts": r["attempts"],
                "created_at": r["created_at"],
                "due_at": r["due_at"],
                "idempotency_key": r["idempotency_key"],
                "last_error": r["last_error"],
            }
            for r in rows
        ]

    def reservations(self) -> list[dict]:
        """F2: which station has which lead on screen, until when (for managers and `leadtui reservations`)."""
        with self.db.read() as conn:
            rows = reservations.live(conn, clock.stamp(self.now()))
        return [
            {
                "lead_id": r["lead_id"],
                "owner_name": r["owner_name"],
                "owner": r["owner"],
                "rep": r["rep"],
                "station": r["station"],
                "since": r["since"],
                "until": r["until"],
            }
            for r in rows
        ]


def others_json(
    playbook: Playbook, conn: sqlite3.Connection, row: sqlite3.Row, numbers: list[str]
) -> list[dict]:
    """W11's list: the leads this connection may read, whole; on a server, another rep's that row
    security hides from a rep's role too, as the list shows them and held by whom (no phones)."""
    rows = q.other_properties(conn, row, numbers)
    phones = q.phones(conn, [r["id"] for r in rows])
    shown = [lead_json(playbook, r, phones[r["id"]]) for r in rows]
    for h in q.held_properties(conn, row, numbers):
        label, group, symbol = status_shown(playbook, h["status"])
        shown.append(
            {
                "id": h["id"], "owner_name": h["owner_name"], "address": h["address"], "city": h["city"],
                "state": h["state"], "status": h["status"], "status_label": label, "group": group,
                "symbol": symbol, "owner": h["owner"], "dead": False, "phones": [], "held": True,
            }
        )  # fmt: skip
    return sorted(shown, key=lambda lead: lead["id"])
