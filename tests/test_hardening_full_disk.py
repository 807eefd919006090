"""Hardening 13: a full disk. A write that finds no room says so in one line, naming the floor
(SQLite's "database or disk is full", which a ROLLBACK of a transaction SQLite had already
rolled back used to hide), exits 2, and stores nothing half: an import keeps the batches it
stored whole and says how many; a station's writer reports it and goes on.

SQLite's own size limit (`PRAGMA max_page_count`) stands in for the full disk: past it SQLite
raises the same SQLITE_FULL a disk without room gives. It is set on every connection leadtui
opens to the floor (a disk's limit holds for them all), at the pages the floor has then plus `room`.
"""

from __future__ import annotations

import csv
import queue
import sqlite3
from pathlib import Path

import pytest
from conftest import REP, add_lead, run_cli

from leadtui.errors import LeadtuiError, Refused
from leadtui.service.writer import Job, Writer

ROWS = 5000  # the list to import: far more than the room left


@pytest.fixture
def floor(cli_env):
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    return cli_env / "leads.db"


@pytest.fixture
def disk(monkeypatch, floor):
    """`disk(room)`: from now on the floor's connections can add only `room` pages to it."""

    def limit(room: int) -> None:
        connect = sqlite3.connect

        def limited(database, *args, **kwargs):
            conn = connect(database, *args, **kwargs)
            if Path(database).resolve() == floor.resolve():
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {pages + room}")
            return conn

        monkeypatch.setattr(sqlite3, "connect", limited)

    yield limit
    monkeypatch.undo()


def dump(path: Path) -> list:
    with sqlite3.connect(path) as conn:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("leads", "phones", "events", "outbox", "meta")
        ]


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def add(*extra: str, code: int = 0):
    return run_cli(
        "add", "--rep", REP, "--owner", "Jo Smith", "--phone", "305-555-0101", "--address", "1 Full St",
        "--city", "Miami", "--state", "FL", "--zip", "33139", *extra, code=code,
    )  # fmt: skip


def test_hardening_full_disk_add_says_the_disk_is_full_and_stores_nothing(floor, disk):
    notes = " ".join(f"word{i}" for i in range(4000))  # ~36 KB: pages the floor has no room for
    disk(0)
    before = dump(floor)
    line = one_error_line(add("--notes", notes, code=2))
    assert "the disk is full" in line and str(floor) in line, line
    assert "cannot rollback" not in line
    assert dump(floor) == before
    disk(100)  # room made: the same lead goes in, once
    add("--notes", notes)
    assert len(dump(floor)[0]) == len(before[0]) + 1


def write_list(path: Path, rows: int, first: int = 0) -> list[list[str]]:
    """A generic list: row i is `Owner i` at `i Elm St`, with two phones of its own."""
    table = [
        [f"Owner {i}", f"{i} Elm St", "Miami", "FL", "33139", f"(305) 2{i // 10000:02d}-{i % 10000:04d}",
         f"(786) 3{i // 10000:02d}-{i % 10000:04d}"]
        for i in range(first, first + rows)
    ]  # fmt: skip
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Owner Name", "Address", "City", "State", "Zip", "Phone 1", "Phone 2"])
        out.writerows(table)
    return table


def stored(path: Path) -> dict[str, list[str]]:
    """Each lead's address and its phones, in order."""
    with sqlite3.connect(path) as conn:
        phones: dict[str, list[str]] = {}
        for address, number in conn.execute(
            "SELECT l.address, p.number FROM leads l LEFT JOIN phones p ON p.lead_id = l.id"
            " ORDER BY l.id, p.position"
        ):
            phones.setdefault(address, []).extend([number] if number else [])
        return phones


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "floor-with-leads"])
def test_hardening_full_disk_import_keeps_whole_batches_and_says_how_many(floor, disk, tmp_path, first_load):
    if not first_load:
        write_list(tmp_path / "earlier.csv", 20, first=100_000)
        run_cli("import", str(tmp_path / "earlier.csv"), "--rep", REP)
    before = stored(floor)
    table = write_list(tmp_path / "list.csv", ROWS)
    disk(60)  # ~240 KB: a few batches of the list
    line = one_error_line(run_cli("import", str(tmp_path / "list.csv"), "--rep", REP, code=2))
    assert "the disk is full" in line and str(floor) in line, line
    after = stored(floor)
    new = {address: phones for address, phones in after.items() if address not in before}
    assert 0 < len(new) < ROWS
    assert f"{len(new)} new" in line, line
    # whole batches, in the file's order: the first rows, each with both its phones
    expected = {
        row[1]: [f"+1305{row[5][6:9]}{row[5][10:]}", f"+1786{row[6][6:9]}{row[6][10:]}"] for row in table
    }
    assert list(new) == [row[1] for row in table[: len(new)]]
    assert all(phones == expected[address] for address, phones in new.items())
    with sqlite3.connect(floor) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        recorded = sum(
            n for (n,) in conn.execute("SELECT data ->> 'inserted' FROM events WHERE kind = 'import'")
        )
    assert recorded == len(after)  # each stored lead came with its batch's event
    disk(100_000)  # room made: the re-run stores the rest, none twice
    run_cli("import", str(tmp_path / "list.csv"), "--rep", REP)
    assert len(stored(floor)) == len(before) + ROWS


def test_hardening_full_disk_station_writer_reports_it_and_goes_on(make_service):
    svc = make_service()
    lead = add_lead(svc)["id"]
    results: queue.SimpleQueue = queue.SimpleQueue()
    writer = Writer(svc, lambda fn: fn())
    pages = svc.db.conn.execute("PRAGMA page_count").fetchone()[0]
    svc.db.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full: what is left in pages only

    def key(call) -> object:
        writer.submit(Job(lead, call, lambda result, after: results.put(result)))
        return results.get(timeout=30)

    try:
        result: object = None
        for press in range(2000):  # the rep keeps working the lead until the floor has no room
            before = dump(svc.db.path)
            result = key(
                (lambda s, seen: s.claim(lead, REP))
                if press % 2 == 0
                else (lambda s, seen: s.release(lead, REP))
            )
            if isinstance(result, Exception):
                break
        assert isinstance(result, LeadtuiError) and not isinstance(result, Refused), result
        assert "the disk is full" in str(result) and str(svc.db.path) in str(result)
        assert dump(svc.db.path) == before  # nothing of that key stored
        svc.db.conn.execute(f"PRAGMA max_page_count = {pages + 100}")  # room made
        again = key(
            (lambda s, seen: s.claim(lead, REP)) if press % 2 == 0 else (lambda s, seen: s.release(lead, REP))
        )
        assert not isinstance(again, Exception), again
    finally:
        writer.close()
