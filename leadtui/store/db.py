"""Opening the database: pragmas, migrations, short write transactions, clear errors.

Writers take turns through a gate (`Gate`, rule F4): before `BEGIN IMMEDIATE`, a write takes
a lock on a file next to the database (`<db>-writer`), and gives it back at its commit or
rollback. SQLite itself makes a writer that finds the database locked sleep and retry (1, 2,
5, 10, ... 100 ms), so a station could miss every short gap between a background job's
transactions; at the gate it is let in within a poll (POLL) of the lock coming free. A
background job's transactions (`write(background=True)`: import batches, the sweep's and the
status migration's chunks, the dispatcher) also let a station that is waiting go first.

Checkpoints (the WAL copied back into the database): SQLite makes one at COMMIT once 1,000
pages wait, while the writer still holds the write lock (and the gate). While a long job runs
(an import: `Database.job()`), the job makes them, in a thread of its own, and other writers
none: a station's key that copied an import batch back took 0.3-0.5 s.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeGuard

from leadtui.errors import Busy, LeadtuiError
from leadtui.store import postgres
from leadtui.store.schema import APPLICATION_ID, MIGRATIONS

try:
    import fcntl
except ImportError:  # not a POSIX system: no gate, SQLite's own busy handler only
    fcntl = None  # type: ignore[assignment]  # the module or None: Gate.available() asks which

DEFAULT_BUSY_MS = 5000
FILE_MODE = (
    0o600  # a new database: its owner only (a group-shared floor: see README, "Who can read the floor")
)
GAP = 0.05  # seconds a long job leaves the write lock free between transactions: see make_way
SLICE = 0.015  # seconds a background job's transaction holds the write lock at most while stations wait (F4)
SLICE_ALONE = 0.045  # ... and once none has for QUIET seconds: bigger transactions, a faster job
QUIET = 5.0  # seconds with no station waiting for a background transaction before slices grow
POLL = 0.0005  # seconds between a waiting writer's tries at the gate
DEFER = 0.1  # seconds a background transaction lets waiting stations go first, at most
AUTOCHECKPOINT = 1000  # WAL pages from which SQLite checkpoints at COMMIT (its default; off while a job runs)
JOB_CHECKPOINT = (
    4000  # pages waiting from which a job's checkpointer copies them back (pages a batch rewrites go once)
)
JOB_WAL_RESTART = 16000  # pages long, the WAL is started over by a job (it waits for its checkpointer first)
RESTART_BACKLOG = 200  # pages waiting at most for a job's transaction to copy them back first (~1-2 ms)
SQLITE_IOERR, SQLITE_FULL = 10, 13  # primary result codes: https://sqlite.org/rescode.html
LOW_SPACE = 1 << 20  # bytes free on its disk under which a disk I/O error is the disk being full


def describe(path: Path | str, exc: sqlite3.Error) -> LeadtuiError:
    """One line for a SQLite failure, in a rep's words where we can."""
    text = str(exc)
    if disk_full(path, exc):
        return _full_error(path, text)
    if "locked" in text or "busy" in text:
        return _busy_error(path)
    if "readonly" in text or "read-only" in text:
        return LeadtuiError(f"{path}: the database is read-only; nothing was changed")
    if "not a database" in text or "malformed" in text:
        return LeadtuiError(f"{path}: not a leadtui database, or it is corrupt ({text})")
    if "unable to open" in text:
        return LeadtuiError(f"{path}: can't open the database file ({text})")
    return LeadtuiError(f"{path}: database error: {text}")


def fault(exc: BaseException) -> TypeGuard[sqlite3.Error]:
    """A failure of the machine rather than of the statement: the disk full, or an I/O error."""
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
        SQLITE_FULL,
        SQLITE_IOERR,
    )


