"""Floor-wide jobs and drip replies: the W9 sweep, L5's status migration, W17."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadtui import clock
from leadtui.core import optout
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base
from leadtui.store import inbox, optouts, slices
from leadtui.store import queries as q

LEGACY_MAP = {"new": "new", "followed up": "engage", "hot": "active", "exclude": "non-client"}
LEGACY_DEFAULT = "future"
CHUNK = 500  # leads a floor-wide job reads per write transaction (F4)
PROGRESS = "migrate_statuses"  # meta key: how far a status migration got (_Run), until it ends


class Jobs(Base):
    """Work over many leads, and replies in."""

    def sweep(self, chunk: int = CHUNK) -> list[int]:
        """W9: holds past their date go back to the pool; so do `anyone` callbacks once due (issue 16:
        their lead stays marked a callback, due for every rep). Returns the leads released.

        F4: `chunk` leads a transaction at most (fewer once it held the lock `db.slice`), each a
        background slice: a station waiting to write goes between two."""
        return self._release(slices.expired_holds, "hold_expired", "held_by", chunk) + self._release(
            inbox.due_anyone, "callback_due", "callback_of", chunk
        )

    def _release(
        self,
        due: Callable[[sqlite3.Connection, str, int], list[sqlite3.Row]],
        kind: str,
        holder: str,
        chunk: int,
    ) -> list[int]:
        """The leads `due` finds go to the pool, a slice at a time; one `kind` event each."""
        now = self.now()
        stamp = clock.stamp(now)
        released: list[int] = []
        while True:
            with self.db.write(background=True) as conn:
                began = time.perf_counter()
                rows = due(conn, stamp, chunk)
                done: list[int] = []
                for lead in rows:
                    self._change(
                        conn,
                        lead,
                        {"owner": None, "hold_until": None},
                        now,
                        None,
                        kind,
                        data={holder: lead["owner"]},
                    )
                    done.append(lead["id"])
                    if time.perf_counter() - began > self.db.slice:
                        break
            released += done
            if len(done) == len(rows) < chunk:
                return released

    def add_reply(self, number: str, body: str, received_at: datetime) -> int | None:
        """A drip reply in, matched to a lead by phone. None when it was already stored."""
        (got,) = self.add_replies([(number, body, received_at)])
        if isinstance(got, LeadtuiError):
            raise got
        return got

    def add_replies(self, replies: list[tuple[str, str, datetime]]) -> list[int | LeadtuiError | None]:
        """Drip replies in, all in one transaction: for each, its id, None when it was already
        stored, or why it can't be (a number that is no phone, a time out of range).

        D4: a reply that is an opt-out (core.optout) marks its number DNC in the same transaction."""
        from leadtui.core import phones as phonelib

        checked: list[tuple[str, str, str] | LeadtuiError] = []
        server = (
            self.db.engine == "postgresql"
        )  # its text can't hold a NUL: U+FFFD there (as an import's cell)
        for number, text, received_at in replies:
            body = text.replace("\x00", "\ufffd") if server and "\x00" in text else text
            e164 = phonelib.normalize(number)
            try:
                at = clock.stamp(received_at)
            except (OverflowError, ValueError):
                checked.append(LeadtuiError(f"a time out of range: {received_at.isoformat()}"))
                continue
            checked.append((e164, body, at) if e164 else LeadtuiError(f"not a phone number: {number!r}"))
        if self.bound and not self.manager_role:
            raise Refused(
                f"connected as rep {self.bound}'s role, which sees the pool's leads and its own only: "
                "replies come in on the floor's role or a manager's, so an opt-out marks every lead's "
                "phone with its number DNC (D4)"
            )
        now = self.now()
        stored: list[int | LeadtuiError | None] = []
        with self.db.write() as conn:
            for c in checked:
                if isinstance(c, LeadtuiError):
                    stored.append(c)
                    continue
                reply_id = q.insert_reply(conn, *c)
                word = optout.opt_out(c[1])
                if reply_id is not None and word:
                    self._opted_out(conn, reply_id, c[0], word, now)
                stored.append(reply_id)
        return stored

    def _opted_out(
        self, conn: sqlite3.Connection, reply_id: int, number: str, word: str, now: datetime
    ) -> None:
        """D4: every lead's phone with this number is DNC from now on, and the lead's texts to it that
        have not gone are cancelled (which actions are texts, and to whom, comes from the config's
        [automation]; the SMS target also refuses a DNC number when a text goes). One event per
        lead, by the system: no rep's undo takes an opt-out back (undo restores no DNC flag)."""
        stamp = clock.stamp(now)
        why = f"{number} opted out (reply {reply_id}: {word}); no text goes to it (D4)"
        for phone in optouts.phones(conn, number):
            if not phone["dnc"]:
                optouts.mark_dnc(conn, phone["id"])
            texts = self._texts_to(conn, phone["lead_id"], number)
            for row in texts:
                optouts.cancel(conn, row["id"], stamp, why)
            flying = [row for row in texts if row["lease_until"] and row["lease_until"] > stamp]
            data = {
                "reply": reply_id,
                "word": word,
                "phone": phone["position"],
                "number": number,
                "already_dnc": bool(phone["dnc"]) or None,
                "cancelled": [f"{row['action']} #{row['id']}" for row in texts] or None,
                "in_flight": [f"{row['action']} #{row['id']}" for row in flying] or None,
            }
            self._event(
                conn,
                now,
                lead_id=phone["lead_id"],
                rep=None,
                kind="opted_out",
                phone_id=phone["id"],
                data={k: v for k, v in data.items() if v is not None},
            )

    def _texts_to(self, conn: sqlite3.Connection, lead_id: int, number: str) -> list[sqlite3.Row]:
        """The lead's actions not yet sent that this config texts to `number` (none without a config)."""
        from leadtui.automation.targets import texted_to  # the SMS targets' modules load only when needed

        automation = self.automation
        if automation is None:
            return []
        return [
            row
            for row in optouts.open_actions(conn, lead_id)
            if texted_to(
                automation, row["action"], lead_id, json.loads(row["payload"]), row["idempotency_key"]
            )
            == number
        ]

    def migrate_statuses(
        self,
        mapping: Mapping[str, str],
        default: str | None,
        *,
        rep: str | None = None,
        dry_run: bool = False,
        chunk: int = CHUNK,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """L5: map each lead's source (legacy) status onto the playbook; one event per lead changed.

        Values not in `mapping` go to `default`; with no default they are left alone. Only leads
        still at the initial status are mapped: what a rep (or an earlier run) decided stays (L2).

        F4: leads go `chunk` at a time by id (fewer once a transaction held the lock `db.slice`), each
        chunk a background slice that also stores how far the run got (meta PROGRESS, in the
        same transaction). A run that is stopped (killed, Ctrl-C) and run again with the same
        map picks up after the last chunk it committed, and reports the totals of one whole run.
        `progress` hears the last lead id looked at after each chunk.
        """
        mapping = {k.strip().casefold(): v for k, v in mapping.items()}
        for known in {*mapping.values(), *([default] if default else [])}:
            self.playbook.status(known)
        now = self.now()
        plan = {"map": mapping, "default": default}
        with self.db.read() as conn:
            actor = self._actor(conn, rep).name if rep else None
        run = _Run.fresh(plan)
        while True:
            with self.db.read() if dry_run else self.db.write(background=True) as conn:
                began = time.perf_counter()
                if not dry_run:
                    run = _Run.stored(q.meta(conn, PROGRESS), plan)
                rows = slices.with_source_status(conn, run.last, chunk)
                looked = 0
                for row in rows:
                    looked += 1
                    run.last = row["id"]
                    target = mapping.get(row["source_status"].strip().casefold(), default)
                    if target is not None:
                        if row["status"] != self.playbook.initial:
                            run.kept += 1
                        else:
                            key = (row["source_status"], target)
                            run.counts[key] = run.counts.get(key, 0) + 1
                            if target != row["status"]:
                                run.changed += 1
                                if not dry_run:
                                    lead = self._lead(conn, row["id"])
                                    self._change(
                                        conn,
                                        lead,
                                        {"status": target},
                                        now,
                                        actor,
                                        "migrate",
                                        status=target,
                                        data={"from": row["source_status"]},
                                    )
                    if time.perf_counter() - began > self.db.slice:
                        break
                finished = looked == len(rows) < chunk
                if not dry_run:
                    if finished:
                        slices.drop_meta(conn, PROGRESS)
                    else:
                        q.set_meta(conn, PROGRESS, run.dump())
            if finished:
                break
            if progress:
                progress(run.last)
        return {
            "dry_run": dry_run,
            "changed": run.changed,
            "kept": run.kept,
            "map": [{"from": f, "to": t, "count": n} for (f, t), n in sorted(run.counts.items())],
        }


@dataclass
class _Run:
    """How far a status migration got: the map it runs, the last lead id looked at, its totals."""

    plan: dict
    last: int = 0
    changed: int = 0
    kept: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def fresh(cls, plan: dict) -> _Run:
        return cls(plan)

    @classmethod
    def stored(cls, text: str | None, plan: dict) -> _Run:
        """The run stored in meta if it ran the same map (a stopped run), else a fresh one."""
        saved = json.loads(text) if text else None
        if not saved or saved["plan"] != plan:
            return cls(plan)
        return cls(
            plan, saved["last"], saved["changed"], saved["kept"], {(f, t): n for f, t, n in saved["counts"]}
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "plan": self.plan,
                "last": self.last,
                "changed": self.changed,
                "kept": self.kept,
                "counts": [[f, t, n] for (f, t), n in self.counts.items()],
            }
        )
