"""F4: who copies the WAL back into the database while an import runs (`Database.job`).

A station's commit makes no checkpoint while an import runs (SQLite's, at COMMIT, copied an
import batch back with the write lock held); the import makes them, and starts the WAL over,
so it doesn't grow with the import. Real SQLite files and connections, nothing timed.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from leadtui.importing import runner
from leadtui.store import db as store_db
from leadtui.store.db import AUTOCHECKPOINT, Gate, connect

pytestmark = pytest.mark.skipif(
    not Gate.available(), reason="the gate needs open file description locks (Linux)"
)


def _fill(db, pages: int) -> None:
    """Commit about `pages` WAL pages through `db.write()`, 50 pages a transaction."""
    for i in range(0, pages, 50):
        with db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [(f"fill{i + j}", os.urandom(3000).hex()) for j in range(50)],
            )


def test_f4_stations_leave_checkpoints_to_a_running_import_and_take_them_back_after(make_service):
    svc = make_service()
    job, station = connect(svc.db.path), connect(svc.db.path)
    try:
        with job.write() as conn:  # the job's first write: its WAL index is there to read
            conn.execute("INSERT INTO meta(key, value) VALUES ('job', 'x')")
        with job.job():
            _fill(station, 3 * AUTOCHECKPOINT)
            assert job.backlog() >= 3 * AUTOCHECKPOINT  # the station copied nothing back
        assert job.backlog() == 0  # the job did, as it ended
        _fill(station, 3 * AUTOCHECKPOINT)
        assert job.backlog() < AUTOCHECKPOINT + 100  # the station's commits checkpoint again
    finally:
        job.close()
        station.close()


def _csv(path, rows: int, street: str) -> None:
    with path.open("w") as f:
        f.write("Owner Name,Address,City,State,Zip,Phone 1\n")
        for i in range(rows):
            f.write(f"Owner {i},{i} {street},Miami,FL,33101,305{200 + i % 700}{i % 10000:04d}\n")


def test_f4_a_long_import_checkpoints_and_starts_the_wal_over_while_a_station_writes(
    make_service, tmp_path, monkeypatch
):
    """A second list, many small batches, a station committing all along: the import copies the
    WAL back and starts it over, so the WAL stays short; at its end little waits to be copied."""
    monkeypatch.setattr(store_db, "JOB_CHECKPOINT", 20)
    monkeypatch.setattr(store_db, "JOB_WAL_RESTART", 100)
    monkeypatch.setattr(runner, "FIRST_BATCH", 50)
    svc = make_service()
    first = tmp_path / "first.csv"
    _csv(first, 200, "Elm St")
    runner.run_import(
        svc.db, first, status="new", now=datetime.now(UTC)
    )  # the second list's indexes are kept
    station = connect(svc.db.path)
    stop = threading.Event()
    commits = []

    def press() -> None:
        while not stop.wait(0.002):
            with station.write() as conn:
                conn.execute("UPDATE leads SET notes = ? WHERE id = 1", (str(len(commits)),))
            commits.append(1)

    seen: list[tuple[int, int]] = []  # (WAL length in pages, WAL file size) after each batch
    wal = f"{svc.db.path}-wal"
    second = tmp_path / "second.csv"
    _csv(second, 4000, "Pine St")
    thread = threading.Thread(target=press)
    thread.start()
    try:
        runner.run_import(
            svc.db,
            second,
            status="new",
            now=datetime.now(UTC),
            batch=50,
            progress=lambda *_: seen.append((svc.db.wal_index()[0], os.path.getsize(wal))),
        )
    finally:
        stop.set()
        thread.join()
        station.close()
    frames = [f for f, _ in seen]
    assert len(seen) > 40 and commits  # many batches, and the station wrote meanwhile
    assert any(b < a for a, b in pairwise(frames))  # the WAL was started over, more than once:
    assert sum(b < a for a, b in pairwise(frames)) >= 2
    page = svc.db.conn.execute("PRAGMA page_size").fetchone()[0]
    written = sum(max(0, b - a) for a, b in pairwise(frames))
    assert max(size for _, size in seen) < written * page  # shorter than all the import wrote
    assert svc.db.backlog() < AUTOCHECKPOINT  # (the station's commits since the import's last copy)
    assert svc.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert svc.db.conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 4200
