"""A first import into an empty database builds its lookup indexes and search at the end
(store.indexes); whoever opens the database after a killed one builds them back.

That is SQLite's (its FTS, schema and file lease): on PostgreSQL nothing is deferred. The tests
marked `engines` hold on both: what a first load matches, and that a load defers nothing there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leadtui import clock
from leadtui.errors import LeadtuiError
from leadtui.importing.runner import run_import
from leadtui.service import Service, init_database
from leadtui.store import indexes
from leadtui.store.db import connect
from leadtui.store.lease import Lease

HEADER = "Owner Name,Address,City,State,Zip,Phone 1\n"


def schema(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL"))


def search(path: Path, words: str) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM leads_fts WHERE leads_fts MATCH ? ORDER BY rowid", (words,)
            )
        ]


def csv_of(tmp_path: Path, name: str, owners: list[str]) -> Path:
    path = tmp_path / name
    rows = "".join(f"{owner},{n + 1} Oak St,Miami,FL,33101,305555{n:04d}\n" for n, owner in enumerate(owners))
    path.write_text(HEADER + rows)
    return path


@pytest.fixture
def fresh(floor_address) -> Path:
    init_database(floor_address, playbook="wholesale", test_clock=True)
    return floor_address


def test_a_first_import_leaves_the_schema_as_a_fresh_database_has_it_and_search_finds_every_lead(
    fresh, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        indexes, "FILL", 2
    )  # search filled over several transactions, between batches and at the end
    before = schema(fresh)
    db = connect(fresh)
    try:
        summary = run_import(
            db,
            csv_of(tmp_path, "first.csv", [f"Owner{n} Lee" for n in range(10)]),
            status="new",
            now=clock.now(),
            batch=4,
        )
    finally:
        db.close()
    assert summary["inserted"] == 10
    assert schema(fresh) == before  # every index and trigger back, the guard gone
    assert search(fresh, "lee") == list(range(1, 11))
    assert search(fresh, "owner7") == [8]
    with sqlite3.connect(fresh) as conn:
        conn.execute("INSERT INTO leads_fts(leads_fts) VALUES ('integrity-check')")
        assert conn.execute("SELECT count(*) FROM meta WHERE key = ?", (indexes.MARK,)).fetchone()[0] == 0
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT lead_id FROM phones WHERE number = '+13055550001'"
        ).fetchall()
        assert "phones_number" in str([tuple(r) for r in plan])


@pytest.mark.engines
def test_an_import_into_a_database_with_leads_defers_nothing(fresh, tmp_path):
    db = connect(fresh)
    try:
        run_import(db, csv_of(tmp_path, "first.csv", ["Ann Lee"]), status="new", now=clock.now())
        assert indexes.defer(db, tmp_path) is False
        assert indexes.MARK not in {r[0] for r in db.conn.execute("SELECT key FROM meta")}
    finally:
        db.close()


@pytest.mark.engines
def test_a_first_load_on_a_server_defers_nothing_and_search_finds_every_lead(fresh, tmp_path, engine):
    db = connect(fresh)
    try:
        if engine == "postgresql":  # (SQLite's deferral: the test above and below)
            assert indexes.defer(db, tmp_path) is False
        run_import(
            db,
            csv_of(tmp_path, "first.csv", [f"Owner{n} Lee" for n in range(10)]),
            status="new",
            now=clock.now(),
            batch=4,
        )
        svc = Service(db, now=clock.now)
        assert [lead["id"] for lead in svc.search(text="lee")] == list(range(1, 11))
        assert [lead["id"] for lead in svc.search(text="owner7")] == [8]
        assert indexes.MARK not in {r[0] for r in db.conn.execute("SELECT key FROM meta")}
        added = svc.add_lead(owner_name="After Load", address="1 Pine St", phones=["(305) 555-7777"])
        assert added["id"] == 11  # the load's ids given, the next lead's follows them
    finally:
        db.close()


def test_what_a_running_import_deferred_is_left_to_it_and_built_back_once_its_lease_is_gone(fresh, tmp_path):
    before = schema(fresh)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    lease = Lease(scratch)
    db = connect(fresh)
    assert indexes.defer(db, scratch) is True
    with db.write() as conn:  # rows the import stored before it was killed
        for n in range(3):
            conn.execute(
                "INSERT INTO leads(owner_name, address, status, created_at, updated_at)"
                " VALUES (?, ?, 'new', '2026-11-23', '2026-11-23')",
                (f"Owner{n}", f"{n} Elm St"),
            )
    db.close()
    dropped = {name for name, _ in before - schema(fresh)}
    assert dropped == {*indexes.INDEXES, *indexes.TRIGGERS}

    heard: list[str] = []
    connect(
        fresh, notice=heard.append
    ).close()  # another station opens while the import runs: it leaves the work alone
    assert {name for name, _ in before - schema(fresh)} == dropped and heard == []
    assert search(fresh, "elm") == []
    db = connect(fresh)
    try:  # the running import matches on keys of its own: a second one waits; names and addresses stay put
        with pytest.raises(LeadtuiError, match="another import is loading"):
            run_import(db, csv_of(tmp_path, "second.csv", ["Bo Li"]), status="new", now=clock.now())
        for edit in (
            "address = '9 Elm St', address_key = '9 elm st'",
            "owner_name = 'Ann Lee-Smith'",
            "apn = '12-3'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="a lead list is being imported"):
                db.conn.execute(f"UPDATE leads SET {edit} WHERE id = 1")
        db.conn.execute("UPDATE leads SET status = 'dead' WHERE id = 1")  # other fields are free
    finally:
        db.close()

    lease.release()  # the import is gone (a kill releases its flock the same way)
    connect(fresh, notice=heard.append).close()
    assert schema(fresh) == before
    assert heard == [
        "building the indexes and search a first import leaves to its end (~4 s a million leads)"
    ]
    assert search(fresh, "elm") == [1, 2, 3]


@pytest.mark.engines
def test_a_first_load_matches_rows_on_a_lead_added_by_hand_while_it_runs(fresh, tmp_path):
    path = csv_of(tmp_path, "first.csv", [f"Owner{n} Lee" for n in range(12)])
    with path.open("a") as f:
        f.write("Late Comer,500 Pine St,Miami,FL,33101,3055559999\n")
    station = Service.open(fresh)
    added = []

    def add_by_hand(*_):  # after the first batch is handed over, before the last row is read
        if not added:
            added.append(
                station.add_lead(
                    owner_name="Hand Made",
                    address="500 Pine Street",
                    city="Miami",
                    state="FL",
                    zip_code="33101",
                )["id"]
            )

    db = connect(fresh)
    try:
        summary = run_import(db, path, status="new", now=clock.now(), progress=add_by_hand, batch=4)
        assert (summary["inserted"], summary["merged"]) == (12, 1)
        assert db.conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 13
        numbers = db.conn.execute("SELECT number FROM phones WHERE lead_id = ?", added).fetchall()
        assert [tuple(r) for r in numbers] == [("+13055559999",)]
    finally:
        db.close()
        station.close()


@pytest.mark.engines
def test_a_first_load_never_merges_two_properties_whose_key_hashes_collide(fresh, tmp_path, monkeypatch):
    monkeypatch.setattr("leadtui.importing.rows.key_hashes", lambda *keys: (7, 7))  # every key alike
    owners = [f"Owner{n} Lee" for n in range(10)]
    path = csv_of(tmp_path, "first.csv", owners)
    with path.open("a") as f:  # two rows repeat earlier properties, in later batches
        f.write(
            "Again Lee,1 Oak St,Miami,FL,33101,3055551111\nAgain Lee,8 Oak St,Miami,FL,33101,3055552222\n"
        )
    db = connect(fresh)
    try:
        summary = run_import(db, path, status="new", now=clock.now(), batch=4)
        assert (summary["inserted"], summary["merged"]) == (10, 2)
        assert db.conn.execute("SELECT count(*) FROM phones WHERE lead_id IN (1, 8)").fetchone()[0] == 4
    finally:
        db.close()


def test_search_filled_while_an_import_waits_for_rows_goes_on_where_it_stopped(fresh, tmp_path, monkeypatch):
    monkeypatch.setattr(indexes, "FILL", 2)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    lease = Lease(scratch)
    db = connect(fresh)
    assert indexes.defer(db, scratch) is True
    for n in range(5):
        with db.write() as conn:
            conn.execute(
                "INSERT INTO leads(owner_name, address, status, created_at, updated_at)"
                " VALUES (?, ?, 'new', '2026-11-23', '2026-11-23')",
                (f"Owner{n}", f"{n} Elm St"),
            )
        if n in (1, 3):
            assert indexes.fill_search(db, whole=True) == 2
        else:
            assert indexes.fill_search(db, whole=True) == 0  # fewer than FILL waiting: later, in one step
    assert search(fresh, "elm") == [1, 2, 3, 4]
    assert indexes.fill_search(db, whole=True) == 0
    assert indexes.fill_search(db) == 1
    assert indexes.fill_search(db) == 0
    db.close()
    lease.release()
    connect(fresh).close()
    assert search(fresh, "elm") == [1, 2, 3, 4, 5]
    with sqlite3.connect(fresh) as conn:
        conn.execute("INSERT INTO leads_fts(leads_fts) VALUES ('integrity-check')")


def test_a_first_import_that_fails_leaves_the_schema_as_it_found_it(fresh, tmp_path):
    before = schema(fresh)
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    db = connect(fresh)
    try:
        with pytest.raises(LeadtuiError, match="no rows under the header"):
            run_import(db, empty, status="new", now=clock.now())
    finally:
        db.close()
    assert schema(fresh) == before
