"""The floor on a PostgreSQL server (`postgresql://…`): the connection, its transactions, its
migrations and its errors, shaped like the SQLite engine's (store.db) so the store's shared SQL
runs on both.

- The shared SQL is written for SQLite; `adapt` changes its `?` placeholders to psycopg's `%s`
  (once per statement text). Rows read like `sqlite3.Row` (by position and by name), numbers
  come back as int or float and truth values as 0/1, as SQLite gives them.
- Writes are `Database.write()`, a transaction that takes its locks in its first round trip,
  before it reads anything, so each read-decide-write runs as under SQLite's `BEGIN IMMEDIATE`
  for what it decides on, and no update is lost:
  - a station's write on one lead (`lead=`) or one call (`call=`) takes the floor's advisory
    lock shared and that row's lock (`FOR UPDATE`): writes on other leads run beside it;
  - a `shared` write (a station's own row, the dispatcher's leases, reservations taken with
    `SKIP LOCKED`) takes the floor's lock shared and locks the rows it touches as it goes;
  - an import's batch (`shared=True, among="import"`) takes the floor's lock shared and the
    imports' own lock (AMONG: one import's batch at a time), then locks the stored leads it
    merges into (store.pg_imports): a station's key on any other lead never waits for it;
  - every other write (rep admin, the sweep and migrations, anything over many leads)
    takes the floor's lock exclusively: one at a time, as on SQLite.
  A writer waits in the server's lock queue (first come, first served), never polling.
- Change detection is `pg_last_committed_xact()` (needs `track_commit_timestamp = on`).
- Time is the server's: `Database.offset` is how far the server's clock is ahead of this host's,
  measured at the open and again by every write (in the statement that takes the lock, so no
  round trip more); the service adds it to the host's clock, so every station stamps events
  with one clock whatever its host's says.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from leadtui.errors import Busy, LeadtuiError
from leadtui.store import pg_roles
from leadtui.store.engines import SERVER
from leadtui.store.pg_schema import MIGRATIONS

SCHEMES = ("postgresql://", "postgres://")
FLOOR_LOCK = 0x4C454144  # the advisory lock every write takes ("LEAD", as SQLite's application_id)
WHOLE = f"BEGIN; SELECT pg_advisory_xact_lock({FLOOR_LOCK}), clock_timestamp()"
SHARED = f"BEGIN; SELECT pg_advisory_xact_lock_shared({FLOOR_LOCK}), clock_timestamp()"
# Writers that run beside stations but one at a time among themselves: their own lock, taken
# before the floor's (shared), so one waiting for another holds nothing a station wants.
AMONG = {"import": 0x4C454149}  # ("LEAI")
ENGINE = SERVER
TRUSTED_TRIP = 0.005  # s: a round trip at most this long measures the server's clock to +-2.5 ms


def is_address(address: object) -> bool:
    """Whether a database address names a PostgreSQL server rather than a SQLite file."""
    return isinstance(address, str) and address.startswith(SCHEMES)


def shown(url: str) -> str:
    """The address for messages: its password masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


# `?` outside quotes: the shared SQL's placeholders.
_PLACEHOLDER = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*")|(\?)|(%)""")


