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
- A station's key is few round trips (issue 18: p99 <= 5 ms at 1M leads): a lead's write runs
  in a pipeline, its locks and the reads it names up front (`ahead`) in one trip, and a write
  whose result nobody reads goes with the next statement that is read, or the COMMIT. The
  id of the event it logs is drawn in that first trip too (`drawn_event_id`), so the key
  need not wait for its INSERT to learn it: a status key is two round trips.
- Change detection is `pg_last_committed_xact()` (needs `track_commit_timestamp = on`).
- Time is the server's: `Database.offset` is how far the server's clock is ahead of this host's,
  measured at the open and again by every write (in the statement that takes the lock, so no
  round trip more); the service adds it to the host's clock, so every station stamps events
  with one clock whatever its host's says.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
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
WHOLE = ("BEGIN", f"SELECT pg_advisory_xact_lock({FLOOR_LOCK}), clock_timestamp()")
SHARED = ("BEGIN", f"SELECT pg_advisory_xact_lock_shared({FLOOR_LOCK}), clock_timestamp()")
# Writers that run beside stations but one at a time among themselves: their own lock, taken
# before the floor's (shared), so one waiting for another holds nothing a station wants.
AMONG = {"import": 0x4C454149}  # ("LEAI")
ENGINE = SERVER
# A lead's write draws its event's id with its locks (after the lead's: a lead's events keep its order).
EVENT_ID = "SELECT nextval('events_id_seq')"
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
    """What an `execute` gives back: rows, `rowcount`, and `lastrowid` after an INSERT. In a
    pipeline (`ahead`) its statement may still be on its way: reading it (its id too) sends what
    is queued; an INSERT whose id nobody reads goes with the next statement read, or the COMMIT."""

    def __init__(self, cur: Any, owner: Connection | None = None, seq: int = 0, *, with_id: bool = False):
        self._cur = cur
        self._owner = owner  # the connection whose pipeline holds the statement, until it is read
        self._seq = seq
        self._with_id = with_id  # an INSERT that returns its row's id, not read yet
        self._id: int | None = None

    @property
    def lastrowid(self) -> int | None:
        """The id the INSERT gave its row (as sqlite3's), read from its RETURNING on first use."""
        if self._with_id:
            self._with_id = False
            row = self.fetchone() if self.rowcount else None
            self._id = row[0] if row else None
        return self._id

    def _ready(self) -> Any:
        if self._owner is not None:
            self._owner._sync(self._seq)
            self._owner = None
        return self._cur

    @property
    def rowcount(self) -> int:
        return self._ready().rowcount

    def fetchone(self) -> Any:
        cur = self._ready()
        return cur.fetchone() if _rows(cur) else None

    def fetchall(self) -> list:
        cur = self._ready()
        return cur.fetchall() if _rows(cur) else []

    def __iter__(self) -> Iterator:
        return iter(self.fetchall())


class _Nothing:
    """The rows a statement gives while `ahead` only queues it: none."""

    rowcount = 0

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list:
        return []

    def __iter__(self) -> Iterator:
        return iter(())


_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_WITH_ID = frozenset({"leads", "phones", "events", "outbox", "approvals", "replies", "calls"})


