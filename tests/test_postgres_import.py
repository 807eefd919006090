"""An import on a PostgreSQL floor runs beside the stations (issue 14's "no key waits behind an
import", on a server): a batch holds the floor's lock shared and the imports' own, and locks only
the stored leads it merges into. A station's key on any other lead commits while a batch is open;
a key on a lead the batch merges into waits for it, and both changes are kept.

A batch is held open for real: another station's write holds a lead the batch merges into
(its row lock), so the batch, having locked the leads before it, waits there. PostgreSQL only
(SQLite has one writer at a time: its import's batches hold the file's write lock, F4).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import NY, REP, add_lead, add_reps

from leadtui.importing.runner import run_import
from leadtui.service import Service, init_database
from leadtui.store.db import connect

HEADER = "Owner Name,Address,City,State,Zip,Phone 1,Phone 2,Status\n"


@pytest.fixture
def floor(pg_cluster):
    address = pg_cluster.database()
    yield address
    pg_cluster.drop(address)


@pytest.fixture
def stations(floor, clock, tmp_path):
    """stations(n) -> n Services on the floor (reps added by the first)."""
    opened: list[Service] = []

    def make(n: int) -> list[Service]:
        init_database(floor, "wholesale", test_clock=True)
        for _ in range(n):
            svc = Service(
                connect(floor), now=clock.now, zone=NY, delay_seconds=30, contracts_dir=tmp_path / "c"
            )
            if not opened:
                add_reps(svc, clock.now().date())
            opened.append(svc)
        return opened[-n:]

    yield make
    for svc in opened:
        svc.close()


class Import(threading.Thread):
    """`run_import` of `path` on a connection of its own, in a thread; its error kept for `join`."""

    def __init__(self, floor: str, path: Path, svc: Service):
        super().__init__(daemon=True)
        self.floor, self.path, self.svc = floor, path, svc
        self.summary: dict | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        db = connect(self.floor)
        try:
            self.summary = run_import(db, self.path, status=self.svc.playbook.initial, now=self.svc.now())
        except BaseException as exc:  # noqa: BLE001 (raised again in the test's thread)
            self.error = exc
        finally:
            db.close()

    def result(self) -> dict:
        self.join(60)
        assert not self.is_alive(), "the import did not finish"
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        return self.summary


def waiting_for_locks(svc: Service, count: int) -> None:
    """Until `count` sessions on the floor's database wait for a lock (a bounded wait, not a timing)."""
    for _ in range(6000):
        found = svc.db.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]
        if found >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"{count} sessions never waited for a lock")


def a_list(tmp_path: Path, *leads: dict) -> Path:
    """A CSV naming the given stored leads (a new phone each) and one new property."""
    rows = [
        f"{lead['owner_name']},{lead['address']},Miami,FL,33139,(305) 555-09{n:02d},,"
        for n, lead in enumerate(leads)
    ]
    rows.append("New Owner,7 Bay Rd,Miami,FL,33139,(305) 555-0990,,")
    path = tmp_path / "list.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def phones(svc: Service, lead_id: int) -> list[str]:
    rows = svc.db.conn.execute("SELECT number FROM phones WHERE lead_id = ? ORDER BY position", (lead_id,))
    return [row[0] for row in rows]


def test_a_station_key_on_another_lead_commits_while_an_import_batch_is_open(stations, floor, tmp_path):
    svc, holder, key = stations(3)
    merged, held, other = add_lead(svc), add_lead(svc), add_lead(svc)
    job = Import(floor, a_list(tmp_path, merged, held), svc)
    with holder.db.write(lead=held["id"]):  # a station's write on a lead the batch merges into
        job.start()
        waiting_for_locks(svc, 1)  # the batch: floor shared, imports' lock, `merged` locked, waits for `held`
        key.set_status(other["id"], "needs-offer", REP)  # commits now: the batch holds nothing of it
        assert key.lead(other["id"])["status"] == "needs-offer"
        waiting_for_locks(svc, 1)  # and the batch is still open, waiting
        assert job.is_alive()
    summary = job.result()
    assert (summary["inserted"], summary["merged"], summary["phones_added"]) == (1, 2, 2)
    assert phones(svc, merged["id"])[-1] == "+13055550900"
    assert svc.lead(other["id"])["status"] == "needs-offer"


def test_a_key_on_a_lead_the_batch_merges_into_waits_for_it_and_both_changes_stay(stations, floor, tmp_path):
    svc, holder, key = stations(3)
    merged, held = add_lead(svc), add_lead(svc)
    job = Import(floor, a_list(tmp_path, merged, held), svc)
    pressed: list[BaseException | None] = []

    def press() -> None:
        try:
            key.set_status(merged["id"], "needs-offer", REP)
            pressed.append(None)
        except BaseException as exc:  # noqa: BLE001 (told in the test's thread)
            pressed.append(exc)

    station = threading.Thread(target=press, daemon=True)
    with holder.db.write(lead=held["id"]):
        job.start()
        waiting_for_locks(svc, 1)  # the batch holds `merged`, waits for `held`
        station.start()
        waiting_for_locks(svc, 2)  # the key on `merged` waits for the batch
        assert not pressed
    station.join(60)
    assert pressed == [None]
    summary = job.result()
    assert (summary["inserted"], summary["merged"], summary["phones_added"]) == (1, 2, 2)
    lead = svc.lead(merged["id"])
    assert lead["status"] == "needs-offer"  # the station's change
    assert phones(svc, merged["id"])[-1] == "+13055550900"  # and the batch's


def test_a_staged_batch_reaches_the_server_exactly(floor):
    """SQLite writes the COPY text of a batch itself (store.pg_imports._copy): tabs, newlines,
    backslashes, COPY's own markers and any double arrive as they were; a NUL (which a server's
    text can't hold) as U+FFFD."""
    import sqlite3

    import psycopg

    from leadtui.store.pg_imports import _copy

    rows = [
        (1, "a\tb\nc\rd\\e\\.", 0.1, 5),
        (2, None, None, None),
        (3, "x\x00y", 1e200, -3),
        (4, "é ☃ \\N", 2.5e-300, 2**62),
        (5, "\\.", 1.7976931348623157e308, 0),
        (6, "", 1 / 3, 1),
    ]
    source = sqlite3.connect(":memory:")
    source.execute("CREATE TABLE x(seq, a, d, n)")
    source.executemany("INSERT INTO x VALUES (?, ?, ?, ?)", rows)
    with psycopg.connect(floor, autocommit=True) as server:
        server.execute("CREATE TEMP TABLE t(seq bigint, a text, d double precision, n bigint)")
        kinds = ["bigint", "text", "double precision", "bigint"]
        _copy(server.cursor(), source, "t", ["seq", "a", "d", "n"], kinds, "SELECT * FROM x")
        stored = server.execute("SELECT * FROM t ORDER BY seq").fetchall()
    rows[2] = (3, "x\ufffdy", 1e200, -3)
    assert stored == rows
