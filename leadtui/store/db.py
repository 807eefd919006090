"""Opening the database: pragmas, migrations, short write transactions, clear errors."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from leadtui.errors import LeadtuiError
from leadtui.store.schema import APPLICATION_ID, MIGRATIONS

DEFAULT_BUSY_MS = 5000
GAP = 0.05  # seconds a long job leaves the write lock free between transactions: see make_way


def describe(path: Path | str, exc: sqlite3.Error) -> LeadtuiError:
    """One line for a SQLite failure, in a rep's words where we can."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LeadtuiError(f"{path}: the database stayed locked by another station; nothing was changed, try again")
    if "readonly" in text or "read-only" in text:
        return LeadtuiError(f"{path}: the database is read-only; nothing was changed")
    if "not a database" in text or "malformed" in text:
        return LeadtuiError(f"{path}: not a leadtui database, or it is corrupt ({text})")
    if "unable to open" in text:
        return LeadtuiError(f"{path}: can't open the database file ({text})")
    return LeadtuiError(f"{path}: database error: {text}")


class Database:
    """One connection in autocommit mode; every write goes through `write()`."""

    def __init__(self, path: Path | str, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front, so no deadlock on upgrade."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise describe(self.path, exc) from None
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self.conn.execute("ROLLBACK")
            raise describe(self.path, exc) from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several SELECTs."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def make_way(held: float) -> None:
    """A long job (an import) that just held the write lock `held` seconds leaves it free a
    moment (up to GAP, a fifth of `held`). SQLite makes a waiting station retry, every 100 ms
    once it has waited a while, rather than queue: a job that locked again at once could keep
    a station out past its busy timeout."""
    time.sleep(min(GAP, held / 5))


def _busy_ms(busy_timeout_ms: int | None) -> int:
    if busy_timeout_ms is not None:
        return busy_timeout_ms
    env = os.environ.get("LEADTUI_BUSY_TIMEOUT_MS")
    return int(env) if env and env.isdigit() else DEFAULT_BUSY_MS


Notice = Callable[[str], None]  # told of slow work before it starts


def connect(path: Path | str, *, create: bool = False, busy_timeout_ms: int | None = None,
            notice: Notice | None = None) -> Database:
    """Open (or with `create`, make) a leadtui database and bring its schema up to date."""
    path = Path(path)
    if not create and not path.exists():
        raise LeadtuiError(f"no database at {path}: create it with `leadtui init --db {path}`")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    busy = _busy_ms(busy_timeout_ms)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=busy / 1000, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # FULL: a committed key press survives a power cut, not just a crash (WAL + NORMAL may lose
        # the last commits on power loss). Measured cost on these machines: ~0.2 ms per commit.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {busy}")
        app_id, version = conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id != APPLICATION_ID:
            empty = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
            if not (create and empty):
                raise LeadtuiError(f"{path}: not a leadtui database")
        if version > len(MIGRATIONS):
            raise LeadtuiError(f"{path}: made by a newer leadtui (schema {version}); upgrade leadtui")
        db = Database(path, conn)
        if version < len(MIGRATIONS):
            if version and notice:  # a floor's database made by an older leadtui
                notice("bringing the database up to this version of leadtui (a few seconds on a big floor)")
            _migrate(db, version)
        finish_deferred(db, notice)
        return db
    except sqlite3.Error as exc:
        raise describe(path, exc) from None


def finish_deferred(db: Database, notice: Notice | None = None) -> None:
    """Build back what a first import left out (store.indexes), at its end or, if it was killed,
    at the next open. Best effort: a database that is busy or read-only works without it (only
    slower lookups, and search without the new leads), and the next open tries again."""
    from leadtui.store import indexes  # it builds on this module

    try:
        indexes.finish(db, notice)
    except (LeadtuiError, sqlite3.Error):
        pass


def _migrate(db: Database, version: int) -> None:
    if version == 0:
        mode = db.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise LeadtuiError(f"{db.path}: can't switch the database to WAL mode (got {mode})")
    with db.write() as conn:
        for number in range(version, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""


def backup_to(source: Path | str, target: Path) -> int:
    """An online, consistent copy through SQLite's backup API; returns the pages copied."""
    db = connect(source)
    if target.exists():
        raise LeadtuiError(f"{target} exists; back up to a new file")
    tmp = target.with_name(target.name + ".partial")
    try:
        out = sqlite3.connect(tmp)
        try:
            db.conn.backup(out, pages=1024)
            pages = out.execute("PRAGMA page_count").fetchone()[0]
        finally:
            out.close()
        tmp.replace(target)
        return pages
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise describe(target, exc) from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LeadtuiError(f"can't write {target}: {exc.strerror}") from None
    finally:
        db.close()
