"""Reps on a PostgreSQL floor connecting with their own database role (issue 18, item 4).

Two group roles, `leadtui_rep` and `leadtui_manager` (a member of `leadtui_rep`), hold what a
station needs on the floor's tables; a rep's login role (named as the rep, lowercase) is a member
of one. Row-level security (pg_schema's migration 2) then shows a member of `leadtui_rep` only the
pool's leads and their own, and what hangs off them; a member of `leadtui_manager` sees all. The
floor's owner (the role that ran `leadtui init`) owns the tables and bypasses row-level security,
so imports, sweeps and admin run as the owner.

Role names are cluster-wide: the groups are made (if missing) only by a role allowed to
(CREATEROLE or superuser); the grants are per database and idempotent (`SETUP`, run by migration
2 and again by `leadtui reps grant`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from leadtui.errors import LeadtuiError
from leadtui.store.engines import on_server

REP = "leadtui_rep"
MANAGER = "leadtui_manager"

# What a station writes, table by table (service and store: see the README's grants):
# events are append-only (a trigger refuses more), calls are updated by their call events.
# reps: read in `_REPS_READ` (every column but the PIN hash), written by managers only (add, switch
# off/on, reset a PIN); a PIN is checked, and a wrong one counted, by `leadtui_pin_check` (migration 4).
REP_TABLES = {
    "meta": "SELECT",
    "schema_version": "SELECT",
    "leads": "SELECT, INSERT, UPDATE",
    "phones": "SELECT, INSERT, UPDATE",
    "events": "SELECT, INSERT",
    "outbox": "SELECT, INSERT, UPDATE",
    "approvals": "SELECT, INSERT, UPDATE",
    "replies": "SELECT, INSERT, UPDATE",
    "reservations": "SELECT, INSERT, UPDATE, DELETE",
    "calls": "SELECT, INSERT, UPDATE",
    "stations": "SELECT, INSERT, UPDATE, DELETE",
    "kpi_days": "SELECT",  # written by the events' and calls' triggers (SECURITY DEFINER)
    "lead_counts": "SELECT",  # written by the leads' triggers (SECURITY DEFINER)
    "lead_words": "SELECT",  # the search's words, written by the leads' triggers (SECURITY DEFINER)
}
MANAGER_TABLES = {"reps": "INSERT, UPDATE"}

# The owner-run functions a rep's role calls (EXECUTE revoked from PUBLIC where they are made), each
# granted once it exists (a later migration makes some, and runs SETUP again).
REP_FUNCTIONS = (
    "leadtui_give(bigint, citext, text)",
    "leadtui_pin(citext)",
    "leadtui_pin_check(citext, text, text, text, text)",
    "leadtui_lead_at_address(text)",
    "leadtui_other_properties(bigint, text, text[])",
    "leadtui_live_call(text, text)",
)

# Reps' rows, to leadtui_rep (and so to managers): every column but pin_hash, so a rep's role can't
# take a manager's PIN hash away and guess the PIN offline (a 6-digit PIN falls to a few million
# scrypt runs). Table-level SELECT and UPDATE (migration 2's) are revoked first, so a floor granted
# before keeps none; a column added by a later migration is granted when SETUP runs again.
_REPS_READ = f"""IF to_regclass('reps') IS NOT NULL THEN
            REVOKE SELECT, UPDATE ON reps FROM {REP};
            EXECUTE (SELECT format('GRANT SELECT (%s) ON reps TO {REP}',
                                   string_agg(quote_ident(attname), ', ' ORDER BY attnum))
                     FROM pg_catalog.pg_attribute WHERE attrelid = 'reps'::regclass AND attnum > 0
                         AND NOT attisdropped AND attname <> 'pin_hash');
        END IF;"""

_CAN_CREATE = "(SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user)"
_EXISTS = "EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{0}')"


def _grants() -> str:
    """The grants, each on a table or function that exists yet (a migration adding one runs SETUP again)."""
    grants = [(table, what, REP) for table, what in REP_TABLES.items()]
    grants += [(table, what, MANAGER) for table, what in MANAGER_TABLES.items()]
    tables = [
        f"IF to_regclass('{table}') IS NOT NULL THEN GRANT {what} ON {table} TO {role}; END IF;"
        for table, what, role in grants
    ]
    functions = [
        f"IF to_regprocedure('{f}') IS NOT NULL THEN GRANT EXECUTE ON FUNCTION {f} TO {REP}; END IF;"
        for f in REP_FUNCTIONS
    ]
    return "\n        ".join([*tables, _REPS_READ, *functions])


# The groups (if missing and this role may make them), then the grants (if the groups exist).
# Two floors migrating at once on one cluster may both try to make a group: the second's
# duplicate is ignored.
SETUP = f"""
DO $setup$
BEGIN
    IF NOT {_EXISTS.format(REP)} AND {_CAN_CREATE} THEN
        BEGIN
            CREATE ROLE {REP} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT {_EXISTS.format(MANAGER)} AND {_CAN_CREATE} THEN
        BEGIN
            CREATE ROLE {MANAGER} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF {_EXISTS.format(REP)} AND {_EXISTS.format(MANAGER)} THEN
        IF NOT pg_has_role('{MANAGER}', '{REP}', 'MEMBER') THEN
            GRANT {REP} TO {MANAGER};
        END IF;
        {_grants()}
        EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO {REP}', current_schema());
    END IF;
