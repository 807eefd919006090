"""Running a floor: the checks `leadtui doctor` makes on either engine, and a PostgreSQL floor's
backup through `pg_dump` (a SQLite floor's is store.db.backup_to).

The checks read; they never migrate or write. Each is a `Check`: its name, whether it is ok, and
one line saying what was found (and, for a problem, what to do).
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from leadtui.errors import LeadtuiError
from leadtui.store import pg_roles, pg_schema, postgres, schema
from leadtui.store.db import FILE_MODE

MIN_SERVER = 14  # the oldest PostgreSQL release its project still supports (and leadtui is tested on)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def checks(address: Path | str) -> list[Check]:
    """Every check for the floor at `address`: a SQLite file, or a postgresql:// address. A check
    that can't be made (the database is not reached) ends the list."""
    if postgres.is_address(address):
        return _server_checks(str(address))
    return _file_checks(Path(address))


# --- a SQLite file -------------------------------------------------------------------------


def _file_checks(path: Path) -> list[Check]:
    if not path.exists():
        return [
            Check("reachable", False, f"no database at {path}: create it with `leadtui init --db {path}`")
        ]
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [Check("reachable", False, f"{path}: can't open it ({exc})")]
    try:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        except sqlite3.Error as exc:
            return [Check("reachable", False, f"{path}: can't read it ({exc})")]
        found = [Check("reachable", True, f"{path}: SQLite {sqlite3.sqlite_version}")]
        if app_id != schema.APPLICATION_ID:
            return [*found, Check("schema", False, f"{path}: not a leadtui database")]
        found.append(_schema_check(version, len(schema.MIGRATIONS), str(path)))
        if version > len(schema.MIGRATIONS):
            return found
        found.append(
            Check(
                "journal",
                mode == "wal",
                "WAL" if mode == "wal" else f"{mode}, not WAL: stations block each other",
            )
        )
        found.append(_playbook_check(_meta(conn, "playbook"), str(path)))
        return found
    finally:
        conn.close()


def _meta(conn: Any, key: str) -> str | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


# --- shared --------------------------------------------------------------------------------


def _schema_check(version: int, current: int, where: str) -> Check:
    if version == current:
        return Check("schema", True, f"current (version {version})")
    if version > current:
        return Check(
            "schema", False, f"newer (version {version}; this leadtui knows {current}): upgrade leadtui"
        )
    return Check(
        "schema",
        False,
        f"older (version {version} of {current}): `leadtui init --db {where}` brings it up to date "
        "(stations on the older leadtui must upgrade then)",
    )


def _playbook_check(source: str | None, where: str) -> Check:
    from leadtui.core.playbook import parse

    if source is None:
        return Check("playbook", False, f"none stored: `leadtui init --db {where}` stores one")
    try:
        playbook = parse(source, "playbook stored in the database")
    except LeadtuiError as exc:
        return Check("playbook", False, f"the stored one is broken: {exc}")
    return Check("playbook", True, f"{playbook.name} ({len(playbook.statuses)} statuses)")


# --- a PostgreSQL server -------------------------------------------------------------------


def _server_checks(address: str) -> list[Check]:
    where = postgres.shown(address)
    try:
        import psycopg
    except ImportError:
        return [
            Check("reachable", False, "a PostgreSQL floor needs psycopg: pip install 'leadtui[postgresql]'")
        ]
    try:
        raw = psycopg.connect(address, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        return [Check("reachable", False, str(postgres.describe(address, exc)))]
    try:
        return _server_facts(raw, where)
    except psycopg.Error as exc:
        return [Check("reachable", False, str(postgres.describe(address, exc)))]
    finally:
        raw.close()


def _setting(raw: Any, name: str) -> str:
    return raw.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]


def _server_facts(raw: Any, where: str) -> list[Check]:
    number = int(_setting(raw, "server_version_num"))
    shown_version = _setting(raw, "server_version").split()[0]
    made = raw.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
    found = [
        Check("reachable", True, f"{where}: PostgreSQL {shown_version}"),
        server_version_check(number, shown_version),
        commit_timestamp_check(_setting(raw, "track_commit_timestamp")),
        _citext_check(raw, made),
    ]
    if not made:
        other = raw.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        problem = (
            "not a leadtui database"
            if other
            else f"no leadtui floor here: `leadtui init --db {where}` makes one"
        )
        return [*found, Check("schema", False, problem)]
    version = raw.execute("SELECT version FROM schema_version").fetchone()[0]
    found.append(_schema_check(version, len(pg_schema.MIGRATIONS), where))
    if version > len(pg_schema.MIGRATIONS):
        return found
    made = raw.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
    row = raw.execute("SELECT value FROM meta WHERE key = 'playbook'").fetchone() if made else None
    found.append(_playbook_check(row[0] if row else None, where))
    if version >= 2:
        found.append(row_security_check(*pg_roles.status(raw)))
    return found


