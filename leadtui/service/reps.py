"""Rep admin (issue 16): a manager switches a rep off (their desk handed over) and on, resets a
PIN; a station that asks for its rep's own PIN (`[floor] require_pin`) checks it here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadtui.core.pins import hash_pin, pin_problem
from leadtui.core.roster import decide_active
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base
from leadtui.store import pg_roles, reservations
from leadtui.store import queries as q


class RepAdmin(Base):
    """Deactivate and activate reps, reset PINs, and the station's own-PIN check."""

    if TYPE_CHECKING:  # from Inbox, beside it in Service

        def hand_over(self, rep: str, to: str | None, by: str | None, pin: str | None) -> dict: ...

    def set_active(self, name: str, active: bool, by: str | None, pin: str | None) -> dict:
        """A manager switches rep `name` off or on. An inactive rep opens no station and acts on
        nothing (the service refuses them); their station's reserved lead is let go at once."""
        what = f"{'activate' if active else 'deactivate'} a rep"
        check = self._manager_first(by, pin, what)
        now = self.now()
        with self.db.write() as conn:
            manager = check(conn)
            row = self._rep(conn, name)
            changed = decide_active(row, manager, active)
            if changed:
                q.set_rep_active(conn, row["name"], active)
                reservations.drop_rep(conn, row["name"])
                self._event(
                    conn,
                    now,
                    lead_id=None,
                    rep=manager.name,
                    kind="rep_activated" if active else "rep_deactivated",
                    data={"rep": row["name"]},
                )
        word = "active" if active else "inactive"
        return {
            "rep": row["name"],
            "active": active,
            "changed": changed,
            "message": f"{row['name']} is {word}" if changed else f"{row['name']} was already {word}",
        }

    def deactivate(self, name: str, by: str | None, pin: str | None, *, to: str | None = None) -> dict:
        """A manager switches rep `name` off and hands their leads and callbacks to rep `to` (None:
        the pool). Run again on an inactive rep, it hands over what is still theirs."""
        with self.db.read() as conn:
            leaving = self._rep(conn, name)["name"]
            if to is not None and self._someone(conn, to).name.lower() == leaving.lower():
                raise LeadtuiError(f"hand {leaving}'s leads to another rep (or to the pool: no --to)")
        done = self.set_active(leaving, False, by, pin)
        handed = self.hand_over(leaving, to, by, pin)
        return {**done, "handed_over": handed, "message": f"{done['message']}; {handed['message']}"}

    def reset_pin(self, name: str, new_pin: str, by: str | None, pin: str | None) -> dict:
        """A manager sets rep `name`'s PIN (a new one, or one forgotten); a lock on it is lifted."""
        problem = pin_problem(new_pin)
        if problem:
            raise LeadtuiError(problem)
        check = self._manager_first(by, pin, "reset a PIN")
        hashed = hash_pin(new_pin)  # F4: scrypt before the transaction
        now = self.now()
        with self.db.write() as conn:
            manager = check(conn)
            row = self._rep(conn, name)
            q.set_rep_pin(conn, row["name"], hashed)
            self._event(
                conn, now, lead_id=None, rep=manager.name, kind="pin_reset", data={"rep": row["name"]}
            )
        return {"rep": row["name"], "message": f"{row['name']}'s PIN is set"}

    def check_own_pin(self, name: str, pin: str) -> dict:
        """`[floor] require_pin`: a station opens for rep `name` only with their own PIN (so no one
        records credit under another's name). Wrong PINs count and lock as a manager's do."""
        with self.db.read() as conn:
            actor = self._actor(conn, name)  # an inactive rep opens no station
            has_pin = self._rep(conn, actor.name)["pin_hash"] is not None
        if not has_pin:
            raise Refused(
                f"{actor.name} has no PIN yet: ask a manager to set one (leadtui reps pin {actor.name})"
            )
        self._pin_check(actor.name, pin, "open a station")
        with self.db.write() as conn:
            q.pin_passed(conn, actor.name)
        return {"rep": actor.name, "message": f"station open for {actor.name}"}

    def grant_role(self, name: str, *, manager: bool = False, password: str | None = None) -> dict:
        """Issue 18: rep `name` connects to a PostgreSQL floor with a role of their own (row security
        shows them the pool's leads and theirs; a manager's role sees all). Made if missing, with
        `password` (None: none, for peer or certificate authentication); run by the floor's owner."""
        if self.db.engine != "postgresql":
            raise LeadtuiError("database roles are a PostgreSQL floor's: a SQLite floor has none")
        if self.bound:
            raise Refused(f"connected as role {self.bound}: only the floor's owner grants roles")
        with self.db.read() as conn:
            row = self._rep(conn, name)
        is_manager = row["role"] == "manager"
        if manager and not is_manager:
            raise LeadtuiError(f"{row['name']} is a rep on this floor: a manager's role is for managers")
        done = pg_roles.grant(self.db.conn, row["name"], manager=is_manager, password=password)
        word = "made" if done["created"] else "updated" if done["changed"] else "already set up"
        return {
            "rep": row["name"],
            **done,
            "message": f"role {done['role']} {word}: {row['name']} connects as {done['role']} ({done['group']})",
        }
