"""The import itself: stream the file, read rows, de-duplicate, stage and store batches, report.

Reading (Python: CSV, phones, keys) merges rows of one property within a batch and stages the
batch in a scratch SQLite file (`store.imports.Slots`); storing puts each staged batch in one
short write transaction of a few set-wise SQL statements (`store.imports.write_batch`), which
SQLite runs in C without the GIL. Two ways to share the work across two cores:

- in this process: this thread reads while a Writer thread stores, so storing one batch
  overlaps reading the next. Batches are sized to hold the floor's write lock about
  `Database.slice` seconds, less while stations wait for it (F4: a station's commit waits for
  one batch at most, and goes before the next one: `Database.write(background=True)`); storing
  a row costs more as the indexes grow, so on a big floor batches shrink.
- a first load of a big file (into an empty database, the indexes are built at the end and
  rows match on key hashes meanwhile: `store.indexes`): reading processes each read a share
  of the file (`importing.readers`) and this thread stores their batches in the file's order.
  On PostgreSQL (`store.pg_imports`) each staged batch is copied to the server (COPY) before
  its write transaction, and merged there; an empty floor's first load keeps its indexes. A
  batch there holds the floor's lock shared, so stations' writes on other leads go on beside
  it, and batches are sized to hold it SERVER_HOLD seconds.

The floor's write lock is held only while a batch is stored, never while the file is read.
A killed import keeps whole batches; a re-run matches them and adds nothing twice. Memory
stays flat whatever the file size: a few batches are staged (on disk) at a time.
"""

from __future__ import annotations

import csv
import errno
import gc
import os
import queue
import sqlite3
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from leadtui import clock
from leadtui.core.facts import COLUMNS as FACT_COLUMNS
from leadtui.errors import LeadtuiError
from leadtui.importing import readers
from leadtui.importing.presets import parse_maps, resolve
from leadtui.importing.rows import IMPORT_COLUMNS, Floor, Lead, Reject, RowReader, columns_of
from leadtui.importing.source import Table
from leadtui.store import imports as store
from leadtui.store import indexes, queries
from leadtui.store.db import Database, Notice, describe, fault, finish_deferred, make_way

BATCH = 20_000  # rows a batch holds at most
MIN_BATCH, FIRST_BATCH = 50, 200  # rows; the first batch is small: a million-lead floor stores ~5,000 rows/s
# On a server a batch holds the floor's lock shared (stations write on other leads meanwhile) and
# locks only the leads it merges into, so it may hold longer: what waits for it is a key on one of
# those leads, or a write that takes the whole floor (adding a lead, rep admin). Each batch costs a
# few round trips and an ANALYZE whatever its size, which at SQLite's sizes was most of an import.
SERVER_HOLD, SERVER_FIRST = 0.5, 2_000  # s, rows
GROWTH = 2  # a batch is at most this many times the last one's size (one quick batch is no promise)
SWITCH = 0.0001  # s: how soon the reading thread hands the GIL over during an import (see _tune_interpreter)
Progress = Callable[[int, int, int], None]  # bytes read, file size, rows read


def default_rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