END $setup$;
"""


@dataclass(frozen=True)
class Connected:
    """Who a floor's connection is: its role, whether it is a rep's (a member of leadtui_rep) or a
    manager's, and whether it owns the floor (the tables' owner, a superuser: row security off)."""

    role: str
    rep: bool
    manager: bool
    owner: bool

    @property
    def bound(self) -> str | None:
        """The rep this connection acts as: its role's name, when row security applies to it."""
        return self.role if self.rep and not self.owner else None


def _member(group: str) -> str:
    return (
        f"coalesce((SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_catalog.pg_roles"
        f" WHERE rolname = '{group}'), false)"
    )


def connected(conn: Any) -> Connected | None:
    """Who the server connection is (None on a SQLite floor: no roles there)."""
    if not on_server(conn):
        return None
    row = conn.execute(
        f"SELECT current_user::text, {_member(REP)}, {_member(MANAGER)},"
        " (SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user)"
        " OR pg_has_role(current_user, (SELECT relowner FROM pg_catalog.pg_class"
        " WHERE oid = 'leads'::regclass), 'USAGE')"
    ).fetchone()
    return Connected(row[0], bool(row[1]), bool(row[2]), bool(row[3]))


def holder(conn: Any, lead_id: int) -> str | None:
    """Who holds a lead row security hides from this connection (None: no such lead, or the pool's):
    a rep's F1 and W14 messages still name who has it."""
    if not on_server(conn):
        return None
    row = conn.execute("SELECT leadtui_holder(?)", (lead_id,)).fetchone()
    return row[0] if row else None


def give(conn: Any, lead_id: int, rep: str, stamp: str) -> bool:
    """W16 from a rep's own role: the lead (the pool's or theirs) to another active rep; False if
    it is neither any more or `rep` is not an active rep."""
    row = conn.execute("SELECT leadtui_give(?, ?, ?)", (lead_id, rep, stamp)).fetchone()
    return bool(row and row[0])


# A rep's row on a server: every column a rep's role reads, and for pin_hash the hash without its
# digest (leadtui_pin): whether a PIN is set, the salt a station runs scrypt with, and (a new PIN
# has a new salt) whether the PIN changed since it was checked. The digest never leaves the server.
# Who acts reads them without pin_hash (ACTOR_COLUMNS): leadtui_pin, a function with its own
# settings, is ~0.1 ms of a status key's ~0.7 ms on the server.
ACTOR_COLUMNS = "name, role, started, active, created_at, pin_failures, pin_locked_until"
REP_COLUMNS = f"{ACTOR_COLUMNS}, leadtui_pin(name) AS pin_hash"