def disk_full(path: Path | str, exc: sqlite3.Error) -> bool:
    """SQLITE_FULL, or an I/O error with (almost) no room left on the database's disk: SQLite
    gives that where it grows its -shm file (SQLITE_IOERR_SHMSIZE), e.g. at a first write."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == SQLITE_FULL:
        return True
    free = _free_space(path) if code == SQLITE_IOERR else None
    return free is not None and free < LOW_SPACE


def _full_error(path: Path | str, text: str) -> LeadtuiError:
    free = _free_space(path)
    if free is None:
        room = ""
    elif free < LOW_SPACE:
        room = f"; {free // 1024} KiB free on its disk"
    else:  # SQLite's temporary files (sorts, temp tables) go to TMPDIR or /var/tmp, maybe another disk
        room = f"; its disk shows {free >> 20} MiB free: a quota, or the temporary folder's disk (TMPDIR), is full"
    return LeadtuiError(
        f"{path}: the disk is full ({text}{room}): what was being written is not stored; make room and try again"
    )


def _free_space(path: Path | str) -> int | None:
    """Bytes a user (not root) may still write on the disk `path` is on; None if unknown (or
    `path` names no file: "database" where the CLI does not know which)."""
    try:
        info = os.statvfs(path)
    except (OSError, ValueError):
        return None
    return info.f_bavail * info.f_frsize


def _busy_error(path: Path | str) -> Busy:
    return Busy(f"{path}: the database stayed locked by another station; nothing was changed, try again")


_FLOCK = "hhqqi4x"  # struct flock (Linux): l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks)
TURN, WAITING, OPEN, JOB = 0, 1, 2, 3  # the bytes of `<db>-writer` that are locked, one lock each


class Gate:
    """Turns at the database's write lock, for every leadtui writer on the machine: open file
    description locks (Linux: per open file, so two connections of one process exclude each
    other too) on three bytes of `<db>-writer`:

    - TURN, held exclusively from before `BEGIN IMMEDIATE` to after `COMMIT` or `ROLLBACK`;
    - WAITING, held shared by each station while it waits for TURN: a background job does
      not take TURN while it is held (for DEFER at most), so a waiting station goes next;
    - OPEN, held shared while the gate is open: the last to close it deletes the file;
    - JOB, held shared while a job runs (an import, `Database.job`): it makes the checkpoints,
      and other writers none, meanwhile.

    Waiting is polling every POLL, up to the busy timeout (then `Busy`): no waiter sleeps
    through a free moment, and each has the same chance at it, however long it has waited.
    The file is made with the database's permissions (and owner, when made by root) at the
    first write, so a floor that is only read never gets one. The kernel drops the locks of a
    process that dies.
    """

    def __init__(self, database: Path | str):
        self.database = Path(os.path.abspath(database))
        self.path = Path(f"{self.database}-writer")
        self.fd = -1

    @staticmethod
    def available() -> bool:
        return fcntl is not None and hasattr(fcntl, "F_OFD_SETLK")

    def open(self) -> bool:
        """Open (or make) the gate's file and mark it in use; False when that can't be done
        (a read-only folder or file): then writes go ungated, as SQLite alone would run them."""
        while self.fd < 0:
            try:
                info = os.stat(self.database)
                try:
                    fd = os.open(
                        self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, info.st_mode & 0o666
                    )
                    try:  # the umask must not narrow it, and root makes it its owner's, as SQLite does its -wal
                        os.fchmod(fd, info.st_mode & 0o666)
                        if os.geteuid() == 0:
                            os.fchown(fd, info.st_uid, info.st_gid)
                    except OSError:
                        pass
                except FileExistsError:
                    fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # deleted by its last user in between: make it again
            except OSError:
                return False
            self._lock(fd, fcntl.F_OFD_SETLKW, fcntl.F_RDLCK, OPEN)  # waits while a last user deletes it
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
            else:
                os.close(fd)
        return True

    def close(self) -> None:
        """Leave the gate; the last to leave deletes the file (as SQLite does its -wal)."""
        if self.fd < 0:
            return
        try:
            if self._lock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_WRLCK, OPEN):
                self.path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = -1

    def enter(self, timeout: float, background: bool = False) -> bool:
        """Take TURN within `timeout` seconds (False if it stayed taken). A station that finds it
        taken marks itself WAITING; a `background` job waits while stations do (DEFER at most)."""
        if not background and self._take():
            return True
        now = time.monotonic()
        deadline, defer_until = now + timeout, now + (DEFER if background else 0)
        waiting = not background and self._lock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_RDLCK, WAITING)
        try:
            while True:
                if not (background and now < defer_until and self.stations_waiting()) and self._take():
                    return True
                if now >= deadline:
                    return False
                time.sleep(POLL)
                now = time.monotonic()
        finally:
            if waiting:
                self._lock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_UNLCK, WAITING)

    def leave(self) -> None:
        self._lock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_UNLCK, TURN)

    def job(self, running: bool) -> None:
        """Mark (or unmark) this connection's job as running."""
        self._lock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_RDLCK if running else fcntl.F_UNLCK, JOB)

    def job_running(self) -> bool:
        """True while another connection's job is marked running (this one's own mark is not seen)."""
        return self._held(JOB)

    def _take(self) -> bool:
        return self._lock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_WRLCK, TURN)

    def stations_waiting(self) -> bool:
        return self._held(WAITING)

    def _held(self, byte: int) -> bool:
        probe = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, byte, 1, 0)
        return struct.unpack(_FLOCK, fcntl.fcntl(self.fd, fcntl.F_OFD_GETLK, probe))[0] != fcntl.F_UNLCK

    @staticmethod
    def _lock(fd: int, command: int, kind: int, byte: int) -> bool:
        try:
            fcntl.fcntl(fd, command, struct.pack(_FLOCK, kind, os.SEEK_SET, byte, 1, 0))
            return True
        except (BlockingIOError, PermissionError):  # EAGAIN, EACCES: another holds it
            return False


