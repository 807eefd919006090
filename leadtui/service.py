"""The one door: every action a rep or manager takes, for the CLI and the TUI alike.

Each write is one short transaction: read the lead under the write lock, let
core decide, then store the change, its event and its outbox rows together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from leadtui import clock
from leadtui.core.calling import CallingRules, OpenNow, narrowest, resolve_zone, widest
from leadtui.core.followup import half_way
from leadtui.core.identity import address_key, owner_key
from leadtui.core.playbook import KPI_COUNTERS, Playbook
from leadtui.core.playbook import load as load_playbook
from leadtui.core.playbook import parse as parse_playbook
from leadtui.core.rules import Actor, NeedsConfirmation, alive_guard, decide_status, holder_guard, why_not_now
from leadtui.errors import LeadtuiError, Refused
from leadtui.store import queries as q
from leadtui.store.db import Database, Notice, connect, describe

UNDO_WINDOW = timedelta(minutes=10)
DUE_MAX = 1000  # due follow-ups and appointments shown at the top of a rep's queue
UNDOABLE = ("status", "wrong_report", "claim", "release", "assign", "followup", "approval_requested")
# kinds that change a lead's state: one of these after yours (by anyone) blocks your undo
CHANGES = ("status", "wrong_report", "claim", "release", "assign", "followup", "revive", "hold_expired", "migrate")
LEGACY_MAP = {"new": "new", "followed up": "engage", "hot": "active", "exclude": "non-client"}
LEGACY_DEFAULT = "future"


class PinRequired(Refused):
    """A manager action needs the acting manager's PIN."""


@dataclass
class Outcome:
    """What an action did, for the screen and the CLI."""

    lead_id: int | None
    message: str
    event_id: int | None = None
    advance: str | None = None
    approval_id: int | None = None
    warnings: list[str] = field(default_factory=list)


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def _pin_ok(stored: str | None, pin: str) -> bool:
    if not stored:
        return False
    _, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(got.hex(), digest)


def _stamp(value: Any) -> Any:
    return clock.stamp(value) if isinstance(value, datetime) else value


def init_database(path: Path | str, playbook: str = "wholesale") -> tuple[Playbook, bool]:
    """Create the database (or switch its playbook). Returns the playbook and whether it changed."""
    pb = load_playbook(playbook)
    db = connect(path, create=True)
    try:
        with db.write() as conn:
            current = q.meta(conn, "playbook")
            if current == pb.source:
                return pb, False
            if current is not None:
                used = {r[0] for r in conn.execute("SELECT DISTINCT status FROM leads")}
                missing = sorted(used - {s.id for s in pb.statuses})
                if missing:
                    raise Refused(f"can't switch to playbook {pb.name}: leads have statuses it lacks: {', '.join(missing)}")
            q.set_meta(conn, "playbook", pb.source)
            q.set_meta(conn, "playbook_name", pb.name)
        return pb, True
    finally:
        db.close()