def pin_digest(salted: str, pin: str) -> str:
    """The scrypt digest of `pin` under the parameters and salt of `salted` (leadtui_pin's answer)."""
    _, n, r, p, salt = salted.split("$")
    return hashlib.scrypt(
        pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    ).hex()


def check_pin(conn: Any, rep: str, digest: str, stamp: str, day: str, what: str) -> Any:
    """The digest compared on the server as the owner (leadtui_pin_check): a row (ok, failures,
    locked_until); a wrong one is counted there, with its `pin_failed` event."""
    return conn.execute(
        "SELECT ok, failures, locked_until FROM leadtui_pin_check(?, ?, ?, ?, ?)",
        (rep, digest, stamp, day, what),
    ).fetchone()


def regrant(db: Any) -> None:
    """`leadtui init` on a floor already at the newest schema: the groups and grants again
    (idempotent), so what a migration made after the grants were applied is granted. Only the
    floor's owner grants; anyone else's init changes nothing here."""
    who = connected(db.conn)
    if who is not None and who.owner:
        with db.write() as conn:
            conn.raw.execute(SETUP)


def status(conn: Any) -> tuple[bool, list[str]]:
    """For doctor: whether row security is on for leads, and which group roles are missing."""
    rls = conn.execute(
        "SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = 'leads'::regclass"
    ).fetchone()
    missing = [
        name
        for name in (REP, MANAGER)
        if conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (name,)).fetchone() is None
    ]
    return bool(rls and rls[0]), missing


_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def role_name(rep: str) -> str:
    """The login role of rep `rep`: the rep's name lowercase, a plain SQL identifier."""
    name = rep.lower()
    if not _ROLE_NAME.fullmatch(name) or name.startswith("pg_") or name in (REP, MANAGER):
        raise LeadtuiError(
            f"{rep!r} can't be a database role's name: reps who connect as themselves need a name of "
            "letters, digits and _ (not starting with a digit or pg_)"
        )
    return name


def grant(conn: Any, rep: str, *, manager: bool, password: str | None) -> dict:
    """Make `rep`'s login role if missing (with `password`, or none for peer/cert auth) and make it a
    member of leadtui_rep (or leadtui_manager), after `SETUP` (groups and grants). Idempotent."""

    import psycopg

    name = role_name(rep)
    try:
        return _grant(conn.raw, name, manager, password)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise LeadtuiError(
            f"not allowed ({' '.join(str(exc).split())}): run `leadtui reps grant` as the floor's role "
            f"with CREATEROLE, or have a superuser create role {name} (see the README); nothing was changed"
        ) from None
    except psycopg.Error as exc:
        from leadtui.store.postgres import describe

        raise describe(conn_address(conn), exc) from None


def conn_address(conn: Any) -> str:
    """The server and database a connection is on, for a message (no password)."""
    info = conn.raw.info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


def _grant(raw: Any, name: str, manager: bool, password: str | None) -> dict:
    from psycopg import sql

    with raw.transaction():
        raw.execute(SETUP)
        missing = [
            g
            for g in (REP, MANAGER)
            if raw.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (g,)).fetchone() is None
        ]
        if missing:
            raise LeadtuiError(
                f"the group roles {', '.join(missing)} don't exist and this role may not create them: "
                "run `leadtui reps grant` as a role with CREATEROLE (or see the README's SQL)"
            )
        found = raw.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        created = found is None
        if created:
            raw.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        elif not found[0]:
            raise LeadtuiError(f"role {name} exists and can't log in: not a rep's role")
        if password is not None:  # hashed here: the server (and its log) never sees it in the clear
            hashed = raw.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
            raw.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(hashed.decode())
                )
            )
        group = MANAGER if manager else REP
        other = REP if manager else MANAGER
        changed = created or password is not None
        if not raw.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", (name, group)).fetchone()[0]:
            raw.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
            changed = True
        direct = raw.execute(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
            " JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = %s AND u.rolname = %s",
            (other, name),
        ).fetchone()
        if direct and manager is False:  # a manager made a rep again
            raw.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), sql.Identifier(name)))
            changed = True
    return {"role": name, "group": group, "created": created, "changed": changed}