class Connection(sqlite3.Connection):
    """A SQLite connection that says which engine it is (the store's SQL that differs asks)."""

    engine = "sqlite"


class Database:
    """One connection in autocommit mode; every write goes through `write()`."""

    engine = "sqlite"

    def __init__(self, path: Path | str, conn: sqlite3.Connection, busy_ms: int | None = None):
        self.path = path
        self.conn = conn
        self.busy_ms = busy_ms if busy_ms is not None else conn.execute("PRAGMA busy_timeout").fetchone()[0]
        self._gate: Gate | None = None
        self._kept_waiting = time.monotonic()  # when a station last waited for a background transaction
        self._gated = Gate.available() and str(path) not in ("", ":memory:")  # until the gate can't open
        self._shm = f"{os.path.abspath(path)}-shm"
        self._shm_fd: int | None = None  # SQLite's own descriptor of it (see wal_index)
        self._jobs = 0  # job() depth
        self._checkpointer: _Checkpointer | None = None  # while a job runs
        self._deferring = False  # this connection's checkpoints at COMMIT are off while another's job runs

    @staticmethod
    def now() -> datetime:
        """The floor's clock: on one host, the host's (a server's floor keeps the server's)."""
        return datetime.now(UTC)

    def gate(self) -> Gate | None:
        """This connection's gate, opened at its first write; None where writes go ungated."""
        if self._gate is None and self._gated:
            gate = Gate(self.path)
            if gate.open():
                self._gate = gate
            else:
                self._gated = False
        return self._gate

    @contextmanager
    def job(self) -> Iterator[None]:
        """A long job (an import) that writes one transaction after another. Meanwhile:

        - its checkpoints run in a thread of their own, on a connection of their own, once
          JOB_CHECKPOINT pages wait: the job writes on during the copy and its sync, and a
          page its transactions write again and again is copied back once;
        - other connections make no checkpoint at COMMIT (SQLite's, once 1,000 pages wait, with
          the write lock and the gate still held: a station's key then copied an import batch's
          pages back, 0.3-0.5 s) and leave them to the job;
        - the WAL is started over every JOB_WAL_RESTART pages (see `_Checkpointer`).

        At its end, what waits is copied back, and checkpoints are everyone's again."""
        gate = self.gate()
        if gate is None or self._jobs:
            self._jobs += 1
            try:
                yield
            finally:
                self._jobs -= 1
            return
        self._jobs = 1
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpointer = checkpointer = _Checkpointer(self)
        gate.job(True)
        try:
            yield
        finally:
            self._jobs = 0
            self._checkpointer = None
            checkpointer.stop()
            try:
                for _ in range(3):  # (else the first station to commit would copy it back)
                    self.conn.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
                    if self.backlog() == 0:
                        break
                self.conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT}")
            except sqlite3.Error:
                pass  # best effort: what waits goes back at the next checkpoint
            finally:
                if self._gate is gate:
                    gate.job(False)

    def backlog(self) -> int | None:
        """Pages in the WAL not yet copied back into the database; None if unknown."""
        index = self.wal_index()
        return None if index is None else max(0, index[0] - index[1])

    def wal_index(self) -> tuple[int, int] | None:
        """The WAL's length in pages and how many of them are copied back, read from the WAL
        index's header (mxFrame, nBackfill: https://sqlite.org/walformat.html); None if unknown.

        Read through the descriptor SQLite holds (found in /proc/self/fd): opening the file and
        closing it again would drop every POSIX lock this process has on it, SQLite's included."""
        try:
            fd = self._shm_fd
            if fd is None or not os.path.samestat(os.fstat(fd), os.stat(self._shm)):
                fd = self._shm_fd = _descriptor_of(self._shm)
            if fd is None:
                return None
            head = os.pread(fd, 100, 0)
        except OSError:
            self._shm_fd = None
            return None
        if len(head) < 100 or head[:48] != head[48:96]:  # none yet, or caught mid-update
            return None
        return struct.unpack_from("=I", head, 16)[0], struct.unpack_from("=I", head, 96)[0]

    def _leave_checkpoints_to_jobs(self, gate: Gate) -> None:
        """Before a write: no checkpoint at COMMIT while another connection's job runs."""
        deferring = not self._jobs and gate.job_running()
        if deferring != self._deferring:
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {0 if deferring else AUTOCHECKPOINT}")
            self._deferring = deferring

    @contextmanager
    def write(
        self,
        background: bool = False,
        *,
        lead: int | None = None,
        call: int | None = None,
        shared: bool = False,
    ) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, taken at the gate (F4): takes the write lock up front, so no
        deadlock on upgrade. A `background` job's transaction (an import batch, a chunk of a sweep)
        lets stations that wait go first, and should hold the lock `slice` seconds at most. `lead`,
        `call` and `shared` say what the write decides on, for a server's row locks
        (store.postgres); one file has one writer at a time whatever they say.
        Raises `Busy` if the lock stayed taken past the busy timeout; nothing was written then."""
        gate = self.gate()
        if gate is not None:
            began = time.monotonic()
            if not gate.enter(self.busy_ms / 1000, background):
                raise _busy_error(self.path)
            waited = int((time.monotonic() - began) * 1000)
            if self._checkpointer is not None:
                self._checkpointer.restart()
            else:
                self._leave_checkpoints_to_jobs(gate)
        try:
            if (
                gate is not None and waited
            ):  # what is left of the busy timeout, for writers the gate doesn't see
                self.conn.execute(f"PRAGMA busy_timeout = {max(1, self.busy_ms - waited)}")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise describe(self.path, exc) from None
            finally:
                if gate is not None and waited:
                    self.conn.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
            try:
                yield self.conn
            except BaseException as exc:
                self._rollback()
                if fault(exc):  # no caller can do better with it: one line naming the floor
                    raise describe(self.path, exc) from None
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise describe(self.path, exc) from None
        finally:
            if gate is not None:
                if background and gate.stations_waiting():
                    self._kept_waiting = time.monotonic()
                gate.leave()
        if self._checkpointer is not None:
            self._checkpointer.due()

    @property
    def slice(self) -> float:
        """Seconds a background job's next transaction should hold the write lock: SLICE while
        stations wait for its transactions (one did in the last QUIET seconds), else SLICE_ALONE
        (an import on a quiet floor runs faster)."""
        return SLICE if time.monotonic() - self._kept_waiting < QUIET else SLICE_ALONE

    def _rollback(self) -> None:
        """End a failed transaction, unless SQLite already has: it rolls back by itself on some
        errors (a full disk among them), and a ROLLBACK then failed with "cannot rollback - no
        transaction is active", which hid the cause. Nor may a failing ROLLBACK hide it."""
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several SELECTs."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        except BaseException:
            self._rollback()  # (a sort that found its temporary disk full may have ended it already)
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
        if self._gate is not None:
            self._gate.close()
            self._gate = None