class RejectsFile:
    """The rejects CSV (line, column, value, reason), created at the first reject."""

    def __init__(self, path: Path):
        self.path = path
        self._file = None
        self._writer: Any = None
        if not os.access(path.parent, os.W_OK):
            raise LeadtuiError(f"can't write the rejects file {path}: choose another with --rejects PATH")

    def write(self, rejects: Sequence[Reject]) -> None:
        from leadtui.reports import inert

        if self._writer is None:
            self._file = self._open()
            self._writer = csv.writer(self._file)
            self._writer.writerow(["line", "column", "value", "reason"])
        self._writer.writerows([r.line, inert(r.column), inert(r.value), r.reason] for r in rejects)

    def _open(self):
        """The file, never through a link and never one that isn't ours (another user's, a device)."""
        flags = (
            os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        )  # a FIFO must not block
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            why = {errno.ELOOP: "it is a link, not followed", errno.ENXIO: "it is not a file of yours"}.get(
                exc.errno or 0, exc.strerror
            )
            raise LeadtuiError(f"can't write the rejects file {self.path}: {why}") from None
        os.set_blocking(fd, True)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise LeadtuiError(
                f"can't write the rejects file {self.path}: it is not a file of yours; "
                "choose another with --rejects PATH"
            )
        os.ftruncate(fd, 0)
        return os.fdopen(fd, "w", encoding="utf-8-sig", newline="")

    @property
    def written(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass
class Batches:
    """Batches from reading to storing: merged within themselves, staged, handed to the writer."""

    db: Database
    staging: store.Staging
    status: str
    now: datetime
    rep: str | None
    event: dict
    dry_run: bool
    limit: int = BATCH
    keyed_from: int | None = None  # a first load: the id from which temp.import_keys may lack leads
    columns: tuple[str, ...] = IMPORT_COLUMNS  # staged (rows.columns_of): a leadtui export's has its state
    totals: Counter = field(default_factory=Counter)
    count: int = 0
    size: int = 0  # rows in the next batch: set from how long the last one held the lock
    storing: bool = False  # a batch went to the database

    def __post_init__(self) -> None:
        self.server = self.db.engine == "postgresql"
        self.size = min(self.limit, SERVER_FIRST if self.server else FIRST_BATCH)

    def stage(self, pending: list[Lead]) -> tuple[str, dict]:
        """Put a batch in the next staging slot; returns the slot's file and what the writer records."""
        slot = self.count % store.SLOTS
        self.count += 1
        return readers.stage(self.staging, slot, pending)

    def stopped(self, error: LeadtuiError) -> LeadtuiError:
        """The error that stopped the import, with what it stored before (once it stored)."""
        if self.storing:
            error.args = (
                f"{error}; the import stopped there: {self.totals['inserted']} new and"
                f" {self.totals['merged']} merged leads are stored, each batch whole, and a re-run adds"
                " the rest (what is in already is matched, not added twice)",
            )
        return error

    def write(self, path: str, batch: dict) -> None:
        """The writer's part: one staged batch into the database, in one write transaction."""
        if self.dry_run:
            with store.attached(self.db.conn, path), self.db.read() as conn:
                new = store.count_new(conn)
            self.totals.update(inserted=new, merged=batch["rows"] - new)
            return
        self.storing = True
        stamp = clock.stamp(self.now)
        with store.attached(self.db.conn, path):
            # (a server's: the floor's lock shared, the imports' own, and the leads merged into)
            lock = {"shared": True, "among": "import"} if self.server else {"background": True}
            with self.db.write(**lock) as conn:
                locked = time.perf_counter()
                times = {"created_at": stamp, "updated_at": stamp}
                ids, added = store.write_batch(
                    conn,
                    self.columns,
                    times if "status" in self.columns else {"status": self.status, **times},
                    self.keyed_from,
                    FACT_COLUMNS,
                )
                merged = batch["rows"] - len(ids)
                store.record(
                    conn,
                    at=stamp,
                    day=self.now.date().isoformat(),
                    rep=self.rep,
                    data={
                        **self.event,
                        "lines": batch["lines"],
                        "inserted": len(ids),
                        "merged": merged,
                        "phones_added": added,
                        "ids": [ids.start, ids.stop - 1] if ids else None,
                    },
                )
            held = time.perf_counter() - locked  # the commit included
        # (the WAL goes back to the database in the job's checkpointer thread: Database.job)
        if self.keyed_from is not None:
            self.keyed_from = ids.stop
        self.totals.update(inserted=len(ids), merged=merged, phones_added=added)
        fits = int((SERVER_HOLD if self.server else self.db.slice) * batch["unique"] / held)
        self.size = max(
            min(MIN_BATCH, self.limit), min(self.limit, fits, GROWTH * max(self.size, batch["rows"]))
        )
        if not self.server:  # (a server queues waiting writers: the next batch waits its turn)
            make_way(held, self.db)


class Writer(threading.Thread):
    """Stores the batches handed over by `put`, one at a time, in order; re-raises its error to the reader."""

    def __init__(self, batches: Batches):
        super().__init__(name="leadtui-import-writer", daemon=True)
        self.batches = batches
        self.queue: queue.Queue[tuple[str, dict] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (job := self._next()) is not None:
            if self.error is None:
                try:
                    self.batches.write(*job)
                except BaseException as exc:  # noqa: BLE001 (whatever it is, the reading thread raises it)
                    self.error = exc

    def _next(self) -> tuple[str, dict] | None:
        """The next batch. A first load, while none is waiting, fills search with what it stored."""
        try:
            while self.batches.keyed_from is not None and self.error is None:
                try:
                    return self.queue.get_nowait()
                except queue.Empty:
                    if not indexes.fill_search(self.batches.db):
                        break
        except BaseException as exc:  # noqa: BLE001 (as above)
            self.error = exc
        return self.queue.get()

    def put(self, pending: list[Lead]) -> None:
        """Stage a batch (in this thread) and queue it for storing. With a queue of one, the
        slot being filled was last used three batches ago, which the writer has finished."""
        self._raise()
        if pending:
            self.queue.put(self.batches.stage(pending))

    def finish(self) -> None:
        """Wait for every batch handed over; the writer's error, if any, is raised here."""
        self.queue.put(None)
        self.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def _tune_interpreter() -> Callable[[], None]:
    """For an import's length: the GIL is handed over every SWITCH seconds (at the default 5 ms,
    each of the writer's ~15 statements a batch waited that long for the reading thread: a third
    of a million-row import), and the cyclic garbage collector is off (rows make no cycles; its
    passes over them took ~10% of the reading). Returns what puts both back."""
    switch, collecting = sys.getswitchinterval(), gc.isenabled()
    sys.setswitchinterval(SWITCH)
    gc.disable()

    def untune() -> None:
        sys.setswitchinterval(switch)
        if collecting:
            gc.enable()

    return untune


def _read_here(
    batches: Batches,
    table: Table,
    reader: RowReader,
    rejects: RejectsFile,
    counts: Counter,
    progress: Progress | None,
) -> None:
    """Read the file in this thread while a Writer thread stores the batches."""
    writer = Writer(batches)
    writer.start()
    pending: list[Lead] = []
    try:
        for lead, bad in reader.rows(table, counts):
            if bad:
                rejects.write(bad)
            if lead is not None:
                pending.append(lead)
                if len(pending) >= batches.size:
                    writer.put(pending)
                    pending = []
                    if progress:
                        progress(table.position(), table.size, counts["rows"])
        writer.put(pending)
    finally:
        writer.finish()  # on an error too: batches already handed over are stored whole


def _store_from_readers(
    batches: Batches,
    table: Table,
    preset: str | None,
    maps: Sequence[str],
    list_name: str | None,
    rejects: RejectsFile,
    counts: Counter,
    progress: Progress | None,
    floor: Floor | None,
) -> None:
    """A first load: reading processes stage the batches, this thread stores them in order,
    and fills search while it waits."""
    pool = readers.Readers(
        table.path,
        preset=preset,
        maps=maps,
        list_name=list_name,
        folder=batches.staging.folder,
        chunk=batches.limit,
        floor=floor,
    )
    try:
        for staged in pool.batches(idle=lambda: indexes.fill_search(batches.db)):
            counts.update(staged.counts)
            if staged.rejects:
                rejects.write(staged.rejects)
            if staged.path:
                batches.write(staged.path, staged.batch)
                indexes.fill_search(
                    batches.db, whole=True
                )  # keeps up: left to the end, it would run on one core
            if progress:
                progress(staged.position, table.size, counts["rows"])
    finally:
        pool.close()


def run_import(
    db: Database,
    path: Path,
    *,
    status: str,
    now: datetime,
    rep: str | None = None,
    preset: str | None = None,
    list_name: str | None = None,
    rejects_path: Path | None = None,
    maps: Sequence[str] = (),
    dry_run: bool = False,
    progress: Progress | None = None,
    notice: Notice | None = None,
    batch: int = BATCH,
    parallel: bool | None = None,
    statuses: Collection[str] = (),
) -> dict:
    """Import `path` into `db`; new leads get `status`. Returns the summary (SPEC: import).
    `notice` hears of the indexes being built at the end of a first load. A first load reads
    in `readers` processes when `parallel`, or by default when the file is big enough. A leadtui
    export gives its leads' own statuses back, those of `statuses` (the playbook's)."""
    mapping = parse_maps(maps)
    with Table(path) as table:
        layout = resolve(table.header, preset, mapping, file=path.name)
        floor = None
        if layout.preset.restores:
            with db.read() as conn:
                reps = {r["name"].casefold(): r["name"] for r in queries.reps(conn)}
            floor = Floor(status, frozenset(statuses) | {status}, reps)
        reader = RowReader(layout, table.header, list_name, floor=floor)
        rejects = RejectsFile(rejects_path or default_rejects_path(path))
        event = {"file": path.name, "preset": layout.preset.name, "list": list_name}
        indexes.ready(db, notice)
        columns = columns_of(layout)
        staging = store.Staging(columns)
        batches = Batches(db, staging, status, now, rep, event, dry_run, limit=batch, columns=columns)
        counts: Counter = Counter()
        untune = _tune_interpreter()
        try:
            with db.job():  # F4: checkpoints are the import's meanwhile, none at a station's COMMIT
                first = not dry_run and indexes.defer(
                    db, staging.folder
                )  # indexes and search are built at the end
                if not dry_run:
                    store.tune_for_load(db.conn, first)
                    batches.keyed_from = 1 if first else None
                # on a server nothing is deferred (store.indexes): an empty floor's load is the first
                spread = first or (db.engine == "postgresql" and not dry_run and not store.has_leads(db.conn))
                if spread and (readers.wanted(table.size) if parallel is None else parallel):
                    _store_from_readers(
                        batches, table, preset, maps, list_name, rejects, counts, progress, floor
                    )
                else:
                    _read_here(batches, table, reader, rejects, counts, progress)
                if not counts["rows"]:
                    raise LeadtuiError(f"{path}: no rows under the header; nothing stored")
        except LeadtuiError as exc:
            raise batches.stopped(exc) from None
        except sqlite3.Error as exc:
            if not fault(exc):
                raise
            # (the floor's own are told by its writes: this is the scratch folder's, or a temporary file's)
            raise batches.stopped(describe(staging.folder, exc)) from None
        finally:
            rejects.close()
            untune()
            try:
                store.forget(db.conn)
            finally:
                staging.close()  # and with it the lease: now what `defer` dropped can be built
                finish_deferred(db, notice)
        if progress:
            progress(table.size, table.size, counts["rows"])
        changed = table.changed()
    totals = batches.totals
    return {
        "file": str(path),
        "preset": layout.preset.name,
        "encoding": table.sniffed.encoding,
        "delimiter": table.sniffed.delimiter,
        "rows": counts["rows"],
        "inserted": totals["inserted"],
        "merged": totals["merged"],
        "rejected": counts["rows_rejected"] + counts["phones_rejected"] + counts["values_rejected"],
        "rows_rejected": counts["rows_rejected"],
        "phones_rejected": counts["phones_rejected"],
        "values_rejected": counts["values_rejected"],
        "phones_added": totals["phones_added"],
        "rejects_path": str(rejects.path) if rejects.written else None,
        "dry_run": dry_run,
        "file_changed": changed,
    }