def row_security_check(on: bool, missing: list[str]) -> Check:
    """Issue 18: reps connecting with their own roles (store.pg_roles) see the pool's leads and their
    own only while row security is on; the group roles are there once a role that may made them."""
    if not on:
        return Check(
            "row_security",
            False,
            "off for leads: a rep's own role would read every lead; "
            "ALTER TABLE leads ENABLE ROW LEVEL SECURITY as the floor's owner",
        )
    if missing:
        return Check(
            "row_security",
            True,
            f"on for leads; group role(s) {', '.join(missing)} missing, so reps connect as the floor's "
            "role: `leadtui reps grant NAME` as a role with CREATEROLE makes them",
        )
    return Check("row_security", True, f"on for leads; group roles {pg_roles.REP}, {pg_roles.MANAGER} exist")


def server_version_check(number: int, shown_version: str) -> Check:
    """The server's release (`server_version_num`, e.g. 150018) against the oldest leadtui runs on."""
    if number // 10000 >= MIN_SERVER:
        return Check("server_version", True, f"PostgreSQL {shown_version}")
    return Check(
        "server_version",
        False,
        f"PostgreSQL {shown_version} is older than {MIN_SERVER}, the oldest leadtui supports: upgrade the server",
    )


def commit_timestamp_check(value: str) -> Check:
    """`track_commit_timestamp`: stations see each other's changes by pg_last_committed_xact(),
    which needs it on."""
    if value == "on":
        return Check("track_commit_timestamp", True, "on")
    return Check(
        "track_commit_timestamp",
        False,
        f"{value}: stations won't see each other's changes; set track_commit_timestamp = on in "
        "postgresql.conf (or ALTER SYSTEM) and restart the server",
    )


def _citext_check(raw: Any, made: bool) -> Check:
    """The extension rep names are compared with (without case): installed, or at least available
    to `leadtui init` on a database without a floor yet."""
    row = raw.execute("SELECT extversion FROM pg_extension WHERE extname = 'citext'").fetchone()
    if row:
        return Check("citext", True, f"installed (version {row[0]})")
    available = raw.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'citext'").fetchone()
    if available and not made:
        return Check("citext", True, "available (`leadtui init` installs it)")
    if available:
        return Check("citext", False, "not installed in this database: the floor's schema needs it")
    return Check(
        "citext",
        False,
        "the server lacks it: install PostgreSQL's contrib package (Debian: postgresql-contrib)",
    )


# --- a PostgreSQL floor's backup -----------------------------------------------------------


def server_tool(name: str) -> str | None:
    """A PostgreSQL client program: on PATH, else the newest of Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    versions.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return versions[-1] if versions else None


def _without_password(address: str) -> tuple[str, str | None]:
    """The address without its password (kept out of the process list), and the password."""
    parts = urlsplit(address)
    password = parts.password
    netloc = parts.netloc
    if password is not None:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    for key, value in query:
        if key == "password":
            password = value
    query = [(k, v) for k, v in query if k != "password"]
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query))), password


def dump(address: str, target: Path) -> dict:
    """A consistent copy of the floor on the server into the new file `target` (pg_dump's custom
    format, for pg_restore), checked by reading its table of contents back. Never over a file."""
    where = postgres.shown(address)
    pg_dump = server_tool("pg_dump")
    if pg_dump is None:
        raise LeadtuiError(
            "backing up a PostgreSQL floor needs pg_dump (Debian: apt-get install postgresql-client); none found"
        )
    if target.exists() or target.is_symlink():
        raise LeadtuiError(f"{target} exists; back up to a new file")
    tmp = target.with_name(target.name + ".partial")
    try:
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE))  # private
    except OSError as exc:
        raise LeadtuiError(f"can't write {target}: {exc.strerror}") from None
    url, password = _without_password(address)
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    if password is not None:
        env["PGPASSWORD"] = password
    try:
        done = subprocess.run(
            [pg_dump, "--format=custom", f"--file={tmp}", f"--dbname={url}"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode:
            raise LeadtuiError(
                f"{where}: pg_dump failed: {_last_line(done.stderr, password)}; no backup written"
            )
        entries = _entries(tmp, password)
        try:
            os.link(tmp, target)  # never over a file made meanwhile
        except FileExistsError:
            raise LeadtuiError(f"{target} exists; back up to a new file") from None
        except OSError as exc:
            raise LeadtuiError(f"can't write {target}: {exc.strerror}") from None
        return {"bytes": target.stat().st_size, "entries": entries, "tool": pg_dump}
    finally:
        tmp.unlink(missing_ok=True)


def _entries(path: Path, password: str | None) -> int | None:
    """How many entries the dump's table of contents lists (pg_restore --list), as a check that
    pg_restore can read it; None when pg_restore is not there to ask."""
    pg_restore = server_tool("pg_restore")
    if pg_restore is None:
        return None
    done = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise LeadtuiError(
            f"pg_restore can't read the dump ({_last_line(done.stderr, password)}); no backup written"
        )
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith(";"))


def _last_line(text: str, password: str | None) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else "no message"
    if password:
        line = line.replace(password, "***")
    return line