class _Checkpointer(threading.Thread):
    """A job's checkpoints (`Database.job`), in this thread on a connection of its own."""

    def __init__(self, db: Database):
        super().__init__(name="leadtui-checkpoint", daemon=True)
        self.db = db
        self.conn = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self.wake = threading.Condition()
        self.wanted = self.busy = self.stopping = False
        self.synced = False  # the last copy had it all: SQLite synced the database then
        self.start()

    def due(self) -> None:
        """After the job's commit: copy back once JOB_CHECKPOINT pages wait. Once the WAL is
        JOB_WAL_RESTART pages long, wait for the copy: then the job's next transaction finds it
        all in the database (but what stations wrote meanwhile: `restart`) and starts it over."""
        index = self.db.wal_index()
        frames, backlog = (index[0], index[0] - index[1]) if index else (JOB_WAL_RESTART, JOB_CHECKPOINT)
        with self.wake:
            if backlog >= JOB_CHECKPOINT or (backlog and frames >= JOB_WAL_RESTART):
                self.wanted = True
                self.wake.notify_all()
            if frames >= JOB_WAL_RESTART:
                self.wake.wait_for(lambda: not (self.wanted or self.busy) or self.stopping, timeout=10)

    def restart(self) -> None:
        """In the job's write turn, before its BEGIN: if only a few pages wait (stations' commits
        since the last copy) and no copy runs, copy them back, so that the WAL is all in the
        database and the job's transaction writes it from its start again (else it only grows)."""
        with self.wake:
            if self.busy or self.wanted or not self.synced:  # (else this would be the deferred sync)
                return
        backlog = self.db.backlog()
        if backlog and backlog <= RESTART_BACKLOG:
            with suppress(sqlite3.Error):  # best effort: the next job's turn tries again
                self.db.conn.execute("PRAGMA main.wal_checkpoint(PASSIVE)")

    def stop(self) -> None:
        with self.wake:
            self.stopping = True
            self.wake.notify_all()
        self.join()

    def run(self) -> None:
        try:
            while True:
                with self.wake:
                    self.wake.wait_for(lambda: self.wanted or self.stopping)
                    if self.stopping:
                        return
                    self.wanted, self.busy = False, True
                synced = False
                try:
                    for _ in range(3):  # until one pass had it all: then SQLite synced the database
                        self.conn.execute("PRAGMA main.wal_checkpoint(PASSIVE)")
                        if synced := self.db.backlog() == 0:
                            break
                except sqlite3.Error:
                    pass
                finally:
                    with self.wake:
                        self.busy, self.synced = False, synced
                        self.wake.notify_all()
        finally:
            self.conn.close()


