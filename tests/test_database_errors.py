"""B5 for the database itself: locked too long, read-only, not SQLite, corrupt, newer schema."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from leadtui.service import Service, init_database

CLI = [sys.executable, "-m", "leadtui"]


def leadtui(db: Path, *args: str, env: dict | None = None):
    full = {
        **os.environ,
        "LEADTUI_DB": str(db),
        "LEADTUI_DATA_DIR": str(db.parent / "data"),
        "LEADTUI_CONFIG_DIR": str(db.parent / "config"),
        "LEADTUI_NOW": "2026-11-23T15:00:00-05:00",
        **(env or {}),
    }
    full.pop("LEADTUI_CONFIG", None)
    result = subprocess.run(
        CLI + list(args), capture_output=True, text=True, env=full, cwd=db.parent, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def floor(tmp_path):
    path = tmp_path / "leads.db"
    init_database(path, test_clock=True)
    svc = Service.open(path)
    svc.add_rep("alice")
    svc.add_lead(owner_name="Jane Doe", address="12 Main St", zip_code="33101", phones=["305-555-0134"])
    svc.close()
    return path


def dump(path: Path) -> list:
    conn = sqlite3.connect(path)
    try:
        return [
            conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("leads", "phones", "events", "outbox")
        ]
    finally:
        conn.close()


def test_b5_locked_too_long_is_one_line_exit_2_and_nothing_written(floor):
    before = dump(floor)
    holder = sqlite3.connect(floor, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = leadtui(
            floor, "set", "1", "needs-offer", "--rep", "alice", env={"LEADTUI_BUSY_TIMEOUT_MS": "300"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "locked" in result.stderr
    assert dump(floor) == before
    assert leadtui(floor, "set", "1", "needs-offer", "--rep", "alice").returncode == 0


def test_b5_not_sqlite_is_exit_2(tmp_path):
    path = tmp_path / "leads.db"
    path.write_text("owner,address\nJane,12 Main St\n" * 100)
    result = leadtui(path, "show", "1")
    assert result.returncode == 2 and "not a leadtui database" in result.stderr
    assert path.read_text().startswith("owner,address")  # untouched


def test_b5_other_apps_sqlite_file_is_exit_2(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE songs (title TEXT)").connection.commit()
    result = leadtui(path, "leads")
    assert result.returncode == 2 and "not a leadtui database" in result.stderr
    result = leadtui(path, "doctor")
    assert (
        result.returncode == 1
        and "problem  schema" in result.stdout
        and "not a leadtui database" in result.stdout
    )


def test_b5_corrupt_database_is_exit_2(floor):
    data = bytearray(floor.read_bytes())
    data[100 : 4096 * 2] = os.urandom(4096 * 2 - 100)
    floor.write_bytes(bytes(data))
    for name in ("leads.db-wal", "leads.db-shm"):
        (floor.parent / name).unlink(missing_ok=True)
    result = leadtui(floor, "leads")
    assert result.returncode == 2 and result.stderr.startswith("error: ")


def test_b5_newer_schema_is_refused(floor):
    conn = sqlite3.connect(floor)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    result = leadtui(floor, "show", "1")
    assert result.returncode == 2 and "newer leadtui" in result.stderr
    result = leadtui(floor, "doctor")  # says so, and leaves the file as it is
    assert result.returncode == 1 and "problem  schema                  newer (version 999" in result.stdout
    assert result.stderr == "error: 1 problem(s) found: schema\n"
    conn = sqlite3.connect(floor)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 999
    conn.execute("PRAGMA user_version = 1")  # an older floor: `leadtui init` brings it up to date
    conn.close()
    result = leadtui(floor, "doctor", "--json")
    assert (
        result.returncode == 1 and "older (version 1 of" in result.stdout and "leadtui init" in result.stdout
    )


def run_as_nobody(args: list[str], env: dict) -> tuple[int, str]:
    """Run the CLI in a forked child that, when we are root, drops to uid `nobody` first."""
    import leadtui.cli
    import leadtui.config
    import leadtui.service

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 2
        try:
            os.close(read)
            sys.stderr = os.fdopen(write, "w")
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            os.environ.update(env)
            leadtui.cli.cli.main(args, prog_name="leadtui")
        except SystemExit as exc:
            code = exc.code
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        err = pipe.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), err


def test_b5_read_only_database_is_exit_2_and_untouched(floor):
    """Read-only for real: a file and folder the acting user can't write (as root: run as nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="leadtui-ro-"))
    try:
        db = folder / "leads.db"
        conn = sqlite3.connect(floor)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        shutil.copy(floor, db)
        before = dump(db)
        db.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        folder.chmod(0o555)
        code, err = run_as_nobody(
            ["set", "1", "needs-offer", "--rep", "alice"],
            {
                "LEADTUI_DB": str(db),
                "LEADTUI_DATA_DIR": str(folder / "data"),
                "LEADTUI_CONFIG_DIR": str(folder / "config"),
                "LEADTUI_NOW": "2026-11-23T15:00:00-05:00",
            },
        )
        assert "Traceback" not in err
        assert code == 2, err
        assert err.count("\n") == 1 and ("read-only" in err or "can't open" in err), err
        folder.chmod(0o755)
        assert dump(db) == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