class Connection:
    """A psycopg connection that takes the store's SQL as a `sqlite3.Connection` does.

    A write on one lead (`Database.write(lead=...)`) runs in a pipeline: its BEGIN and locks are
    sent at its start and their answer comes back with the first result read; `ahead` queues the
    key's reads behind them (locks and reads: one round trip); a write whose result nobody reads
    goes with the next statement that is read (or the COMMIT)."""

    engine = ENGINE

    def __init__(self, raw: Any):
        self._raw = raw
        self.statements = 0  # sent so far (tests and benches count them)
        self.trips = 0  # round trips to the server so far (a pipeline's many statements are one)
        self._clock: Any = None  # called with the clock's row and the trip's times
        self._pipe: Any = None  # the psycopg pipeline, while statements are queued
        self._pipe_cm: Any = None  # (the context it was entered by, to leave it)
        self._queued = 0  # statements put in the pipeline so far
        self._synced = 0  # ... of which the results are back
        self._recording = False
        self._ahead: dict[tuple, list[Any]] = {}  # reads queued by `ahead`, by statement and parameters
        self._opening: Any = None  # the pipeline's cursor of the opening's clock
        self._event_id: tuple[Any, int] | None = None  # (cursor, its place) of an id drawn for an event
        self._sent = 0.0  # when the opening was sent (this host's clock)

    @property
    def raw(self) -> Any:
        """The psycopg connection (what a pipeline holds is sent first, and the pipeline left)."""
        self._end_pipeline()
        return self._raw

    def _open(
        self, opening: Sequence[str], row: tuple[str, int] | None = None, *, pipelined: bool = False
    ) -> None:
        """Begin a write: BEGIN, its locks and the server's clock (the last column of the second
        statement), then `row`'s lock (table, id), in one round trip; `pipelined`: sent now in a
        pipeline, answered with the first result read."""
        self._sent = time.time()
        lock = f"SELECT 1 FROM {row[0]} WHERE id = %s FOR UPDATE" if row is not None else None
        if not pipelined:
            if lock is not None:  # (ids are ints: no quoting to go wrong)
                opening = (*opening, lock % int(row[1]))  # type: ignore[index]
            cur = self._raw.execute("; ".join(opening))
            self.trips += 1
            cur.nextset()  # past BEGIN's own result, to the lock's and the clock's
            self._clock(cur.fetchone(), self._sent, time.time())
            return
        self._pipe_cm = self._raw.pipeline()
        self._pipe = self._pipe_cm.__enter__()
        for n, statement in enumerate(opening):
            cur = self._queue(statement)
            if n == 1:
                self._opening = cur
        if lock is not None:  # (a parameter: the server keeps one plan for every lead's)
            self._raw.cursor().execute(lock, (int(row[1]),))  # type: ignore[index]
            self._queued += 1
            if row[0] == "leads":  # type: ignore[index]  # (a call's write logs no event)
                self._event_id = (self._queue(EVENT_ID), self._queued)

    def drawn_event_id(self) -> int | None:
        """The id drawn for this write's event by its opening (once; None if none is left)."""
        if self._event_id is None:
            return None
        (cur, seq), self._event_id = self._event_id, None
        self._sync(seq)
        return cur.fetchone()[0]

    def _queue(self, sql: str, params: Sequence[Any] | dict = ()) -> Any:
        cur = self._raw.cursor()
        cur.execute(adapt(sql) if params else sql, params or None)
        self._queued += 1
        return cur

    def _sync(self, seq: int) -> None:
        """The results of the pipeline's statements up to `seq`: sends what is queued, one trip."""
        if self._pipe is None or seq <= self._synced:
            return
        self._pipe.sync()
        self.trips += 1
        self._synced = self._queued
        if self._opening is not None:
            opening, self._opening = self._opening, None
            self._clock(opening.fetchone(), self._sent, time.time())

    def ahead(self, reads: Sequence[Callable[[Connection], Any]]) -> None:
        """Queue each read's statements (run with no rows now: their results are kept) after the
        write's opening, to go in one trip with the first of them the key then runs again."""
        if self._pipe is None:
            return  # (not a lead's write: its statements go one at a time)
        self._recording = True
        try:
            for read in reads:
                read(self)
        finally:
            self._recording = False

    def _end_pipeline(self, commit: bool = False) -> None:
        """Send what is queued (and COMMIT) and leave the pipeline."""
        if self._pipe is None:
            if commit:
                self._raw.execute("COMMIT")
                self.trips += 1
            return
        pipe, self._pipe, self._pipe_cm = self._pipe_cm, None, None
        self._ahead.clear()
        self._event_id = None
        try:
            if commit:
                try:
                    self._queue("COMMIT")
                except BaseException:  # a statement's failure, back already: leave the pipeline still
                    with suppress(Exception):
                        pipe.__exit__(None, None, None)
                    raise
            self._sync_exit(pipe)
        finally:
            self._synced = self._queued

    def _sync_exit(self, pipe: Any) -> None:
        pending = self._queued > self._synced
        pipe.__exit__(None, None, None)  # (sends and reads what is queued)
        self.trips += pending
        if self._opening is not None:
            opening, self._opening = self._opening, None
            self._clock(opening.fetchone(), self._sent, time.time())

    def _abandon(self) -> None:
        """After a failure: the pipeline left, whatever it still held dropped."""
        self._opening, self._recording, self._event_id = None, False, None
        self._ahead.clear()
        if self._pipe is not None:
            pipe, self._pipe, self._pipe_cm = self._pipe_cm, None, None
            with suppress(Exception):
                pipe.__exit__(None, None, None)
            self._synced = self._queued

    def execute(self, sql: str, params: Sequence[Any] | dict = ()) -> Cursor:
        key = (sql, tuple(params.items()) if isinstance(params, dict) else tuple(params))
        if self._recording:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                raise ValueError(f"ahead queues reads only: {sql[:40]}")
            self.statements += 1
            self._ahead.setdefault(key, []).append((self._queue(sql, params), self._queued))
            return _Nothing()  # type: ignore[return-value]
        if self._ahead:
            with suppress(TypeError):  # (parameters that can't be compared: not queued ahead)
                queued = self._ahead.get(key)
                if queued:
                    cur, seq = queued.pop(0)
                    return Cursor(cur, owner=self, seq=seq)
            if not sql.lstrip().upper().startswith("SELECT"):
                self._ahead.clear()  # a write: what was read ahead may be out of date
        self.statements += 1
        table = _INSERT.match(sql)
        wants_id = table is not None and table.group(1) in _WITH_ID and "RETURNING" not in sql.upper()
        if wants_id:  # as sqlite3's lastrowid: the id the INSERT gave its row
            sql += " RETURNING id"
        if self._pipe is not None:
            return Cursor(self._queue(sql, params), owner=self, seq=self._queued, with_id=wants_id)
        cur = self._raw.cursor()
        if params:
            cur.execute(adapt(sql), params)
        else:
            cur.execute(sql)
        self.trips += 1
        return Cursor(cur, with_id=wants_id)

    def executemany(self, sql: str, rows: Any) -> Cursor:
        self.statements += 1
        cur = self.raw.cursor()
        cur.executemany(adapt(sql), list(rows))
        self.trips += 1
        return Cursor(cur)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self._raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._raw.close()