def _descriptor_of(path: str) -> int | None:
    """A descriptor this process has open on `path` (Linux), or None."""
    target = os.stat(path)
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.path.samestat(os.stat(f"/proc/self/fd/{name}"), target):
                return int(name)
        except (OSError, ValueError):
            continue
    return None


def make_way(held: float, db: Database | None = None) -> None:
    """A long job (an import) that just held the write lock `held` seconds leaves it free a
    moment (up to GAP, a fifth of `held`). SQLite makes a waiting station retry, every 100 ms
    once it has waited a while, rather than queue: a job that locked again at once could keep
    a station out past its busy timeout. Not needed where `db`'s writes are gated: its next
    `write(background=True)` lets a waiting station in first."""
    if db is not None and db.gate() is not None:
        return
    time.sleep(min(GAP, held / 5))


def _busy_ms(busy_timeout_ms: int | None) -> int:
    if busy_timeout_ms is not None:
        return busy_timeout_ms
    env = os.environ.get("LEADTUI_BUSY_TIMEOUT_MS")
    return int(env) if env and env.isdigit() else DEFAULT_BUSY_MS


Notice = Callable[[str], None]  # told of slow work before it starts


def connect(
    path: Path | str,
    *,
    create: bool = False,
    busy_timeout_ms: int | None = None,
    notice: Notice | None = None,
) -> Database:
    """Open (or with `create`, make) a leadtui database and bring its schema up to date: a SQLite
    file at `path`, or the floor on a PostgreSQL server when `path` is a `postgresql://` address."""
    if postgres.is_address(path):
        return postgres.connect(str(path), create=create, busy_ms=_busy_ms(busy_timeout_ms))  # type: ignore[return-value]
    path = Path(path)
    if not create and not path.exists():
        raise LeadtuiError(f"no database at {path}: create it with `leadtui init --db {path}`")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # only its users may read it (leads, PIN hashes); SQLite gives its -wal and -shm the same mode
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE))
        except FileExistsError:
            pass
        except OSError as exc:
            raise LeadtuiError(f"{path}: can't create the database file ({exc.strerror})") from None
    busy = _busy_ms(busy_timeout_ms)
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=busy / 1000, check_same_thread=False, factory=Connection
        )
        conn.row_factory = sqlite3.Row
        # FULL: a committed key press survives a power cut, not just a crash (WAL + NORMAL may lose
        # the last commits on power loss). Measured cost on these machines: ~0.2 ms per commit.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {busy}")
        app_id, version = (
            conn.execute("PRAGMA application_id").fetchone()[0],
            conn.execute("PRAGMA user_version").fetchone()[0],
        )
        if app_id != APPLICATION_ID:
            empty = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
            if not (create and empty):
                raise LeadtuiError(f"{path}: not a leadtui database")
        if version > len(MIGRATIONS):
            raise LeadtuiError(f"{path}: made by a newer leadtui (schema {version}); upgrade leadtui")
        db = Database(path, conn, busy)
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

    with suppress(LeadtuiError, sqlite3.Error):
        indexes.finish(db, notice)


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
        tmp.unlink(missing_ok=True)
        os.close(
            os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        )  # private, like the floor
        out = sqlite3.connect(tmp)
        try:
            db.conn.backup(out, pages=1024)
            pages = out.execute("PRAGMA page_count").fetchone()[0]
            problems = [r[0] for r in out.execute("PRAGMA quick_check(3)")]
        finally:
            out.close()
        if problems != ["ok"]:  # a copy of a damaged database is no backup
            tmp.unlink(missing_ok=True)
            found = " ".join(" ".join(problems).split())  # one line
            raise LeadtuiError(f"{source} is damaged ({found}); no backup written")
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
