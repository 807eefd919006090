"""Running a floor on PostgreSQL from the command line: `init` on an empty database, `doctor`,
`backup` through pg_dump, the address from --db, LEADTUI_DB or the config's [database] url, and
errors that are one line and never show a password. On the tests' own server (tests/pg_cluster.py)."""

from __future__ import annotations

import itertools
import json
import subprocess

import pytest
from conftest import MANAGER, PIN, REP, run_cli
from pg_cluster import _free_port

from leadtui.service import Service
from leadtui.store import ops
from leadtui.store.pg_schema import MIGRATIONS

PASSWORD = "s3cr3t-Pw"  # the tests' server trusts every local connection: any password is taken
_names = itertools.count(1)


@pytest.fixture
def empty_database(pg_cluster):
    """A database with nothing in it (no leadtui schema): its address; dropped at the end."""
    name = f"empty_ops_{next(_names)}"
    pg_cluster.admin.execute(f"CREATE DATABASE {name}")
    yield pg_cluster.address(name)
    pg_cluster.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def env(cli_env, monkeypatch):
    """conftest's CLI setting on the real clock (the server's floors here are real ones)."""
    monkeypatch.delenv("LEADTUI_NOW")
    return cli_env


@pytest.fixture
def server_env(env, monkeypatch, empty_database):
    """The CLI's LEADTUI_DB an empty database on the tests' server."""
    monkeypatch.setenv("LEADTUI_DB", empty_database)
    return empty_database


def with_password(address: str) -> str:
    return address.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def doctor(*args: str, code: int = 0) -> dict:
    return json.loads(run_cli("doctor", "--json", *args, code=code).stdout)


def test_init_makes_the_schema_on_an_empty_database(server_env):
    before = doctor(code=1)
    assert [c["name"] for c in before["checks"] if not c["ok"]] == ["schema"]
    assert "leadtui init" in before["checks"][-1]["detail"]
    out = json.loads(run_cli("init", "--json").stdout)
    assert out == {"db": server_env, "playbook": "wholesale", "changed": True}
    again = run_cli("init").stdout
    assert "already set up with playbook wholesale" in again
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    run_cli("reps", "add", MANAGER, "--manager", "--pin", input=f"{PIN}\n")
    made = json.loads(
        run_cli(
            "add", "--owner", "Jane Doe", "--phone", "(305) 555-0134", "--address", "12 Main St",
            "--city", "Miami", "--state", "FL", "--zip", "33101", "--json",
        ).stdout
    )  # fmt: skip
    assert json.loads(run_cli("show", str(made["id"]), "--json").stdout)["owner_name"] == "Jane Doe"
    svc = Service.open(server_env)
    try:
        assert svc.db.engine == "postgresql"
        assert [r["name"] for r in svc.db.conn.execute("SELECT name FROM reps ORDER BY name")] == [
            REP,
            MANAGER,
        ]
    finally:
        svc.close()


def test_doctor_on_a_good_floor(server_env):
    run_cli("init")
    report = doctor()
    assert report["ok"] and report["engine"] == "postgresql" and report["db"] == server_env
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == [
        "reachable", "server_version", "track_commit_timestamp", "citext", "schema", "playbook", "row_security",
    ]  # fmt: skip
    assert all(c["ok"] for c in checks.values())
    assert checks["track_commit_timestamp"]["detail"] == "on"
    assert checks["schema"]["detail"] == f"current (version {len(MIGRATIONS)})"
    assert checks["playbook"]["detail"].startswith("wholesale")
    lines = run_cli("doctor").stdout.splitlines()
    assert len(lines) == 7 and all(line.startswith("ok ") for line in lines)


def test_doctor_names_what_is_wrong(server_env):
    run_cli("init")
    with _raw(server_env) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    result = run_cli("doctor", code=1)
    assert "problem  schema" in result.stdout and "newer (version 99" in result.stdout
    assert result.stderr.strip() == "error: 1 problem(s) found: schema"
    with _raw(server_env) as conn:
        conn.execute("UPDATE schema_version SET version = %s", (len(MIGRATIONS),))
        conn.execute("DELETE FROM meta WHERE key = 'playbook'")
    report = doctor(code=1)
    assert [c["name"] for c in report["checks"] if not c["ok"]] == ["playbook"]


def test_doctor_on_commit_timestamps_off():
    """`track_commit_timestamp` is the server's (set at its start, not per database): the tests'
    server has it on, so the check is shown what a server with it off reports."""
    off = ops.commit_timestamp_check("off")
    assert not off.ok and "track_commit_timestamp = on" in off.detail and "restart" in off.detail
    assert ops.commit_timestamp_check("on").ok
    old = ops.server_version_check(120018, "12.18")
    assert not old.ok and "12.18" in old.detail
    assert ops.server_version_check(150018, "15.18").ok


def _raw(address: str):
    import psycopg

    return psycopg.connect(address, autocommit=True)