def ahead(conn: Any, *reads: Callable[[Any], Any]) -> None:
    """On a server, at the start of a write: queue the reads the write will make (store functions
    called with the connection), so that they go with its BEGIN and locks in one round trip; the
    same calls made again then take their results. A read not made again, or made with other
    arguments, costs only its time. On SQLite nothing (each read is a function call there)."""
    if isinstance(conn, Connection):
        conn.ahead(reads)


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
        conn._clock = self._clock
        sent = time.time()
        self._clock(conn.raw.execute("SELECT clock_timestamp()").fetchone(), sent, time.time())

    def _clock(self, row: Any, sent: float, back: float) -> None:
        """Keep the offset from a row ending with the server's clock_timestamp(), read in a round
        trip sent at `sent` and back at `back` (host's clock)."""
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
        nothing written. A lead's write runs in a pipeline (see `Connection`): its opening is
        sent at once and answered with the first result read, with the reads `ahead` queued
        behind it."""
        row = ("leads", lead) if lead is not None else ("calls", call) if call is not None else None
        begin, locks = WHOLE if row is None and not shared else SHARED
        if among is not None:
            locks = locks.replace("SELECT ", f"SELECT pg_advisory_xact_lock({AMONG[among]}), ", 1)
        with self._undone():
            self.conn._open(
                (begin, locks), row, pipelined=lead is not None
            )  # begin, wait for the locks, read the clock
            yield self.conn
        with self._undone():
            self.conn._end_pipeline(commit=True)

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

        self.conn._abandon()
        if self.conn.in_transaction:
            with suppress(psycopg.Error):
                self.conn._raw.execute("ROLLBACK")

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
