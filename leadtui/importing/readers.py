"""The reading side of an import: a batch merged and staged (`stage`), and, for a big first
load, reading processes that each read and stage a share of the file (`Readers`).

Reading (CSV, phones, keys) is Python and holds the GIL, so in one process it sets the pace
of a big import while SQLite's writing leaves the other core half idle. For a first load of a
big file (`runner.run_import`), READERS processes each read the whole file but do the work of
one chunk of records in READERS: passing over another's records is a fraction of the cost
(`Table.skipping`). Each stages its chunks in slot files of its own, in the import's scratch
folder, and the importing process stores them in the file's order: the same leads, ids and
merges as reading in one process. A reader stages at most EACH chunks ahead of the storing;
it stops when the importing process goes (its pipe closes), however that ends.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from itertools import chain, islice
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple

from leadtui.errors import LeadtuiError
from leadtui.importing.presets import parse_maps, resolve
from leadtui.importing.rows import Floor, Lead, Reject, RowReader, columns_of
from leadtui.importing.source import Table
from leadtui.store.db import describe, fault
from leadtui.store.imports import Slots

READERS = 2  # processes; more would share the same two cores with the storing
EACH = 2  # slots per reader: one being filled while the other waits to be stored
NICE = 10  # a reader yields the cores to stations (and to the storing, which holds the write lock)
GRACE = 2  # s a reader has to stop once its pipe is closed
MIN_BYTES = 16 << 20  # smaller files are read in the importing process: starting readers costs ~0.3 s


class Staged(NamedTuple):
    """A chunk read and staged: its slot file (None if no row of it was kept), what the
    storing records, the chunk's rejects and counts, and how far into the file its reader got."""

    path: str | None
    batch: dict
    rejects: list[Reject]
    counts: Counter
    position: int


def dedupe(pending: list[Lead]) -> list[Lead]:
    """Rows of one property within a batch become one lead (parcel first, then address)."""
    by_parcel: dict[tuple, Lead] = {}
    by_address: dict[str, Lead] = {}
    unique = []
    for lead in pending:
        parcel, address = lead.parcel, lead.address_key
        first = (by_parcel.get(parcel) if parcel else None) or (by_address.get(address) if address else None)
        if first is not None:
            first.absorb(lead)
            continue
        unique.append(lead)
        if parcel:
            by_parcel[parcel] = lead
        if address:
            by_address[address] = lead
    return unique


def stage(slots: Slots, slot: int, pending: list[Lead]) -> tuple[str, dict]:
    """Put a batch in a slot; returns the slot's file and what the storing records."""
    unique = dedupe(pending)
    path = slots.put(
        slot,
        [(lead.line, *lead.values, *lead.hashes()) for lead in unique],
        [(lead.line, n, *phone) for lead in unique for n, phone in enumerate(lead.phones, 1)],
    )
    return path, {"lines": [pending[0].line, pending[-1].line], "rows": len(pending), "unique": len(unique)}


def wanted(file_size: int) -> bool:
    """Whether a first load of this size is worth reading processes."""
    return file_size >= MIN_BYTES and (os.cpu_count() or 1) > 1


