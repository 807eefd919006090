"""B2/B5 with real subprocesses: an import killed part-way (SIGKILL) leaves a sound database and a
re-run completes it with no duplicates; a backup taken while an import writes is a consistent copy."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leadtui.importing.readers import MIN_BYTES
from leadtui.store.db import connect

ROWS = 80_000  # four batches (runner.BATCH): enough to be caught mid-way, small enough to stay quick
LEADTUI = [sys.executable, "-m", "leadtui"]


def start_import(tmp_path, readers: bool = False, address=None) -> tuple[dict, object, object]:
    """A database, a CSV of ROWS leads with two phones each, and `leadtui import` running on it
    in a subprocess; returns once its first batch is committed. With `readers`, each row
    carries a long note, so the file is big enough to be read by reading processes. The floor is
    `address` (a SQLite file by default), read back through a sqlite3 connection or, on a server,
    the store's connection (which reads like one)."""
    address = address or tmp_path / "leads.db"
    env = {
        **os.environ,
        "LEADTUI_DB": str(address),
        "LEADTUI_NOW": "2026-11-23T15:00:00-05:00",
        "TMPDIR": str(tmp_path / "scratch"),  # where the import stages its batches
        "LEADTUI_CONFIG_DIR": str(tmp_path / "config"),
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("LEADTUI_REP", None)
    (tmp_path / "scratch").mkdir()
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("Owner Name,Address,City,State,Zip,Phone 1,Phone 2,Notes\n")
        note = "n" * (MIN_BYTES // ROWS) if readers else ""
        for i in range(ROWS):
            f.write(
                f"Owner {i},{i} Oak St,Miami,FL,33101,305{200 + i % 700}{i % 10000:04d},786555{i % 10000:04d},{note}\n"
            )
    assert (path.stat().st_size >= MIN_BYTES) == readers
    subprocess.run([*LEADTUI, "init", "--test-clock"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*LEADTUI, "import", str(path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    db = sqlite3.connect(address, timeout=10) if isinstance(address, Path) else connect(address).conn
    deadline = time.monotonic() + 60
    while db.execute("SELECT count(*) FROM leads").fetchone()[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    return env, proc, db


def reader_pids(tmp_path) -> list[int]:
    """The import's reading processes (importing.readers) still running."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace")
        except OSError:
            continue
        if "leadtui.importing.readers" in args and str(tmp_path) in args:
            pids.append(int(entry))
    return pids


@pytest.mark.engines
@pytest.mark.parametrize("readers", [False, True], ids=["one process", "reading processes"])
def test_b2_killed_import_is_consistent_and_a_rerun_adds_no_duplicates(tmp_path, readers, floor_address):
    env, proc, db = start_import(tmp_path, readers, floor_address)
    sqlite = isinstance(floor_address, Path)
    path = tmp_path / "big.csv"
    if sqlite:  # (on a server the first 20,000-row batch commits later: two readers may have read all four)
        assert bool(reader_pids(tmp_path)) == readers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while reader_pids(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader_pids(tmp_path) == []  # readers stop by themselves once the import is gone
    if sqlite:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = db.execute("SELECT count(*) FROM leads").fetchone()[0]
    assert 0 < stored < ROWS  # killed part-way, whole batches kept
    batches = [json.loads(r[0]) for r in db.execute("SELECT data FROM events WHERE kind = 'import'")]
    assert sum(b["inserted"] for b in batches) == stored
    assert db.execute("SELECT count(*) FROM phones").fetchone()[0] == 2 * stored
    assert [p.name[:15] for p in (tmp_path / "scratch").iterdir()] == ["leadtui-import-"]  # left by the kill
    # a first load: the owner and phone indexes and search were left for its end, which never came
    deferred = {
        "leads_owner_key",
        "phones_number",
        "leads_fts_insert",
        "leads_fts_update",
        "leads_fts_delete",
    }
    if sqlite:
        assert not deferred & {r[0] for r in db.execute("SELECT name FROM sqlite_schema")}

    rerun = subprocess.run(
        [*LEADTUI, "import", str(path), "--json"], env=env, capture_output=True, text=True, check=False
    )
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert (summary["inserted"], summary["merged"]) == (ROWS - stored, stored)
    assert db.execute("SELECT count(*), count(DISTINCT address_key) FROM leads").fetchone() == (ROWS, ROWS)
    assert db.execute("SELECT count(*) FROM phones").fetchone()[0] == 2 * ROWS
    assert list((tmp_path / "scratch").iterdir()) == []  # the re-run deleted the dead import's scratch
    assert db.execute("SELECT max(id) FROM leads").fetchone()[0] == ROWS  # ids without a gap
    if not sqlite:  # (a server keeps its indexes: nothing was deferred, nothing to build back)
        db.close()
        return
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert deferred <= {
        r[0] for r in db.execute("SELECT name FROM sqlite_schema")
    }  # built back by the re-run
    db.execute("INSERT INTO leads_fts(leads_fts) VALUES ('integrity-check')")
    assert db.execute("SELECT count(*) FROM leads_fts WHERE leads_fts MATCH 'oak'").fetchone()[0] == ROWS
    db.close()


def test_backup_while_an_import_writes_is_a_consistent_copy(tmp_path):
    env, proc, db = start_import(tmp_path, readers=True)
    target = tmp_path / "copy.db"
    backup = subprocess.run(
        [*LEADTUI, "backup", str(target)], env=env, capture_output=True, text=True, check=False
    )
    proc.wait()
    assert backup.returncode == 0, backup.stderr
    assert proc.returncode == 0
    assert db.execute("SELECT count(*), count(DISTINCT address_key) FROM leads").fetchone() == (ROWS, ROWS)
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    leads = copy.execute("SELECT count(*) FROM leads").fetchone()[0]
    batches = [json.loads(r[0]) for r in copy.execute("SELECT data FROM events WHERE kind = 'import'")]
    assert 0 < leads == sum(b["inserted"] for b in batches)  # whole batches, leads and events together
    assert copy.execute("SELECT count(*) FROM phones").fetchone()[0] == 2 * leads
    copy.close()
    db.close()
