"""Issue 17, imports: the rejects file is never written through a link or over a file that isn't ours."""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import pytest
from conftest import read_csv, run_cli

pytestmark = pytest.mark.engines


@pytest.fixture
def cli_env(cli_env, floor_address, monkeypatch):
    """The CLI's floor at the test's address, on its engine."""
    monkeypatch.setenv("LEADTUI_DB", str(floor_address))
    return cli_env


HEADER = "Owner Name,Property Address,City,State,Zip,Phone 1\n"


def floor(cli_env: Path) -> Path:
    run_cli("init", "--test-clock")
    path = cli_env / "list.csv"
    path.write_text(
        HEADER + "Ana Diaz,12 Oak St,Miami,FL,33101,3055550101\nNo Address,,Miami,FL,33101,3055550103\n",
        "utf-8",
    )
    return path


def test_hardening_rejects_file_through_a_planted_link_is_refused(cli_env):
    path = floor(cli_env)
    victim = cli_env / "victim.txt"
    victim.write_text("precious\n", "utf-8")
    os.symlink(victim, cli_env / "list.rejects.csv")  # the default rejects path
    result = run_cli("import", str(path), code=2)
    assert "is a link, not followed" in result.stderr
    assert victim.read_text("utf-8") == "precious\n"


def test_hardening_rejects_file_that_is_not_a_regular_file_is_refused(cli_env):
    path = floor(cli_env)
    os.mkfifo(cli_env / "list.rejects.csv")
    assert "not a file of yours" in run_cli("import", str(path), code=2).stderr


def test_hardening_rejects_file_of_ours_is_written_afresh(cli_env):
    path = floor(cli_env)
    old = cli_env / "list.rejects.csv"
    old.write_text("an old rejects file, much longer than the new one will be\n" * 50, "utf-8")
    run_cli("import", str(path))
    text = old.read_text("utf-8-sig")
    assert text.startswith("line,column,value,reason") and "an old rejects file" not in text
    assert os.stat(old).st_mode & 0o777 in (0o600, 0o644)


def test_hardening_import_header_naming_a_column_twice_is_refused(cli_env):
    run_cli("init", "--test-clock")
    path = cli_env / "dup.csv"
    path.write_text(
        "Owner Name,Property Address,City,State,Zip,Phone,Phone\n"
        "Ana Diaz,12 Oak St,Miami,FL,33101,3055550101,3055550102\n",
        "utf-8",
    )
    result = run_cli("import", str(path), code=2)
    assert "names column 'Phone' twice (columns 6 and 7)" in result.stderr
    assert "Ana Diaz" not in run_cli("leads", "--json").stdout  # nothing half-imported


def test_hardening_import_an_unused_column_named_twice_is_fine(cli_env):
    run_cli("init", "--test-clock")
    path = cli_env / "dup.csv"
    path.write_text(
        "Owner Name,Property Address,City,State,Zip,Phone 1,Notes,Notes\n"
        "Ana Diaz,12 Oak St,Miami,FL,33101,3055550101,a,b\n",
        "utf-8",
    )
    run_cli("import", str(path))


def test_hardening_import_short_row_is_rejected_whole_with_its_line(cli_env):
    import json

    run_cli("init", "--test-clock")
    path = cli_env / "short.csv"
    path.write_text(
        "Owner Name,Property Address,City,State,Zip,Phone 1\n"
        "Ana Diaz,12 Oak St,Miami,FL,33101,3055550101\n"
        "only three,cells,here\n",
        "utf-8",
    )
    result = json.loads(run_cli("import", str(path), "--json").stdout)
    assert (result["inserted"], result["rows_rejected"]) == (1, 1)
    rows = read_csv(result["rejects_path"])
    assert rows[1][0] == "3" and "3 cells" in rows[1][3] and "cut off" in rows[1][3]
    assert "only three" not in run_cli("leads", "--json").stdout


def test_hardening_inbox_import_bad_line_is_named_and_nothing_half_written(cli_env):
    import json

    run_cli("init", "--test-clock")
    path = cli_env / "replies.csv"
    path.write_text(
        "From,Body,Received At\n"
        "(305) 555-0101,yes call me,2026-11-23T14:00:00-05:00\n"
        "(305) 555-0102,too late,9999-12-31T23:59:59-14:00\n"
        "(305) 555-0103,ok,2026-11-23T14:05:00-05:00\n",
        "utf-8",
    )
    result = json.loads(run_cli("inbox", "import", str(path), "--json").stdout)
    assert (result["added"], result["rejected"]) == (2, 1)
    assert result["rejects"][0]["line"] == 3 and "9999-12-31" in result["rejects"][0]["reason"]
    again = json.loads(run_cli("inbox", "import", str(path), "--json").stdout)
    assert (again["added"], again["duplicates"]) == (0, 2)


def test_hardening_import_of_a_fifo_or_a_runaway_header_is_refused_at_once(cli_env):
    run_cli("init", "--test-clock")
    fifo = cli_env / "pipe.csv"
    os.mkfifo(fifo)
    assert "not a regular file" in run_cli("import", str(fifo), code=2).stderr
    assert "not a regular file" in run_cli("inbox", "import", str(fifo), code=2).stderr
    wide = cli_env / "wide.csv"
    with open(wide, "w", encoding="utf-8") as f:  # 2 MB on one line: a header of 1,000,000 columns
        f.write("a," * 1_000_000)
    assert "no line ends within its first 1024 KiB" in run_cli("import", str(wide), code=2).stderr


def test_hardening_import_of_a_file_truncated_meanwhile_says_so_and_a_rerun_completes_it(
    tmp_path, floor_address
):
    from datetime import datetime

    from leadtui.importing.runner import run_import
    from leadtui.service import Service, init_database

    path = tmp_path / "list.csv"
    lines = [f"Owner {i},{i} Oak St,Miami,FL,33101,305555{i:04d}\n" for i in range(400)]
    path.write_text(HEADER + "".join(lines), "utf-8")
    db_path = floor_address
    init_database(db_path, test_clock=True)
    svc = Service.open(db_path)
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    cut = []

    def truncate_once(position: int, size: int, rows: int) -> None:
        if not cut:
            cut.append(position)
            with open(path, "r+b") as f:
                f.truncate(size // 3)

    try:
        summary = run_import(
            svc.db, path, status="new", now=now, progress=truncate_once, batch=20, parallel=False
        )
        assert summary["file_changed"] and summary["inserted"] < 400
        path.write_text(HEADER + "".join(lines), "utf-8")  # the whole file again
        again = run_import(svc.db, path, status="new", now=now, batch=20, parallel=False)
        assert not again["file_changed"]
        assert svc.db.conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 400
    finally:
        svc.close()