class Readers:
    """READERS reading processes over `path`; `batches` yields their chunks in the file's order.

    Each is a fresh interpreter (`serve`) talking over a socket pair: not multiprocessing, whose
    children re-import the caller's main script, and not a fork, which would share the
    import's lease and the database's file handles."""

    def __init__(
        self,
        path: Path,
        *,
        preset: str | None,
        maps: Sequence[str],
        list_name: str | None,
        folder: Path,
        chunk: int,
        count: int = READERS,
        floor: Floor | None = None,
    ):
        self._pipes: list[Connection] = []
        self._procs: list[subprocess.Popen] = []
        try:
            for index in range(count):
                mine, theirs = socket.socketpair()
                with mine, theirs:
                    given = (
                        None if floor is None else [floor.initial, sorted(floor.statuses), dict(floor.reps)]
                    )
                    args = json.dumps(
                        [str(path), preset, list(maps), list_name, str(folder), index, count, chunk, given]
                    )
                    self._procs.append(
                        subprocess.Popen(  # it imports leadtui from where this process did
                            [sys.executable, "-c", _SERVE, json.dumps(sys.path), str(theirs.fileno()), args],
                            pass_fds=(theirs.fileno(),),
                            stdin=subprocess.DEVNULL,
                        )
                    )
                    self._pipes.append(Connection(mine.detach()))
        except OSError as exc:
            self.close()
            raise LeadtuiError(
                f"can't start the import's reading processes ({exc.strerror or exc})"
            ) from None
        except BaseException:
            self.close()
            raise

    def batches(self, idle: Callable[[], int]) -> Iterator[Staged]:
        """Every chunk, in order. Calls `idle` while waiting, until it returns 0. A reader's
        slot is handed back when the caller asks for the chunk after the one it was given."""
        number = 0
        while True:
            pipe = self._pipes[number % len(self._pipes)]
            while not pipe.poll(0):
                if not idle():
                    pipe.poll(None)
                    break
            message = self._receive(number % len(self._pipes))
            if message is None:
                return
            yield message
            # it may have sent its last chunk and gone (if it died, its next message says so)
            with contextlib.suppress(ConnectionError):
                pipe.send(None)
            number += 1

    def _receive(self, index: int) -> Staged | None:
        try:
            message = self._pipes[index].recv()
        except (EOFError, ConnectionError):
            code = self._procs[index].wait()
            raise LeadtuiError(
                f"an import reader stopped (exit code {code}); the batches before"
                " it are stored, a re-run adds the rest"
            ) from None
        if isinstance(message, str):
            raise LeadtuiError(message)
        return message

    def close(self) -> None:
        """Stop the readers: done, they have stopped by themselves; after an error (their work
        no longer wanted), a reader still busy with a chunk is killed."""
        for pipe in self._pipes:
            pipe.close()
        for proc in self._procs:
            try:
                proc.wait(GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# A reading process runs at a lower priority than the floor's stations and the import's own storing,
# from its first import on (its start-up, ~0.2 s of a core, came as the import began: the stations'
# screens then missed frames).
_SERVE = (
    f"import os; os.nice({NICE}); import json, sys; sys.path[:] = json.loads(sys.argv[1]);"
    " from leadtui.importing.readers import serve; serve(int(sys.argv[2]), sys.argv[3])"
)


def serve(fd: int, args: str) -> None:
    """A reading process's main: the socket it was handed and `_read`'s arguments (JSON)."""
    _read(Connection(fd), *json.loads(args))


def _read(
    pipe: Connection,
    path: str,
    preset: str | None,
    maps: list[str],
    list_name: str | None,
    folder: str,
    index: int,
    count: int,
    chunk: int,
    floor: list | None = None,
) -> None:
    """A reading process: chunk n is this one's when n % count == index. Sends a Staged for
    each of its chunks, then None; or a one-line error. Stops quietly if the pipe closes."""
    gc.disable()  # as in the importing process (runner._tune_interpreter): rows make no cycles
    slots = None
    try:
        with Table(Path(path)) as table:
            layout = resolve(table.header, preset, parse_maps(maps), file=Path(path).name)
            known = None if floor is None else Floor(floor[0], frozenset(floor[1]), floor[2])
            reader = RowReader(layout, table.header, list_name, floor=known)
            slots = Slots(columns_of(layout), Path(folder), f"reader{index}-", EACH)
            records = iter(table)
            number = staged = 0
            while True:
                own = number % count == index
                table.skipping = not own
                if not own:
                    if next(islice(records, chunk - 1, None), None) is None:
                        break
                    number += 1
                    continue
                first = next(records, None)
                if first is None:
                    break
                counts: Counter = Counter()
                pending, rejects = [], []
                for lead, bad in reader.rows(chain([first], islice(records, chunk - 1)), counts):
                    rejects += bad
                    if lead is not None:
                        pending.append(lead)
                if staged >= EACH:
                    pipe.recv()  # the slot's last chunk is stored
                file, batch = stage(slots, staged % EACH, pending) if pending else (None, {})
                pipe.send(Staged(file, batch, rejects, counts, table.position()))
                staged += 1
                number += 1
        pipe.send(None)
    except (EOFError, ConnectionError, KeyboardInterrupt):
        pass  # the importing process is gone or stopping: so are we
    except LeadtuiError as exc:
        _tell(pipe, str(exc))
    except Exception as exc:  # noqa: BLE001 (a bug: say what, in one line, rather than die silently)
        if fault(exc):  # its scratch folder's disk is full (or failing)
            _tell(pipe, str(describe(folder, exc)))
        else:
            _tell(pipe, f"an import reader failed: {type(exc).__name__}: {exc}")
    finally:
        if slots is not None:
            slots.close()


def _tell(pipe: Connection, message: str) -> None:
    with contextlib.suppress(ConnectionError):  # the importing process is gone: nobody to tell
        pipe.send(message)
