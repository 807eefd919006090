"""What every capability of the service shares: the connection, the clock, the rules, and the
helpers each write uses (who acts, the lead, its event)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any, Self

from leadtui import clock
from leadtui.core import pins
from leadtui.core.calling import CallingRules
from leadtui.core.decide import CHANGES, Seen, reservation_guard, seen_guard
from leadtui.core.kpi import PRESSES, once_a_day
from leadtui.core.playbook import parse as parse_playbook
from leadtui.core.rules import Actor, Decision, Row
from leadtui.errors import Busy, LeadtuiError, Refused
from leadtui.service.shapes import zone_of
from leadtui.store import calls as calllog
from leadtui.store import kpis as kpi_store
from leadtui.store import pg_roles, reservations
from leadtui.store import queries as q
from leadtui.store.db import Database, Notice, connect
from leadtui.store.postgres import ahead

RESERVE_SECONDS = 120  # F2: how long a station's lead stays reserved unless renewed ([floor] reserve_seconds)
PAYLOAD_NOTES = 3  # W3: the latest notes an action carries


def new_station() -> str:
    """A name for one station (or one CLI call): host, process and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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


def _stamp(value: Any) -> Any:
    return clock.stamp(value) if isinstance(value, datetime) else value


class Base:
    """The station's connection, clock and rules; one instance per station (or per CLI call)."""

    def __init__(
        self,
        db: Database,
        *,
        now: Callable[[], datetime] = clock.now,
        rules: CallingRules | None = None,
        delay_seconds: int = 30,
        contracts_dir: Path | None = None,
        templates_dir: Path | None = None,
        station: str | None = None,
        reserve_seconds: int = RESERVE_SECONDS,
        automation: dict | None = None,
        zone: tzinfo | None = None,
    ):
        self.db = db
        self.zone = zone or clock.system_zone()  # the floor's day and hours ([floor] timezone)
        self.automation = automation  # the config's [automation]: which actions are texts, to whom (D4)
        self.station = station or new_station()
        self.reserve_seconds = reserve_seconds
        if now is clock.now and not clock.fixed():
            now = db.now  # the floor's clock: a server's floor keeps the server's (store.postgres)
        self.now = lambda: now().astimezone(self.zone)  # the floor's wall clock: its date is the floor's day
        self.rules = rules or CallingRules()
        self.delay = timedelta(seconds=delay_seconds)
        self.contracts_dir = contracts_dir
        self.templates_dir = templates_dir
        source = q.meta(db.conn, "playbook")
        if source is None:
            raise LeadtuiError(f"{db.path}: no playbook stored; run `leadtui init --db {db.path}`")
        if now is clock.now and clock.fixed() and q.meta(db.conn, "test_clock") != "1":
            raise LeadtuiError(
                f"{db.path} keeps real time: LEADTUI_NOW is honoured only on floors made with "
                "`leadtui init --test-clock` and the demo; unset it"
            )
        self.playbook = parse_playbook(source, "playbook stored in the database")
        # A rep's own database role (store.pg_roles): this station acts as that rep and no other.
        who = pg_roles.connected(db.conn)
        self.bound: str | None = who.bound if who else None
        self.manager_role = bool(who and who.manager)

    @classmethod
    def open(
        cls, path: Path | str, busy_timeout_ms: int | None = None, notice: Notice | None = None, **kwargs: Any
    ) -> Self:
        db = connect(path, busy_timeout_ms=busy_timeout_ms, notice=notice)
        try:
            return cls(db, **kwargs)
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self.db.close()

    # --- helpers ----------------------------------------------------------------------------

    def _acting(self, name: str | None) -> str | None:
        """Who acts: `name`, unless the floor was opened with a rep's own database role, which acts
        as that rep only (no name: that rep; another's: refused). The one place this is decided."""
        if self.bound is None:
            return name
        if name and name.lower() != self.bound.lower():
            raise Refused(f"connected as role {self.bound}: you act as rep {self.bound}")
        return self.bound

    def acts_as(self, name: str | None) -> str | None:
        """Who a station opened for `name` acts as (see `_acting`): a screen asks before it opens."""
        return self._acting(name)

    def _actor(self, conn: sqlite3.Connection, name: str | None) -> Actor:
        """The rep acting (see `_acting`), active."""
        return self._someone(conn, self._acting(name))

    def _someone(self, conn: sqlite3.Connection, name: str | None) -> Actor:
        """An active rep named in an action other than the one acting (whom a lead is assigned or
        handed to, who asked for an approval)."""
        if not name:
            raise LeadtuiError("say who you are: --rep NAME (or env LEADTUI_REP, or rep in the config)")
        row = self._rep(conn, name, pin=False)
        if not row["active"]:
            raise Refused(f"rep {row['name']} is not active")
        return Actor(row["name"], row["role"] == "manager", date.fromisoformat(row["started"]))

    def _rep(self, conn: sqlite3.Connection, name: str, *, pin: bool = True) -> sqlite3.Row:
        row = q.rep(conn, name, pin=pin)
        if row is None:
            raise LeadtuiError(f"no rep named {name!r}: add one with `leadtui reps add {name}`")
        return row

    def _lead(self, conn: sqlite3.Connection, lead_id: int) -> sqlite3.Row:
        row = q.lead(conn, lead_id)
        if row is None:
            held = pg_roles.holder(conn, lead_id) if self.bound else None  # hidden by row security
            if held:
                raise Refused(f"lead {lead_id} is held by {held}: only they and managers see it (W14)")
            raise LeadtuiError(f"no lead {lead_id}")
        return row

    def _ahead(
        self, conn: sqlite3.Connection, lead_id: int, rep: str | None, now: datetime, *more: Callable
    ) -> None:
        """On a server, queue what `_actor` and `_target` will read, and `more` reads, with the
        write's locks: one round trip for them all."""
        name = self._acting(rep)
        ahead(
            conn,
            lambda c: q.rep(c, name, pin=False) if name else None,
            lambda c: q.lead(c, lead_id),
            lambda c: reservations.of_lead(c, lead_id, clock.stamp(now)),
            *more,
        )

    def _target(
        self,
        conn: sqlite3.Connection,
        lead_id: int,
        actor: Actor,
        seen: Seen | None,
        now: datetime,
        *,
        moved_on: bool = False,
    ) -> sqlite3.Row:
        """The lead a key acts on, refused if it changed hands since the rep saw it (F1) or is on another
        rep's screen (F2). `moved_on`: an undo may follow the rep's own change of owner."""
        lead = self._lead(conn, lead_id)
        if not moved_on:
            seen_guard(lead, seen, actor, lambda: q.changed_by(conn, lead_id, [*CHANGES, "undo"]))
        reservation_guard(lead, reservations.of_lead(conn, lead_id, clock.stamp(now)), actor)
        return lead

    def _event(self, conn: sqlite3.Connection, now: datetime, **kwargs: Any) -> int:
        return q.insert_event(conn, at=clock.stamp(now), day=now.date().isoformat(), **kwargs)

    def _credit(
        self, conn: sqlite3.Connection, lead_id: int, d: Decision, rep: str, now: datetime
    ) -> Decision:
        """W20: the press as credited: a repeat of the rep's on the lead this floor day credits nothing."""
        return once_a_day(d, lambda: self._presses(conn, lead_id, rep, now))

    @staticmethod
    def _presses(conn: sqlite3.Connection, lead_id: int, rep: str, now: datetime) -> list[sqlite3.Row]:
        """The rep's presses on the lead this floor day that W20 weighs a new one against."""
        return kpi_store.presses(conn, lead_id, rep, now.date().isoformat(), PRESSES)

    def _change(
        self,
        conn: sqlite3.Connection,
        lead: sqlite3.Row,
        fields: Mapping[str, Any],
        now: datetime,
        actor: str | None,
        kind: str,
        *,
        written: bool = False,
        **event: Any,
    ) -> int:
        """Update the lead's state fields (unless already `written`) and append the event, before and after."""
        stamped = {k: _stamp(v) for k, v in fields.items()}
        after = {k: v for k, v in stamped.items() if lead[k] != v}
        if after and not written:
            # a rep's own role gives a lead away through the server (store.pg_roles.give): row
            # security lets no UPDATE of theirs leave a lead they may not read
            owner: str | None = after.get("owner")
            gives = bool(
                self.bound and not self.manager_role and owner and owner.lower() != self.bound.lower()
            )
            rest = {k: v for k, v in after.items() if k != "owner"} if gives else after
            if rest:
                q.update_lead(conn, lead["id"], rest, clock.stamp(now))
            if gives and owner and not pg_roles.give(conn, lead["id"], owner, clock.stamp(now)):
                raise Refused(f"lead {lead['id']} can't go to {owner}; nothing was changed")
        before = {k: lead[k] for k in after}
        return self._event(
            conn, now, lead_id=lead["id"], rep=actor, kind=kind, before=before, after=after, **event
        )

    def _viewer(self, conn: sqlite3.Connection, rep: str | None) -> Actor | None:
        """Who is looking; None for the admin view (no rep). A manager sees all, a rep the pool and theirs."""
        return self._actor(conn, rep) if rep or self.bound else None

    @staticmethod
    def _visible_to(viewer: Actor | None) -> str | None:
        return viewer.name if viewer and not viewer.manager else None

    def _may_see(self, conn: sqlite3.Connection, lead: sqlite3.Row, viewer: str | None) -> None:
        visible_to = self._visible_to(self._viewer(conn, viewer))
        if visible_to and lead["owner"] and lead["owner"].lower() != visible_to.lower():
            raise Refused(
                f"lead {lead['id']} is held by {lead['owner']}: only they and managers see it (W14)"
            )

    def _calls_24h(self, conn: sqlite3.Connection, now: datetime, lead_id: int) -> Callable[[int], int]:
        """B3's count for a phone of the lead: its calls in the 24 h before `now`, from the call log
        (D2); the lead's phones read at the first count asked for, in one statement."""
        counts = cache(lambda: self._lead_calls_24h(conn, lead_id, now))
        return lambda phone_id: counts().get(phone_id, 0)

    @staticmethod
    def _lead_calls_24h(conn: sqlite3.Connection, lead_id: int, now: datetime) -> dict[int, int]:
        return calllog.lead_counts_since(conn, lead_id, clock.stamp(now - timedelta(hours=24)))

    def _parse_at(self, text: str, lead: Row, phones: Sequence[Row]) -> datetime:
        """An appointment time; without an offset it is the lead's local time."""
        from zoneinfo import ZoneInfo

        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))  # noqa: FURB162 (as in clock.parse_iso)
        except ValueError:
            raise LeadtuiError(f"not an ISO-8601 date and time: {text!r} (e.g. 2026-12-01T15:00)") from None
        if value.tzinfo is None:
            zone = zone_of(lead, phones)
            value = value.replace(tzinfo=ZoneInfo(zone)) if zone else value.astimezone()
        return value

    def _payload(self, conn: sqlite3.Connection, lead_id: int, rep: str) -> dict:
        """What an action carries: the lead as it is after the change, in the same transaction."""
        ahead(  # on a server, the three reads below in one round trip
            conn,
            lambda c: q.lead(c, lead_id),
            lambda c: q.phones(c, [lead_id]),
            lambda c: calllog.notes(c, lead_id, PAYLOAD_NOTES),
        )
        row = self._lead(conn, lead_id)
        phones = q.phones(conn, [lead_id])[lead_id]
        # W3: the phone to reach the owner on: never one marked bad (a wrong number); dialable first
        good = sorted(
            (p for p in phones if not p["bad"]),
            key=lambda p: (
                bool(p["dnc"] or p["litigator"]),
                p["position"] != row["cur_phone"],
                p["position"],
            ),
        )
        notes = [
            {"at": n["at"], "rep": n["rep"], "text": json.loads(n["data"])["text"]}
            for n in calllog.notes(conn, lead_id, PAYLOAD_NOTES)
        ]  # W3: the underwriter reads the rep's latest notes too (D5)
        return {
            "lead_id": lead_id,
            "rep": rep,
            "owner_name": row["owner_name"],
            "address": row["address"],
            "city": row["city"],
            "state": row["state"],
            "zip": row["zip"],
            "status": row["status"],
            "phone": good[0]["number"] if good else None,
            "notes": "\n".join([*([row["notes"]] if row["notes"] else []), *(n["text"] for n in notes)]),
            "latest_notes": notes,
            "appointment_at": row["appointment_at"],
            "offer_amount": row["offer_amount"],
            "contract_path": row["contract_path"],
        }

    def _pin_check(self, name: str, pin: str, what: str) -> str:
        """`name`'s own PIN, checked with no transaction open (scrypt takes tens of ms). Wrong PINs are
        events, and TRIES in a row lock the PIN for LOCK, on every station (the count lives in the
        database). Returns the stored hash; Refused if the PIN is wrong, locked or was never set."""
        now = self.now()
        with self.db.read() as conn:
            row = self._rep(conn, name)
        if pins.locked(row["pin_locked_until"], now):
            raise Refused(
                f"{name}'s PIN is locked until {row['pin_locked_until'][11:16]} UTC after {pins.TRIES} wrong tries"
            )
        stored = row["pin_hash"]
        if self.db.engine == "postgresql":  # the hash stays on the server: checked and counted there
            return self._pin_check_on_server(name, stored, pin, what, now)
        if not pins.pin_ok(stored, pin):
            try:
                with self.db.write(shared=True) as conn:
                    got = q.pin_failed(conn, name, pins.TRIES, clock.stamp(pins.lock_until(now)))
                    self._event(conn, now, lead_id=None, rep=name, kind="pin_failed", data={"what": what})
            except Busy:  # the count waits for a free moment no more than a station would; the answer is no
                raise Refused(f"wrong PIN for {name}") from None
            if pins.locked(got["pin_locked_until"], now):
                raise Refused(f"wrong PIN for {name}: locked for {pins.LOCK.seconds // 60} minutes")
            raise Refused(f"wrong PIN for {name} ({got['pin_failures']} of {pins.TRIES} before a lock)")
        return stored

    def _pin_check_on_server(self, name: str, salted: str | None, pin: str, what: str, now: datetime) -> str:
        """`_pin_check` on a server: `salted` is the hash without its digest (store.pg_roles); the
        digest of the PIN typed is compared, and a wrong one counted, by the server as the owner."""
        digest = pg_roles.pin_digest(salted, pin) if salted else ""
        try:
            with self.db.write(shared=True) as conn:
                got = pg_roles.check_pin(conn, name, digest, clock.stamp(now), now.date().isoformat(), what)
        except Busy:
            raise Refused(f"{name}'s PIN can't be checked now: the floor is busy; try again") from None
        if got is not None and got["ok"]:
            return salted or ""
        if got is None:
            raise Refused(f"wrong PIN for {name}")
        if pins.locked(got["locked_until"], now):
            raise Refused(f"wrong PIN for {name}: locked for {pins.LOCK.seconds // 60} minutes")
        raise Refused(f"wrong PIN for {name} ({got['failures']} of {pins.TRIES} before a lock)")

    def _manager_first(
        self, name: str | None, pin: str | None, what: str
    ) -> Callable[[sqlite3.Connection], Actor]:
        """The acting manager and their PIN, checked before any write transaction (`_pin_check`).
        Returns the check to run in the write transaction: the same person is still an active manager
        with the same PIN hash."""
        with self.db.read() as conn:
            actor = self._actor(conn, name)
            if not actor.manager:
                raise Refused(f"only a manager may {what}")
            if pin is None:
                raise PinRequired(f"{what} needs {actor.name}'s manager PIN")
        stored = self._pin_check(actor.name, pin, what)

        def again(conn: sqlite3.Connection) -> Actor:
            current = self._actor(conn, actor.name)
            if not current.manager or self._rep(conn, actor.name)["pin_hash"] != stored:
                raise Refused(
                    f"{actor.name}'s manager role or PIN changed meanwhile; nothing was changed, try again"
                )
            q.pin_passed(conn, actor.name)
            return current

        return again