class Service:
    """Every floor action; one instance per station (or per CLI call)."""

    def __init__(
        self, db: Database, *, now: Callable[[], datetime] = clock.now, rules: CallingRules | None = None,
        delay_seconds: int = 30, contracts_dir: Path | None = None, templates_dir: Path | None = None,
    ):
        self.db = db
        self.now = now
        self.rules = rules or CallingRules()
        self.delay = timedelta(seconds=delay_seconds)
        self.contracts_dir = contracts_dir
        self.templates_dir = templates_dir
        self._open = OpenNow(now(), self.rules.window)  # set afresh before each queue query
        db.conn.create_function("zone_open", 2, lambda zone, state: self._open(zone, state))
        source = q.meta(db.conn, "playbook")
        if source is None:
            raise LeadtuiError(f"{db.path}: no playbook stored; run `leadtui init --db {db.path}`")
        self.playbook = parse_playbook(source, "playbook stored in the database")

    @classmethod
    def open(cls, path: Path | str, busy_timeout_ms: int | None = None, notice: Notice | None = None,
             **kwargs: Any) -> "Service":
        db = connect(path, busy_timeout_ms=busy_timeout_ms, notice=notice)
        try:
            return cls(db, **kwargs)
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self.db.close()

    # --- helpers ----------------------------------------------------------------------------

    def _actor(self, conn: sqlite3.Connection, name: str | None) -> Actor:
        if not name:
            raise LeadtuiError("say who you are: --rep NAME (or env LEADTUI_REP, or rep in the config)")
        row = q.rep(conn, name)
        if row is None:
            raise LeadtuiError(f"no rep named {name!r}: add one with `leadtui reps add {name}`")
        if not row["active"]:
            raise Refused(f"rep {row['name']} is not active")
        return Actor(row["name"], row["role"] == "manager", date.fromisoformat(row["started"]))

    def _manager(self, conn: sqlite3.Connection, name: str | None, pin: str | None, what: str) -> Actor:
        actor = self._actor(conn, name)
        if not actor.manager:
            raise Refused(f"only a manager may {what}")
        if pin is None:
            raise PinRequired(f"{what} needs {actor.name}'s manager PIN")
        if not _pin_ok(q.rep(conn, actor.name)["pin_hash"], pin):
            raise Refused(f"wrong PIN for {actor.name}")
        return actor

    def _lead(self, conn: sqlite3.Connection, lead_id: int) -> sqlite3.Row:
        row = q.lead(conn, lead_id)
        if row is None:
            raise LeadtuiError(f"no lead {lead_id}")
        return row

    def _event(self, conn: sqlite3.Connection, now: datetime, **kwargs: Any) -> int:
        return q.insert_event(conn, at=clock.stamp(now), day=now.date().isoformat(), **kwargs)

    def _change(
        self, conn: sqlite3.Connection, lead: sqlite3.Row, fields: Mapping[str, Any], now: datetime,
        actor: str | None, kind: str, *, written: bool = False, **event: Any,
    ) -> int:
        """Update the lead's state fields (unless already `written`) and append the event, before and after."""
        stamped = {k: _stamp(v) for k, v in fields.items()}
        after = {k: v for k, v in stamped.items() if lead[k] != v}
        if after and not written:
            q.update_lead(conn, lead["id"], after, clock.stamp(now))
        before = {k: lead[k] for k in after}
        return self._event(conn, now, lead_id=lead["id"], rep=actor, kind=kind, before=before, after=after, **event)

    def _viewer(self, conn: sqlite3.Connection, rep: str | None) -> Actor | None:
        """Who is looking; None for the admin view (no rep). A manager sees all, a rep the pool and theirs."""
        return self._actor(conn, rep) if rep else None

    @staticmethod
    def _visible_to(viewer: Actor | None) -> str | None:
        return viewer.name if viewer and not viewer.manager else None

    def _zone(self, lead: Mapping[str, Any], phones: list) -> str | None:
        tzs = [p["tz"] for p in phones if p["tz"]]
        return tzs[0] if tzs else resolve_zone((), lead["state"])

    # --- reads ------------------------------------------------------------------------------

    def lead(self, lead_id: int, *, events: bool = False) -> dict:
        """One lead as JSON-ready data, with phones (and its timeline)."""
        with self.db.read() as conn:
            row = self._lead(conn, lead_id)
            out = self._lead_json(row, q.phones(conn, [lead_id])[lead_id])
            if events:
                undone = q.undone_ids(conn, lead_id)
                out["events"] = [self._event_json(e, undone) for e in q.events(conn, lead_id)]
        return out

    def search(
        self, rep: str | None = None, *, status: str | None = None, pool: bool = False, owner: str | None = None,
        text: str | None = None, dead: bool = False, limit: int | None = None, after: int = 0,
        statuses: Iterable[str] = (),
    ) -> list[dict]:
        """Leads as `rep` may see them: the pool and their own (a manager, or no rep: all); by id after `after`."""
        if status:
            self.playbook.status(status)
        if limit is not None and limit < 0:
            raise LeadtuiError("--limit can't be negative")
        with self.db.read() as conn:
            viewer = self._viewer(conn, rep)
            visible_to = self._visible_to(viewer)
            if owner and visible_to and owner.lower() != visible_to.lower():
                raise Refused("only a manager sees another rep's leads (W14)")
            if owner and q.rep(conn, owner) is None:
                raise LeadtuiError(f"no rep named {owner!r}")
            rows = q.search(conn, visible_to=visible_to, status=status, pool=pool, owner=owner,
                            text=text, dead=dead, limit=limit, after=after, statuses=statuses)
            phones = q.phones(conn, [r["id"] for r in rows])
        return [self._lead_json(r, phones[r["id"]]) for r in rows]

    def queue(self, rep: str, cursor: tuple[str, int] = ("due", 0), limit: int = 100) -> tuple[list[dict], tuple | None]:
        """One page of the rep's call queue and the cursor of the next page (None at the end).

        In order: due follow-ups and today's appointments (cursor ("due", 0)), the rep's other leads
        (("mine", after_id)), then the pool (("pool", after_id)). Each lead has `queue`: due, mine or
        pool. Leads that can't be dialled now are left out (see `left_out`)."""
        now = self.now()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        day = (clock.stamp(day_start), clock.stamp(day_start + timedelta(days=1)))
        self._open = OpenNow(now, widest(self.rules.windows()))
        phase, after = cursor
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            if phase == "due":
                rows, more = q.queue_due(conn, actor.name, clock.stamp(now), day, DUE_MAX), ("mine", 0)
            elif phase == "mine":
                rows = q.queue_mine(conn, actor.name, day, after, limit)
                more = ("mine", rows[-1]["id"]) if len(rows) == limit else ("pool", 0)
            else:
                rows = q.queue_pool(conn, clock.stamp(now), after, limit)
                more = ("pool", rows[-1]["id"]) if len(rows) == limit else None
            phones = q.phones(conn, [r["id"] for r in rows])
            out = []
            for row in rows:
                appointment = row["appointment_at"] is not None and day[0] <= row["appointment_at"] < day[1]
                check = {**dict(row), "next_call_at": None} if appointment else row
                if self._why_not(conn, check, phones[row["id"]], now) is None:
                    out.append({**self._lead_json(row, phones[row["id"]]), "queue": phase})
        return out, more

    def left_out(self, rep: str, *, after: int = 0, limit: int = 100) -> list[dict]:
        """Leads missing from the rep's queue, by id after `after`, each with `why`."""
        now = self.now()
        self._open = OpenNow(now, narrowest(self.rules.windows()))
        out: list[dict] = []
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            while len(out) < limit:
                rows = q.queue_left_out(conn, actor.name, clock.stamp(now), after, limit)
                phones = q.phones(conn, [r["id"] for r in rows])
                for row in rows:
                    lead = self._lead_json(row, phones[row["id"]])
                    if row["dead"]:
                        why = f"dead: {lead['status_label']}"
                    elif row["owner"] and row["owner"] != actor.name:
                        why = f"held by {row['owner']}"
                    else:
                        why = self._why_not(conn, row, phones[row["id"]], now)
                    if why:
                        out.append({**lead, "why": why})
                if len(rows) < limit:
                    break
                after = rows[-1]["id"]
        return out[:limit]

    def _why_not(self, conn: sqlite3.Connection, lead, phones: list, now: datetime) -> str | None:
        since = clock.stamp(now - timedelta(hours=24))
        return why_not_now(lead, phones, now, self.rules, lambda pid: q.dials_since(conn, pid, since))

    def why_not(self, lead_id: int) -> str | None:
        """Why lead `lead_id` can't be dialled now (B3, cadence), or None."""
        now = self.now()
        with self.db.read() as conn:
            lead = self._lead(conn, lead_id)
            if lead["dead"]:
                return "dead"
            return self._why_not(conn, lead, q.phones(conn, [lead_id])[lead_id], now)

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
        return {g.id: sum(by_status[s.id] for s in self.playbook.in_group(g.id)) for g in self.playbook.groups}

    def other_properties(self, lead_id: int) -> list[dict]:
        """W11: the owner's other properties (same owner and mailing address, or a shared phone)."""
        with self.db.read() as conn:
            row = self._lead(conn, lead_id)
            numbers = [p["number"] for p in q.phones(conn, [lead_id])[lead_id]]
            rows = q.other_properties(conn, row, numbers)
            phones = q.phones(conn, [r["id"] for r in rows])
        return [self._lead_json(r, phones[r["id"]]) for r in rows]

    def agenda(self, rep: str) -> list[dict]:
        """W4: the rep's appointments from now on."""
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            rows = q.agenda(conn, actor.name, clock.stamp(self.now()))
            phones = q.phones(conn, [r["id"] for r in rows])
        return [self._lead_json(r, phones[r["id"]]) for r in rows]

    def kpis(self, *, day: str | None = None, rep: str | None = None, since: str | None = None) -> list[dict]:
        """W20: per rep per day, credited at the key press, undone presses not counted."""
        with self.db.read() as conn:
            rows = q.kpi_events(conn, day, rep, since)
        table: dict[tuple[str, str], dict] = {}
        for row in rows:
            entry = table.setdefault((row["rep"], row["day"]), {"rep": row["rep"], "day": row["day"], **dict.fromkeys(KPI_COUNTERS, 0)})
            for counter in row["kpi"].split(","):
                entry[counter] += 1
        return [table[k] for k in sorted(table)]

    def reps(self) -> list[dict]:
        with self.db.read() as conn:
            rows = q.reps(conn)
        return [{"name": r["name"], "role": r["role"], "manager": r["role"] == "manager",
                 "started": r["started"], "active": bool(r["active"]), "has_pin": r["pin_hash"] is not None} for r in rows]

    def outbox(self, states: Iterable[str] = (), lead_id: int | None = None) -> list[dict]:
        with self.db.read() as conn:
            rows = q.actions(conn, states, lead_id)
        return [{"id": r["id"], "lead_id": r["lead_id"], "action": r["action"], "state": r["state"],
                 "attempts": r["attempts"], "created_at": r["created_at"], "due_at": r["due_at"],
                 "idempotency_key": r["idempotency_key"], "last_error": r["last_error"]} for r in rows]

    def approvals(self, rep: str, *, all_states: bool = False) -> list[dict]:
        """Pending approvals; a manager sees everyone's, a rep only their own (with the why of a rejection)."""
        with self.db.read() as conn:
            actor = self._actor(conn, rep)
            states = ("pending", "approved", "rejected", "cancelled") if all_states else ("pending",)
            if not actor.manager and not all_states:
                states = ("pending", "rejected")
            rows = q.approvals(conn, states=states, rep_name=None if actor.manager else actor.name)
        return [{"id": r["id"], "lead_id": r["lead_id"], "rep": r["rep"], "status": r["status"], "state": r["state"],
                 "requested_at": r["requested_at"], "decided_by": r["decided_by"], "decided_at": r["decided_at"],
                 "why": r["why"]} for r in rows]

    def replies(self) -> list[dict]:
        with self.db.read() as conn:
            rows = q.open_replies(conn)
        return [dict(r) for r in rows]

    # --- JSON shapes ------------------------------------------------------------------------

    def _lead_json(self, row: sqlite3.Row, phones: list[sqlite3.Row]) -> dict:
        try:
            st = self.playbook.status(row["status"])
            label, group, symbol = st.label, st.group, st.symbol
        except LeadtuiError:
            label, group, symbol = row["status"], "grey", "?"
        cur = row["cur_phone"]
        return {
            "id": row["id"], "owner_name": row["owner_name"], "address": row["address"],
            "city": row["city"], "state": row["state"], "zip": row["zip"],
            "mailing_address": row["mailing_address"], "mailing_city": row["mailing_city"],
            "mailing_state": row["mailing_state"], "mailing_zip": row["mailing_zip"],
            "apn": row["apn"], "county": row["county"], "emails": json.loads(row["emails"]),
            "source_list": row["source_list"], "source_status": row["source_status"],
            "status": row["status"], "status_label": label, "group": group, "symbol": symbol,
            "owner": row["owner"], "hold_until": row["hold_until"], "next_call_at": row["next_call_at"],
            "appointment_at": row["appointment_at"], "offer_amount": row["offer_amount"],
            "contract_path": row["contract_path"], "followup_requested_at": row["followup_requested_at"],
            "dead": bool(row["dead"]), "notes": row["notes"],
            "current_phone": cur, "dial_run": row["dial_run"], "zone": self._zone(row, phones),
            "phones": [{
                "position": p["position"], "number": p["number"], "type": p["type"], "dnc": bool(p["dnc"]),
                "litigator": bool(p["litigator"]), "bad": bool(p["bad"]), "wrong_reports": p["wrong_reports"],
                "tz": p["tz"], "current": p["position"] == cur,
            } for p in phones],
            "created_at": row["created_at"], "updated_at": row["updated_at"],
        }

    @staticmethod
    def _event_json(row: sqlite3.Row, undone: set[int]) -> dict:
        out = {"id": row["id"], "at": row["at"], "rep": row["rep"], "kind": row["kind"]}
        if row["status"]:
            out["status"] = row["status"]
        for name in ("before", "after", "data"):
            if row[name]:
                out[name] = json.loads(row[name])
        if row["kpi"]:
            out["kpi"] = row["kpi"].split(",")
        if row["undoes"]:
            out["undoes"] = row["undoes"]
        out["undone"] = row["id"] in undone
        return out

    # --- floor -------------------------------------------------------------------------------

    def add_rep(
        self, name: str, *, manager: bool = False, started: date | None = None, pin: str | None = None,
        acting: str | None = None, acting_pin: str | None = None,
    ) -> dict:
        """Add a rep. The first manager needs no one's PIN; later managers need an acting manager's."""
        name = name.strip()
        if not name or len(name) > 40 or not name.isprintable():
            raise LeadtuiError(f"a rep's name must be 1-40 printable characters, got {name!r}")
        if manager and not pin:
            raise LeadtuiError("a manager needs a PIN (--pin)")
        if pin is not None and not (4 <= len(pin) <= 64):
            raise LeadtuiError("a PIN must be 4 to 64 characters")
        now = self.now()
        with self.db.write() as conn:
            if manager and q.has_manager(conn):
                self._manager(conn, acting, acting_pin, "add a manager")
            if q.rep(conn, name) is not None:
                raise LeadtuiError(f"there is already a rep named {name!r}")
            q.insert_rep(conn, name, "manager" if manager else "rep", (started or now.date()).isoformat(),
                         hash_pin(pin) if pin else None, clock.stamp(now))
        return next(r for r in self.reps() if r["name"] == name)

    def add_lead(
        self, *, owner_name: str, address: str, phones: Iterable[str] = (), city: str | None = None,
        state: str | None = None, zip_code: str | None = None, mailing_address: str | None = None,
        mailing_city: str | None = None, mailing_state: str | None = None, mailing_zip: str | None = None,
        apn: str | None = None, county: str | None = None, emails: Iterable[str] = (),
        source_list: str | None = None, source_status: str | None = None, notes: str = "", rep: str | None = None,
    ) -> dict:
        """L1: a lead entered by hand gets the playbook's initial status; a duplicate is refused."""
        from leadtui.core import phones as phonelib  # phonenumbers: ~20 ms, only where phones are parsed

        if not owner_name.strip() or not address.strip():
            raise LeadtuiError("a lead needs --owner and --address")
        numbers = []
        for raw in phones:
            number = phonelib.normalize(raw)
            if number is None:
                raise LeadtuiError(f"not a phone number: {raw!r}")
            if number not in numbers:
                numbers.append(number)
        mailing = (mailing_address or address, mailing_city or city, mailing_state or state, mailing_zip or zip_code)
        now = self.now()
        fields = {
            "owner_name": owner_name.strip(), "address": address.strip(), "city": city, "state": state and state.strip().upper(),
            "zip": zip_code, "mailing_address": mailing[0], "mailing_city": mailing[1], "mailing_state": mailing[2],
            "mailing_zip": mailing[3], "apn": apn, "county": county, "emails": json.dumps(list(emails)),
            "source_list": source_list, "source_status": source_status, "notes": notes,
            "owner_key": owner_key(owner_name, mailing[0], mailing[3]), "address_key": address_key(address, zip_code),
            "status": self.playbook.initial, "created_at": clock.stamp(now), "updated_at": clock.stamp(now),
        }
        with self.db.write() as conn:
            actor = self._actor(conn, rep).name if rep else None
            dup = conn.execute("SELECT id FROM leads WHERE address_key = ? LIMIT 1", (fields["address_key"],)).fetchone()
            if dup:
                raise Refused(f"lead {dup[0]} already has that property address (B2: no duplicates)")
            lead_id = q.insert_lead(conn, fields)
            q.insert_phones(conn, [
                (lead_id, i, n, None, 0, 0, resolve_zone(phonelib.time_zones(n), fields["state"]))
                for i, n in enumerate(numbers, 1)
            ])
            self._event(conn, now, lead_id=lead_id, rep=actor, kind="created", status=fields["status"],
                        data={"source": "manual"})
        return self.lead(lead_id)

    def set_status(
        self, lead_id: int, status: str, rep: str | None, *, phone: int | None = None, at: str | None = None,
        amount: float | None = None, source: str | None = None, confirm: bool = False, override: bool = False,
    ) -> Outcome:
        """A status key: core decides, one transaction stores lead, event and outbox rows."""
        st = self.playbook.status(status)
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            phones = q.phones(conn, [lead_id])[lead_id]
            appointment = self._parse_at(at, lead, phones) if at else None
            since = clock.stamp(now - timedelta(hours=24))
            try:
                d = decide_status(
                    st, lead, phones, actor, now, phone=phone, appointment_at=appointment, amount=amount,
                    source=source, confirm=confirm, override=override, rules=self.rules,
                    dials_24h=lambda pid: q.dials_since(conn, pid, since),
                )
            except NeedsConfirmation as exc:
                numbers = [p["number"] for p in phones]
                others = q.other_properties(conn, lead, numbers)
                their_phones = q.phones(conn, [r["id"] for r in others])  # W11: so the rep can work them
                exc.others = [self._lead_json(r, their_phones[r["id"]]) for r in others]
                raise
            inputs = {k: v for k, v in {"phone": phone, "at": at, "amount": amount, "source": source,
                                        "confirm": confirm or None, "override": override or None}.items() if v is not None}
            return self._apply(conn, lead, phones, d, actor, now, inputs=inputs)

    def _apply(self, conn, lead, phones, d, actor: Actor, now: datetime, extra: dict | None = None,
               inputs: dict | None = None) -> Outcome:
        """Store a Decision: lead and phone fields, the event, outbox rows, the approval."""
        data = {k: v for k, v in {**d.data, **(extra or {})}.items() if v is not None}
        if d.kind == "approval_requested":
            event_id = self._event(conn, now, lead_id=lead["id"], rep=actor.name, kind=d.kind, status=d.status)
            approval = q.insert_approval(conn, lead_id=lead["id"], rep_name=actor.name, status=d.status,
                                         now=clock.stamp(now), event_id=event_id, inputs=inputs or {})
            return Outcome(lead["id"], f"{d.message} (approval #{approval})", event_id, approval_id=approval)
        if d.phones:
            data["phones_before"] = {str(pid): {k: next(p[k] for p in phones if p["id"] == pid) for k in ch}
                                     for pid, ch in d.phones.items()}
            for pid, change in d.phones.items():
                q.update_phone(conn, pid, change)
        fields = dict(d.fields)
        if d.draft:
            fields["contract_path"] = self._draft(d.draft, lead, actor, now, fields)
        cancelled = q.cancel_actions(conn, clock.stamp(now), lead_id=lead["id"])[0] if d.kill else []
        if cancelled:
            data["cancelled"] = [f"{a['action']} #{a['id']}" for a in cancelled]
        if d.actions:
            data["queued"] = list(d.actions)
        event_id = self._change(conn, lead, fields, now, actor.name, d.kind, status=d.status,
                                phone_id=d.phone_id, dial=d.dial, kpi=d.kpi, data=data or None)
        outcome = Outcome(lead["id"], d.message, event_id, advance=d.advance)
        if cancelled:
            outcome.message += f"; {len(cancelled)} pending action(s) cancelled (W10)"
        if d.actions:
            payload = self._payload(conn, lead["id"], actor.name)
            for action in d.actions:
                q.insert_action(conn, lead_id=lead["id"], event_id=event_id, action=action,
                                payload={"action": action, **payload}, now=clock.stamp(now),
                                due=clock.stamp(now + self.delay))
            outcome.message += f"; queued {', '.join(d.actions)}"
        return outcome

    def _parse_at(self, text: str, lead, phones) -> datetime:
        """An appointment time; without an offset it is the lead's local time."""
        from zoneinfo import ZoneInfo

        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise LeadtuiError(f"not an ISO-8601 date and time: {text!r} (e.g. 2026-12-01T15:00)") from None
        if value.tzinfo is None:
            zone = self._zone(lead, phones)
            value = value.replace(tzinfo=ZoneInfo(zone)) if zone else value.astimezone()
        return value

    def _payload(self, conn: sqlite3.Connection, lead_id: int, rep: str) -> dict:
        """What an action carries: the lead as it is after the change, in the same transaction."""
        row = q.lead(conn, lead_id)
        phones = q.phones(conn, [lead_id])[lead_id]
        # W3: the phone to reach the owner on: never one marked bad (a wrong number); dialable first
        good = sorted((p for p in phones if not p["bad"]),
                      key=lambda p: (bool(p["dnc"] or p["litigator"]), p["position"] != row["cur_phone"], p["position"]))
        return {
            "lead_id": lead_id, "rep": rep, "owner_name": row["owner_name"], "address": row["address"],
            "city": row["city"], "state": row["state"], "zip": row["zip"], "status": row["status"],
            "phone": good[0]["number"] if good else None, "notes": row["notes"],
            "appointment_at": row["appointment_at"], "offer_amount": row["offer_amount"],
            "contract_path": row["contract_path"],
        }

    def _draft(self, template: str, lead, actor: Actor, now: datetime, fields: dict) -> str:
        """W6: render the contract template with the lead's fields into a file; return its path."""
        from leadtui.automation.templates import render
        from leadtui.config import data_dir

        folder = self.contracts_dir or data_dir() / "contracts"
        context = {"lead": {**dict(lead), **fields}, "rep": actor.name, "drafted_at": now.strftime("%Y-%m-%d %H:%M %Z")}
        text = render(f"{template}.md.j2", context, self.templates_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"lead-{lead['id']}-{now.strftime('%Y%m%d-%H%M%S')}.md"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
        return str(path)

    def claim(self, lead_id: int, rep: str | None) -> Outcome:
        """W14: lock a pool lead to the rep; of two stations at once exactly one wins."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            if lead["owner"] and lead["owner"].lower() == actor.name.lower() and not lead["hold_until"]:
                return Outcome(lead_id, f"lead {lead_id} is already yours")
            if not q.claim(conn, lead_id, actor.name, clock.stamp(now)):
                holder = q.lead(conn, lead_id)["owner"]
                raise Refused(f"lead {lead_id} is held by {holder} (W14)")
            event_id = self._change(conn, lead, {"owner": actor.name, "hold_until": None}, now, actor.name, "claim",
                                    written=True)
        return Outcome(lead_id, f"lead {lead_id} claimed by {actor.name}", event_id)

    def release(self, lead_id: int, rep: str | None, pin: str | None = None) -> Outcome:
        """W15: the rep's lead back to the pool (another rep's: a manager, with PIN)."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            if lead["owner"] is None:
                return Outcome(lead_id, f"lead {lead_id} is already in the pool")
            if lead["owner"].lower() != actor.name.lower():
                self._manager(conn, rep, pin, f"release {lead['owner']}'s lead")
            event_id = self._change(conn, lead, {"owner": None, "hold_until": None}, now, actor.name, "release")
        return Outcome(lead_id, f"lead {lead_id} released to the pool", event_id)

    def assign(self, lead_id: int, to: str, rep: str | None, pin: str | None = None) -> Outcome:
        """W16: a pool lead or your own to anyone; another rep's only by a manager."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            target = self._actor(conn, to)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            owner = lead["owner"]
            if owner and owner.lower() == target.name.lower():
                return Outcome(lead_id, f"lead {lead_id} is already {target.name}'s")
            if owner and owner.lower() != actor.name.lower():
                self._manager(conn, rep, pin, f"take a lead from {owner}")
            event_id = self._change(conn, lead, {"owner": target.name, "hold_until": None}, now, actor.name, "assign",
                                    data={"from": owner, "to": target.name})
        return Outcome(lead_id, f"lead {lead_id} assigned to {target.name}", event_id)

    def followup(self, lead_id: int, rep: str | None, asked: str) -> Outcome:
        """W18: call back at half the interval the lead asked for; the lead stays with the rep."""
        now = self.now()
        requested, scheduled = half_way(now, asked)
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            holder_guard(lead, actor)
            fields = {"owner": actor.name, "hold_until": None, "next_call_at": scheduled,
                      "followup_requested_at": requested}
            event_id = self._change(conn, lead, fields, now, actor.name, "followup",
                                    data={"asked": asked, "requested": clock.stamp(requested),
                                          "scheduled": clock.stamp(scheduled)})
        return Outcome(lead_id, f"call back {scheduled.date().isoformat()} (asked for {requested.date().isoformat()})", event_id)

    def undo(self, lead_id: int, rep: str | None) -> Outcome:
        """W19: reverse the rep's last action on the lead within 10 minutes."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            undone = q.undone_ids(conn, lead_id)
            events = [e for e in q.events(conn, lead_id, limit=200) if e["id"] not in undone]
            mine = [e for e in events if e["kind"] in UNDOABLE and e["rep"] and e["rep"].lower() == actor.name.lower()
                    and "approved_by" not in json.loads(e["data"] or "{}")]  # a manager's approval stays
            if not mine or mine[-1]["at"] < clock.stamp(now - UNDO_WINDOW):
                raise Refused(f"nothing of yours to undo on lead {lead_id} in the last 10 minutes (W19)")
            target = mine[-1]
            later = [e for e in events if e["id"] > target["id"] and e["kind"] in CHANGES]
            if later:
                raise Refused(f"lead {lead_id} changed since ({later[-1]['kind']} by {later[-1]['rep'] or 'the system'}); can't undo (W19)")
            if target["kind"] == "approval_requested":
                approval = conn.execute("SELECT id, state FROM approvals WHERE event_id = ?", (target["id"],)).fetchone()
                if approval["state"] != "pending":
                    raise Refused(f"approval #{approval['id']} was already {approval['state']} (W19)")
                q.decide_approval(conn, approval["id"], "cancelled", actor.name, clock.stamp(now), "undone")
            restore = json.loads(target["before"] or "{}")
            data = json.loads(target["data"] or "{}")
            for pid, values in data.get("phones_before", {}).items():
                q.update_phone(conn, int(pid), values)
            data = {"undid": target["kind"], "status": target["status"]}
            cancelled, went = q.cancel_actions(conn, clock.stamp(now), event_id=target["id"])
            if cancelled:
                data["cancelled"] = [f"{a['action']} #{a['id']}" for a in cancelled]
            event_id = self._change(conn, lead, restore, now, actor.name, "undo", undoes=target["id"], data=data)
        label = self.playbook.status(target["status"]).label if target["status"] else target["kind"].replace("_", " ")
        outcome = Outcome(lead_id, f"undid {label} on lead {lead_id}", event_id)
        outcome.warnings = [f"{a['action']} is being delivered right now; it may still arrive" if a["state"] == "in flight"
                            else f"{a['action']} already went out ({a['state']} {a['done_at']}); it can't be recalled"
                            for a in went]
        return outcome

    def approve(self, approval_id: int, rep: str | None, pin: str | None) -> Outcome:
        """W13: a manager approves; the status applies now, credited to the rep who asked."""
        now = self.now()
        with self.db.write() as conn:
            manager = self._manager(conn, rep, pin, "approve")
            row = self._pending(conn, approval_id)
            lead = self._lead(conn, row["lead_id"])
            requester = self._actor(conn, row["rep"])
            phones = q.phones(conn, [lead["id"]])[lead["id"]]
            given = json.loads(row["inputs"])
            at = given.pop("at", None)
            d = decide_status(self.playbook.status(row["status"]), lead, phones, requester, now, approved=True,
                              appointment_at=self._parse_at(at, lead, phones) if at else None, rules=self.rules,
                              dials_24h=lambda pid: q.dials_since(conn, pid, clock.stamp(now - timedelta(hours=24))),
                              **given)
            outcome = self._apply(conn, lead, phones, d, requester, now,
                                  extra={"approval": approval_id, "approved_by": manager.name})
            q.decide_approval(conn, approval_id, "approved", manager.name, clock.stamp(now))
        outcome.message = f"approval #{approval_id} approved: {outcome.message}"
        return outcome

    def reject(self, approval_id: int, rep: str | None, pin: str | None, why: str) -> Outcome:
        """W13: a manager rejects; the lead is unchanged and the rep sees why."""
        if not why.strip():
            raise LeadtuiError("say why (--why TEXT): the rep sees it")
        now = self.now()
        with self.db.write() as conn:
            manager = self._manager(conn, rep, pin, "reject")
            row = self._pending(conn, approval_id)
            q.decide_approval(conn, approval_id, "rejected", manager.name, clock.stamp(now), why.strip())
            event_id = self._event(conn, now, lead_id=row["lead_id"], rep=manager.name, kind="approval_rejected",
                                   status=row["status"], data={"approval": approval_id, "for": row["rep"], "why": why.strip()})
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
        with self.db.write() as conn:
            manager = self._manager(conn, rep, pin, "revive a lead")
            lead = self._lead(conn, lead_id)
            if not lead["dead"]:
                raise Refused(f"lead {lead_id} is not dead")
            undone = q.undone_ids(conn, lead_id)
            kill = next((e for e in reversed(q.events(conn, lead_id))
                         if e["id"] not in undone and json.loads(e["after"] or "{}").get("dead") == 1), None)
            restore = json.loads(kill["before"]) if kill else {}
            restore.update(dead=0, status=restore.get("status", lead["status"] if kill else self.playbook.initial))
            owner = restore.get("owner")
            if owner and (q.rep(conn, owner) is None or not q.rep(conn, owner)["active"]):
                restore["owner"] = None
            if restore.get("hold_until") and restore["hold_until"] <= clock.stamp(now):
                restore["hold_until"] = None
            event_id = self._change(conn, lead, restore, now, manager.name, "revive",
                                    data={"killed_by": kill["rep"] if kill else None})
        label = self.playbook.status(restore["status"]).label
        return Outcome(lead_id, f"lead {lead_id} revived as {label}", event_id)

    def sweep(self) -> list[int]:
        """W9: holds past their date go back to the pool. Returns the leads released."""
        now = self.now()
        with self.db.write() as conn:
            rows = q.expired_holds(conn, clock.stamp(now))
            for lead in rows:
                self._change(conn, lead, {"owner": None, "hold_until": None}, now, None, "hold_expired",
                             data={"held_by": lead["owner"]})
        return [r["id"] for r in rows]

    def clear_reply(self, reply_id: int, rep: str | None) -> Outcome:
        """W17: mark a drip reply handled (who, when); it leaves the list."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            row = q.reply(conn, reply_id)
            if row is None:
                raise LeadtuiError(f"no reply {reply_id}")
            if row["cleared_at"]:
                raise Refused(f"reply {reply_id} was already cleared by {row['cleared_by']}")
            q.clear_reply(conn, reply_id, actor.name, clock.stamp(now))
            if row["lead_id"]:
                self._event(conn, now, lead_id=row["lead_id"], rep=actor.name, kind="sms_cleared",
                            data={"reply": reply_id, "from": row["from_number"]})
        return Outcome(row["lead_id"], f"reply {reply_id} cleared")

    def add_reply(self, number: str, body: str, received_at: datetime) -> int | None:
        """A drip reply in, matched to a lead by phone. None when it was already stored."""
        from leadtui.core import phones as phonelib

        e164 = phonelib.normalize(number)
        if e164 is None:
            raise LeadtuiError(f"not a phone number: {number!r}")
        with self.db.write() as conn:
            return q.insert_reply(conn, e164, body, clock.stamp(received_at))

    def migrate_statuses(self, mapping: Mapping[str, str], default: str | None, *,
                         rep: str | None = None, dry_run: bool = False) -> dict[str, Any]:
        """L5: map each lead's source (legacy) status onto the playbook; one event per lead changed.

        Values not in `mapping` go to `default`; with no default they are left alone. Only leads
        still at the initial status are mapped: what a rep (or an earlier run) decided stays (L2).
        """
        mapping = {k.strip().casefold(): v for k, v in mapping.items()}
        for target in {*mapping.values(), *([default] if default else [])}:
            self.playbook.status(target)
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep).name if rep else None
            counts: dict[tuple[str, str], int] = {}
            changed = kept = 0
            for row in q.with_source_status(conn):
                target = mapping.get(row["source_status"].strip().casefold(), default)
                if target is None:
                    continue
                if row["status"] != self.playbook.initial:
                    kept += 1
                    continue
                key = (row["source_status"], target)
                counts[key] = counts.get(key, 0) + 1
                if target != row["status"]:
                    changed += 1
                    if not dry_run:
                        lead = q.lead(conn, row["id"])
                        self._change(conn, lead, {"status": target}, now, actor, "migrate", status=target,
                                     data={"from": row["source_status"]})
        return {"dry_run": dry_run, "changed": changed, "kept": kept,
                "map": [{"from": f, "to": t, "count": n} for (f, t), n in sorted(counts.items())]}


def open_service(db_path: Path | str, config: Any = None, **kwargs: Any) -> Service:
    """A Service set up from the config (calling rules, undo delay)."""
    if config is not None:
        kwargs.setdefault("rules", CallingRules.from_config(config.calling))
        kwargs.setdefault("delay_seconds", config.automation["delay_seconds"])
        kwargs.setdefault("busy_timeout_ms", config.raw.get("database", {}).get("busy_timeout_ms"))
        from leadtui.config import config_dir

        templates = config_dir() / "templates"
        kwargs.setdefault("templates_dir", templates if templates.is_dir() else None)
    try:
        return Service.open(db_path, **kwargs)
    except sqlite3.Error as exc:
        raise describe(db_path, exc) from None
