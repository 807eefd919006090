"""Floor-wide jobs and drip replies: the W9 sweep, L5's status migration, W17."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from leadtui import clock
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base, Outcome
from leadtui.store import queries as q

LEGACY_MAP = {"new": "new", "followed up": "engage", "hot": "active", "exclude": "non-client"}
LEGACY_DEFAULT = "future"


class Jobs(Base):
    """Work over many leads, and replies in and cleared."""

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


