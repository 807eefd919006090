"""Shared fixtures: a real SQLite file per test, a clock the test moves, a small floor.

    def test_something(make_service, clock):
        svc = make_service()                 # wholesale; reps alice, boss, newbie added
        lead = add_lead(svc)                 # Miami FL, one phone "(305) 555-0101"
        svc.set_status(lead["id"], "needs-offer", REP)
        clock.advance(minutes=11)

`make_service(playbook="wholesale")` opens a Service on tmp_path/"leads.db" with the
injected clock, the floor's day in New York, delay_seconds=30 and contracts_dir=tmp_path/"contracts". Calling it
again returns a second station on the same file (same playbook). No mocks anywhere.
"""

from __future__ import annotations

import csv
import os
import pty
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from leadtui import config
from leadtui.automation.worker import Worker
from leadtui.cli import cli
from leadtui.service import Service, init_database
from leadtui.store.db import connect

NY = ZoneInfo("America/New_York")
START = datetime(2026, 11, 23, 15, 0, tzinfo=NY)  # a Monday, inside calling hours in Miami

REP = "alice"  # a rep past her first 30 days (started 2025-01-01)
MANAGER = "boss"  # a manager, PIN below
PIN = "482916"
NEWBIE = "newbie"  # a rep who started yesterday (first 30 days: W13)


class Clock:
    """The service's `now`: pass `clock.now`; move it with `clock.advance(minutes=11)`."""

    def __init__(self, start: datetime = START):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        """Move forward by timedelta(**delta); returns the new time."""
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> datetime:
        self.current = moment
        return moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


def add_reps(svc: Service, today: date) -> None:
    """The standard floor: alice (veteran rep), boss (manager, PIN 482916), newbie (started yesterday).
    The reps come first: once a manager exists, adding a rep needs a manager's PIN."""
    svc.add_rep(REP, started=date(2025, 1, 1))
    svc.add_rep(NEWBIE, started=today - timedelta(days=1))
    svc.add_rep(MANAGER, manager=True, started=date(2024, 1, 1), pin=PIN)


def add_lead(svc: Service, *, phones: int | list[str] = 1, **fields) -> dict:
    """A Miami FL lead with unique address and `phones` numbers "(305) 555-01xx" (or the given list).

    Keyword fields go to Service.add_lead (owner_name, address, mailing_address, notes, ...).
    """
    n = svc.db.conn.execute("SELECT count(*) FROM leads").fetchone()[0] + 1
    if isinstance(phones, int):
        used = svc.db.conn.execute("SELECT count(*) FROM phones").fetchone()[0]
        phones = [f"(305) 555-{101 + used + i:04d}" for i in range(phones)]
    args = {
        "owner_name": f"Owner {n}",
        "address": f"{100 + n} Ocean Dr",
        "city": "Miami",
        "state": "FL",
        "zip_code": "33139",
        **fields,
    }
    return svc.add_lead(phones=phones, **args)


# --- the engines: a module runs on both with `pytestmark = pytest.mark.engines` -------------------

ENGINES = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line("markers", "engines: run the module's floors on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "engine" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("engines") is not None
        metafunc.parametrize("engine", ENGINES if both else ENGINES[:1], scope="function")


@pytest.fixture(scope="session")
def pg_cluster():
    """The tests' PostgreSQL server (tests/pg_cluster.py), started at its first use."""
    from pg_cluster import Cluster

    cluster = Cluster()
    yield cluster
    cluster.stop()


def _address(engine: str, tmp_path: Path, request, name: str):
    """A database for the test on its engine: tmp_path/name, or an empty one on the tests' server."""
    if engine == "sqlite":
        yield tmp_path / name
        return
    cluster = request.getfixturevalue("pg_cluster")
    address = cluster.database()
    yield address
    cluster.drop(address)


@pytest.fixture
def floor_address(engine, tmp_path, request):
    """The test's database: tmp_path/"leads.db", or a fresh database on the tests' PostgreSQL server."""
    yield from _address(engine, tmp_path, request, "leads.db")


@pytest.fixture
def fresh(engine, tmp_path, request):
    """A second floor's address (not made yet), on the test's engine."""
    yield from _address(engine, tmp_path, request, "fresh.db")


@pytest.fixture
def make_service(floor_address, clock, tmp_path):
    """Factory: make_service(playbook="wholesale", reps=True, **service_kwargs) -> Service."""
    opened: list[Service] = []
    made: list[bool] = []

    def make(playbook: str = "wholesale", *, reps: bool = True, **kwargs) -> Service:
        path = floor_address
        first = not made
        made.append(True)
        init_database(path, playbook, test_clock=True)
        options = {
            "now": clock.now,
            "zone": NY,  # the floor's day (W20) is New York's on any host
            "delay_seconds": 30,
            "contracts_dir": tmp_path / "contracts",
            **kwargs,
        }
        svc = Service(connect(path), **options)
        opened.append(svc)
        if first and reps:
            add_reps(svc, clock.now().date())
        return svc

    yield make
    for svc in opened:
        svc.close()


# --- the command line ---------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch, floor_address):
    """An isolated floor for CLI tests: data and config under tmp_path, the clock at START, the
    database the test's `floor_address` (tmp_path/"leads.db", or on the tests' PostgreSQL server in
    a module marked `engines`: there it has the schema already, `leadtui init` stores the playbook)."""
    monkeypatch.setenv("LEADTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LEADTUI_DB", str(floor_address))
    monkeypatch.setenv("LEADTUI_NOW", START.isoformat())
    monkeypatch.setenv("TZ", "America/New_York")  # the system's zone: the floor's day (W20)
    for name in ("LEADTUI_REP", "LEADTUI_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def read_csv(path: str | Path) -> list[list[str]]:
    """The rows of a CSV file leadtui wrote (UTF-8 with a BOM, as a spreadsheet wants it)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def run_cli(*args: str, input: str | None = None, code: int = 0):
    """`leadtui ARGS` in-process; asserts the exit code, and for a failure an error line last, no traceback."""
    result = CliRunner().invoke(cli, list(args), input=input)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    if code:
        lines = result.stderr.strip().splitlines()
        assert "Traceback" not in result.stderr and lines, result.stderr
        assert lines[-1].startswith(("error: ", "refused: ")), result.stderr
    return result


def on_a_terminal(args: list[str], env: dict) -> tuple[subprocess.CompletedProcess, bytes]:
    """`leadtui ARGS` in a process of its own with stderr on a real pseudo-terminal (stdout piped):
    the process and everything it showed on the terminal."""
    master, slave = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "leadtui", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc, shown


# --- the automation worker (used with `pytestmark = pytest.mark.usefixtures("isolated_dirs")`) ---


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """The user's data and config folders under tmp_path (the default automation log lives there)."""
    monkeypatch.setenv("LEADTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADTUI_CONFIG_DIR", str(tmp_path / "conf"))


@pytest.fixture
def open_worker(make_service, clock):
    """open_worker(cfg) -> a Worker on the test database with the test clock; closed at teardown."""
    opened: list[Worker] = []

    def make(cfg: config.Config, **kwargs) -> Worker:
        svc = make_service()
        worker = Worker.open(svc.db.path, cfg, now=clock.now, **kwargs)
        opened.append(worker)
        return worker

    yield make
    for worker in opened:
        worker.close()
