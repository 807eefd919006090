"""A first load read by reading processes (importing.readers) stores exactly what reading in
one process stores, in the same order; a reader that dies stops the import cleanly."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadtui import clock
from leadtui.errors import LeadtuiError
from leadtui.importing import readers
from leadtui.importing.runner import run_import
from leadtui.service import init_database
from leadtui.store.db import connect

pytestmark = pytest.mark.engines

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
HEADER = "Owner Name,Address,City,State,Zip,APN,County,Phone 1,Phone 2,Notes\n"


def hostile_file(path: Path) -> Path:
    """Rows that repeat properties across chunks (by parcel and by address), blank lines, quoted
    cells over several lines, rejected rows and phones, markup and escapes, a short row."""
    lines = [HEADER]
    for n in range(60):
        apn = f"APN-{n % 23}" if n % 3 == 0 else ""  # every third row by parcel: some repeat
        street = f"{n % 41} Oak St"  # addresses repeat after 41 rows
        phone2 = "not a phone" if n % 17 == 0 else f"786555{n:04d}"
        notes = '"two\nlines, ""quoted"""' if n % 5 == 0 else "[bold red]x[/] \x1b[31mred"
        lines.append(
            f"Owner {n} [b]Lee[/b],{street if n % 29 else ''},Miami,FL,33101,{apn},Dade,"
            f"305555{n % 50:04d},{phone2},{notes}\n"
        )
        if n % 7 == 0:
            lines.append("\n,,,\n")
    lines.append("Last Owner,1 Elm St,Miami\n")
    path.write_text("".join(lines))
    return path


@pytest.fixture
def floors(engine, tmp_path, request):
    """Factory: floors(name) -> a new empty floor's address on the test's engine."""
    made: list[str] = []

    def make(name: str):
        if engine == "sqlite":
            return tmp_path / f"{name}.db"
        made.append(request.getfixturevalue("pg_cluster").database())
        return made[-1]

    yield make
    for address in made:
        request.getfixturevalue("pg_cluster").drop(address)


def sound(conn) -> bool:
    """SQLite's integrity check and search's (a server keeps its own indexes)."""
    if conn.engine == "postgresql":
        return True
    conn.execute("INSERT INTO leads_fts(leads_fts, rank) VALUES ('integrity-check', 1)")
    return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def imported(
    floors, tmp_path: Path, source: Path, name: str, parallel: bool, batch: int
) -> tuple[dict, dict]:
    path = floors(name)
    init_database(path, playbook="wholesale", test_clock=True)
    db = connect(path)
    try:
        summary = run_import(
            db,
            source,
            status="new",
            now=NOW,
            batch=batch,
            parallel=parallel,
            rejects_path=tmp_path / f"{name}.rejects.csv",
        )
        conn = db.conn
        stored = {
            "leads": [tuple(r) for r in conn.execute("SELECT * FROM leads ORDER BY id")],
            "phones": [tuple(r)[1:] for r in conn.execute("SELECT * FROM phones ORDER BY lead_id, position")],
            # one event per batch; batches end elsewhere (a reader counts records, not leads)
            "events": _batches(
                [json.loads(r[0]) for r in conn.execute("SELECT data FROM events ORDER BY id")]
            ),
            "rejects": (tmp_path / f"{name}.rejects.csv").read_text(),
            "integrity": "ok" if sound(conn) else "damaged",
        }
    finally:
        db.close()
    summary.pop("rejects_path")
    return summary, stored


def _batches(events: list[dict]) -> tuple:
    """The import events' totals, after checking that they cover the file in order."""
    lines = [line for event in events for line in event["lines"]]
    assert lines == sorted(lines)
    ids = [i for event in events if event["ids"] for i in event["ids"]]
    assert ids == sorted(ids) and ids[0] == 1
    return tuple(sum(event[k] for event in events) for k in ("inserted", "merged", "phones_added"))


@pytest.mark.parametrize("batch", [1, 5, 1000])
def test_b2_reading_processes_store_what_one_process_stores(floors, tmp_path, batch):
    source = hostile_file(tmp_path / "list.csv")
    one = imported(floors, tmp_path, source, "one", parallel=False, batch=batch)
    two = imported(floors, tmp_path, source, "two", parallel=True, batch=batch)
    assert two == one
    summary, stored = two
    assert (
        summary["merged"] > 0 and summary["rows_rejected"] == 4 and summary["phones_rejected"] == 3
    )  # the short row too
    assert stored["integrity"] == "ok"
    assert stored["leads"][0][1] == "Owner 1 [b]Lee[/b]"  # text stored as it came (row 0 had no address)


def reader_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid():
            pids.append(int(entry))
    return pids


def test_b2_a_reader_that_dies_stops_the_import_with_one_line_and_whole_batches(floor_address, tmp_path):
    source = tmp_path / "list.csv"
    source.write_text(
        HEADER + "".join(f"Owner {n},{n} Oak St,Miami,FL,33101,,,305555{n:04d},,\n" for n in range(400))
    )
    path = floor_address
    init_database(path, playbook="wholesale", test_clock=True)
    killed = []

    def kill_a_reader(*_: int) -> None:
        if not killed:
            killed.extend(reader_pids())
            os.kill(killed[-1], signal.SIGKILL)

    db = connect(path)
    try:
        with pytest.raises(LeadtuiError, match=r"an import reader stopped \(exit code -9\)"):
            run_import(
                db, source, status="new", now=clock.now(), batch=10, parallel=True, progress=kill_a_reader
            )
        stored = db.conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        assert stored % 10 == 0 and 0 < stored < 400  # whole batches, in order
        assert db.conn.execute("SELECT max(id) FROM leads").fetchone()[0] == stored
        assert sound(db.conn)
    finally:
        db.close()
    assert len(killed) == readers.READERS
    assert reader_pids() == []  # the other reader is gone too
    db = connect(path)
    try:
        summary = run_import(db, source, status="new", now=clock.now(), batch=10, parallel=True)
    finally:
        db.close()
    assert (summary["inserted"], summary["merged"]) == (400 - stored, stored)


def test_small_files_are_read_in_the_importing_process():
    assert not readers.wanted(readers.MIN_BYTES - 1)
    assert readers.wanted(readers.MIN_BYTES) == ((os.cpu_count() or 1) > 1)