def test_backup_through_pg_dump_restores(server_env, pg_cluster, tmp_path):
    run_cli("init")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    target = tmp_path / "floor.dump"
    out = json.loads(run_cli("backup", str(target), "--json").stdout)
    assert out["backup"] == str(target) and out["engine"] == "postgresql" and out["entries"] > 10
    assert target.stat().st_mode & 0o077 == 0  # private, like the floor
    assert not list(tmp_path.glob("*.partial"))
    listed = subprocess.run(
        [ops.server_tool("pg_restore"), "--list", str(target)], capture_output=True, text=True, check=True
    )
    assert "TABLE DATA public reps" in listed.stdout
    # never over a file
    result = run_cli("backup", str(target), code=2)
    assert result.stderr.strip() == f"error: {target} exists; back up to a new file"
    # and it restores into a new database, a floor leadtui opens
    name = f"restored_{next(_names)}"
    pg_cluster.admin.execute(f"CREATE DATABASE {name}")
    try:
        restored = pg_cluster.address(name)
        subprocess.run(
            [ops.server_tool("pg_restore"), "--no-owner", f"--dbname={restored}", str(target)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        reps = json.loads(run_cli("reps", "list", "--json", "--db", restored).stdout)
        assert [r["name"] for r in reps] == [REP]
    finally:
        pg_cluster.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_backup_of_an_unreachable_server_is_one_line(env, tmp_path):
    address = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{_free_port()}/nothing"
    target = tmp_path / "floor.dump"
    result = run_cli("backup", str(target), "--db", address, code=2)
    assert PASSWORD not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "pg_dump failed" in result.stderr and "postgres:***@" in result.stderr
    assert not target.exists() and not list(tmp_path.glob("*.partial"))


def test_a_password_is_never_shown(env, pg_cluster, empty_database, monkeypatch):
    secret = with_password(empty_database)
    monkeypatch.setenv("LEADTUI_DB", secret)
    masked = empty_database.replace("postgres@", "postgres:***@", 1)
    assert json.loads(run_cli("init", "--json").stdout)["db"] == masked
    assert json.loads(run_cli("config", "path", "--json").stdout)["db"] == masked
    assert doctor()["db"] == masked
    assert PASSWORD not in run_cli("doctor").stdout
    # messages that name the floor: one without a playbook yet
    unmade = with_password(pg_cluster.database())
    try:
        result = run_cli("leads", "--db", unmade, code=2)
        assert "no playbook stored" in result.stderr and PASSWORD not in result.stderr
    finally:
        pg_cluster.drop(unmade.replace(f":{PASSWORD}@", "@", 1))
    # the server's errors too: a database that is not there, a password given as a parameter
    missing = secret.rsplit("/", 1)[0] + "/no_such_floor"
    for address in (missing, f"{missing}?password={PASSWORD}"):
        result = run_cli("leads", "--db", address, code=2)
        assert PASSWORD not in result.stderr and "no_such_floor" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        result = run_cli("doctor", "--db", address, code=1)
        assert PASSWORD not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("postgresql://postgres:{pw}@127.0.0.1:{port}/floor", "can't reach the database server"),
        ("postgresql://postgres:{pw}@127.0.0.1:notaport/floor", "can't reach the database server"),
        ("postgresql://postgres:{pw}@no-such-host.invalid/floor", "can't reach the database server"),
        ("mysql://root:{pw}@127.0.0.1/floor", "not a database address"),
    ],
)
def test_a_bad_address_is_one_clear_line(env, address, says):
    address = address.format(pw=PASSWORD, port=_free_port())
    for command in (["init"], ["leads"], ["reps", "list"]):
        result = run_cli(*command, "--db", address, code=2)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0], lines
        assert PASSWORD not in lines[0] and "internal error" not in lines[0]
    result = run_cli("doctor", "--db", address, code=1 if says.startswith("can't") else 2)
    assert PASSWORD not in result.stdout + result.stderr


def test_the_address_from_the_config(env, empty_database, monkeypatch):
    """[database] url names the floor when neither --db nor LEADTUI_DB does; --db still wins."""
    monkeypatch.delenv("LEADTUI_DB")
    (env / "config").mkdir()
    (env / "config" / "config.toml").write_text(f'[database]\nurl = "{with_password(empty_database)}"\n')
    masked = empty_database.replace("postgres@", "postgres:***@", 1)
    assert json.loads(run_cli("init", "--json").stdout)["db"] == masked
    assert doctor()["engine"] == "postgresql"
    shown = json.loads(run_cli("config", "show", "--json").stdout)
    assert shown["database"] == {"url": masked}
    local = env / "local.db"
    run_cli("init", "--db", str(local))
    assert doctor("--db", str(local))["engine"] == "sqlite"


def test_the_demo_stays_a_file_of_its_own():
    from leadtui import demo
    from leadtui.errors import LeadtuiError

    with pytest.raises(LeadtuiError, match="SQLite file of its own"):
        demo.ensure_demo("postgresql://postgres@127.0.0.1:1/demo")


def test_the_floors_own_role_makes_it(env, pg_cluster, monkeypatch):
    """As the README says: a role that is no superuser, owning the database, runs `leadtui init`."""
    name = f"owned_{next(_names)}"
    pg_cluster.admin.execute(
        "DO $$ BEGIN CREATE ROLE floor_owner LOGIN; EXCEPTION WHEN duplicate_object THEN END $$"
    )
    pg_cluster.admin.execute(f"CREATE DATABASE {name} OWNER floor_owner")
    try:
        address = pg_cluster.address(name).replace("postgres@", "floor_owner@", 1)
        monkeypatch.setenv("LEADTUI_DB", address)
        run_cli("init")
        assert doctor()["ok"]
    finally:
        pg_cluster.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