@lru_cache(maxsize=1024)
def adapt(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s` (and a literal `%` as `%%`)."""

    def one(m: re.Match) -> str:
        if m.group(1):
            return m.group(1).replace("%", "%%")
        return "%s" if m.group(2) else "%%"

    return _PLACEHOLDER.sub(one, sql)


class Row(tuple):
    """A row read by position or by column name, as `sqlite3.Row`."""

    __slots__ = ()
    names: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "names": {n: i for i, n in enumerate(names)}})


def _rows(cursor: Any) -> bool:
    """Whether the cursor's last statement gave rows (read from the result itself: psycopg's
    `description` makes an object a column, 45 of them for a lead, on every call)."""
    from psycopg.pq import ExecStatus

    result = cursor.pgresult
    return result is not None and result.status == ExecStatus.TUPLES_OK


def _row_factory(cursor: Any) -> Any:
    if not _rows(cursor):
        return tuple
    result = cursor.pgresult
    return _row_class(tuple(result.fname(i).decode() for i in range(result.nfields)))


class Cursor:
    """What an `execute` gives back: rows, `rowcount`, and `lastrowid` after an INSERT."""

    def __init__(self, cur: Any, lastrowid: int | None = None):
        self._cur = cur
        self.lastrowid = lastrowid
        self.rowcount = cur.rowcount

    def fetchone(self) -> Any:
        return self._cur.fetchone() if _rows(self._cur) else None

    def fetchall(self) -> list:
        return self._cur.fetchall() if _rows(self._cur) else []

    def __iter__(self) -> Iterator:
        return iter(self.fetchall())


_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_WITH_ID = frozenset({"leads", "phones", "events", "outbox", "approvals", "replies", "calls"})


class Connection:
    """A psycopg connection that takes the store's SQL as a `sqlite3.Connection` does."""

    engine = ENGINE

    def __init__(self, raw: Any):
        self.raw = raw
        self.statements = 0  # sent so far: each is a round trip to the server (tests and benches count them)

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Cursor:
        self.statements += 1
        cur = self.raw.cursor()
        table = _INSERT.match(sql)
        wants_id = table is not None and table.group(1) in _WITH_ID and "RETURNING" not in sql.upper()
        if wants_id:  # as sqlite3's lastrowid: the id the INSERT gave its row
            sql += " RETURNING id"
        if params:
            cur.execute(adapt(sql), params)
        else:
            cur.execute(sql)
        if wants_id:
            row = cur.fetchone() if cur.rowcount else None
            return Cursor(cur, row[0] if row else None)
        return Cursor(cur)

    def executemany(self, sql: str, rows: Any) -> Cursor:
        self.statements += 1
        cur = self.raw.cursor()
        cur.executemany(adapt(sql), list(rows))
        return Cursor(cur)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def raw(conn: Any) -> Any:
    """The psycopg connection under a floor's `Connection` (COPY and what else the shared SQL can't say)."""
    return conn.raw


def describe(address: str, exc: Exception) -> LeadtuiError:
    """One line for a server failure."""
    import psycopg

    where = shown(address)
    text = " ".join(str(exc).split())
    if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
        return Busy(f"{where}: the floor stayed locked by another station; nothing was changed, try again")
    if isinstance(exc, psycopg.errors.DiskFull):
        return LeadtuiError(f"{where}: the server's disk is full ({text}); nothing was changed")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction | psycopg.errors.InsufficientPrivilege):
        return LeadtuiError(f"{where}: not allowed ({text}); nothing was changed")
    if isinstance(exc, psycopg.OperationalError):
        return LeadtuiError(f"{where}: can't reach the database server ({text})")
    return LeadtuiError(f"{where}: database error: {text}")


def _loaders(raw: Any) -> None:
    """Numbers as SQLite gives them (a whole numeric as int, else float), truth values as 0/1."""
    from psycopg.adapt import Loader

    class Number(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data)
            return int(text) if text.isdigit() or (text[:1] == b"-" and text[1:].isdigit()) else float(text)

    class Truth(Loader):
        def load(self, data: Any) -> int:
            return 1 if bytes(data) == b"t" else 0

    raw.adapters.register_loader("numeric", Number)
    raw.adapters.register_loader("bool", Truth)


class Database:
    """One server connection in autocommit mode; every write goes through `write()`."""

    engine = ENGINE
    slice = 0.045  # seconds a background job's transaction holds the floor's lock (shared: stations go on)

    def __init__(self, address: str, conn: Connection, busy_ms: int):
        self.path = address  # (named as the SQLite engine's: the address messages show)
        self.conn = conn
        self.busy_ms = busy_ms
        self.offset = timedelta(0)  # the server's clock minus this host's (see the module's notes)
        conn.raw.execute(f"SET lock_timeout = {int(busy_ms)}")  # how long a write waits for the floor's lock
        self._time("SELECT clock_timestamp()")

    def _time(self, sql: str) -> None:
        """Run `sql`, whose first row (after BEGIN's result) ends with the server's
        clock_timestamp(), and keep the offset."""
        sent = time.time()
        cur = self.conn.raw.execute(sql)
        if sql.startswith("BEGIN"):
            cur.nextset()  # past BEGIN's own result, to the lock's and the clock's
        row = cur.fetchone()
        back = time.time()
        if back - sent < TRUSTED_TRIP:  # (a wait for the lock would skew the midpoint)
            self.offset = row[-1] - datetime.fromtimestamp((sent + back) / 2, UTC)

    def now(self) -> datetime:
        """The server's clock, read from this host's plus the offset last measured."""
        return datetime.now(UTC) + self.offset

    def __str__(self) -> str:
        return shown(self.path)

    def gate(self) -> None:
        """No file gate on a server: its lock queue serves writers in turn."""
        return None

    @contextmanager
    def job(self) -> Iterator[None]:
        """A long job: nothing to arrange on a server (no WAL to copy back)."""
        yield

    def backlog(self) -> int | None:
        return None

    @contextmanager
    def write(
        self,
        background: bool = False,
        *,
        lead: int | None = None,
        call: int | None = None,
        shared: bool = False,
        among: str | None = None,
    ) -> Iterator[Connection]:
        """A transaction holding its locks from its start (see the module's notes: the lead's or
        the call's row, else the floor's lock shared or whole; `among` a kind of AMONG, that
        kind's own lock first); waits up to the busy timeout in the server's queue, then `Busy`,
        nothing written."""
        row = ("leads", lead) if lead is not None else ("calls", call) if call is not None else None
        begin = WHOLE if row is None and not shared else SHARED
        if among is not None:
            begin = begin.replace("SELECT ", f"SELECT pg_advisory_xact_lock({AMONG[among]}), ", 1)
        if row is not None:  # (ids are ints: no quoting to go wrong)
            begin += f"; SELECT 1 FROM {row[0]} WHERE id = {int(row[1])} FOR UPDATE"
        with self._undone():
            self._time(begin)  # one round trip: begin, wait for the locks, read the clock
        with self._undone():
            yield self.conn
        with self._undone():
            self.conn.raw.execute("COMMIT")

    @contextmanager
    def _undone(self) -> Iterator[None]:
        """On any failure the transaction is rolled back; a server's error becomes one line."""
        import psycopg

        try:
            yield
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, psycopg.Error):
                raise describe(self.path, exc) from None
            raise

    def _rollback(self) -> None:
        import psycopg

        if self.conn.in_transaction:
            with suppress(psycopg.Error):
                self.conn.raw.execute("ROLLBACK")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One consistent snapshot for several SELECTs."""
        self.conn.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with self._undone():
            yield self.conn
        self.conn.raw.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def connect(address: str, *, create: bool = False, busy_ms: int) -> Database:
    """Open (or with `create`, make the schema in) the floor's database on the server."""
    try:
        import psycopg
    except ImportError:
        raise LeadtuiError("a PostgreSQL floor needs psycopg: pip install 'leadtui[postgresql]'") from None
    try:
        raw = psycopg.connect(address, autocommit=True, row_factory=_row_factory, connect_timeout=10)
    except psycopg.Error as exc:
        raise describe(address, exc) from None
    _loaders(raw)
    db = Database(address, Connection(raw), busy_ms)
    try:
        version = _version(db)
        if version is None and not create:
            raise LeadtuiError(
                f"{shown(address)}: no leadtui floor in this database: create it with `leadtui init --db URL`"
            )
        if (version or 0) > len(MIGRATIONS):
            raise LeadtuiError(
                f"{shown(address)}: made by a newer leadtui (schema {version}); upgrade leadtui"
            )
        if (version or 0) < len(MIGRATIONS):
            _migrate(db, version or 0)
        elif create:  # `leadtui init` again: the grants again, as a migration would apply them
            pg_roles.regrant(db)
        return db
    except psycopg.Error as exc:
        db.close()
        raise describe(address, exc) from None
    except BaseException:
        db.close()
        raise


def _version(db: Database) -> int | None:
    """The schema version, or None where no leadtui schema is (an empty database)."""
    row = db.conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        row = db.conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
        if row[0]:
            raise LeadtuiError(f"{shown(db.path)}: not a leadtui database")
        return None
    return db.conn.execute("SELECT version FROM schema_version").fetchone()[0]


def _migrate(db: Database, version: int) -> None:
    """Apply the migrations after `version`, in one transaction (PostgreSQL's DDL is transactional)."""
    with db.write() as conn:
        if version == 0:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version bigint NOT NULL)")
            if conn.execute("SELECT count(*) FROM schema_version").fetchone()[0]:
                return  # made by another station while this one waited for the lock
            conn.execute("INSERT INTO schema_version VALUES (0)")
        current = conn.execute("SELECT version FROM schema_version").fetchone()[0]
        for number in range(current, len(MIGRATIONS)):
            conn.raw.execute(MIGRATIONS[number])
        conn.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))
