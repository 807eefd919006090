"""Migrations bring an older database up to date without losing leads or search."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from leadtui.store import indexes
from leadtui.store.db import Database, _statements, connect
from leadtui.store.queries import fts_query
from leadtui.store.schema import APPLICATION_ID, MIGRATIONS

OWNERS = ["Ana O'Brien", "Bo Smith", "Cy Smithers", "Di Oakley", "Ed Brien"]


def old_database(path: Path, version: int) -> sqlite3.Connection:
    """A database as a leadtui of schema `version` left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for script in MIGRATIONS[:version]:
        for statement in _statements(script):
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def add(conn: sqlite3.Connection, owners: list[str]) -> None:
    conn.executemany(
        "INSERT INTO leads(owner_name, address, zip, status, created_at, updated_at)"
        " VALUES (?, ?, '33101', 'new', 'then', 'then')",
        [(owner, f"{n} Oak St") for n, owner in enumerate(owners, 1)],
    )


def found(conn: sqlite3.Connection, text: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT owner_name FROM leads WHERE id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?) ORDER BY id",
            (fts_query(text),),
        )
    ]


def check_search(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO leads_fts(leads_fts, rank) VALUES ('integrity-check', 1)"
    )  # raises if FTS != leads
    assert (
        "detail=none" in conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'leads_fts'").fetchone()[0]
    )
    assert found(conn, "smi") == ["Bo Smith", "Cy Smithers"]
    assert found(conn, "ana o'brien") == ["Ana O'Brien"]
    assert found(conn, "o'brien") == ["Ana O'Brien", "Ed Brien"]  # words, not a phrase (`o` finds Oak St)
    assert found(conn, "bri oak") == ["Ana O'Brien", "Ed Brien"]
    assert found(conn, "'*") == []


def test_schema_2_gets_the_lighter_search_index_with_every_lead_in_it(tmp_path):
    path = tmp_path / "old.db"
    conn = old_database(path, 2)
    add(conn, OWNERS)
    conn.close()
    heard: list[str] = []
    db = connect(path, notice=heard.append)
    assert heard == ["bringing the database up to this version of leadtui (a few seconds on a big floor)"]
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    heard.clear()
    connect(path, notice=heard.append).close()
    assert heard == []  # once only
    check_search(db.conn)
    db.conn.execute(
        "INSERT INTO leads(owner_name, address, status, created_at, updated_at)"
        " VALUES ('Flo Smithson', '9 Elm St', 'new', 'now', 'now')"
    )  # the triggers work again
    assert found(db.conn, "smith") == ["Bo Smith", "Cy Smithers", "Flo Smithson"]


def test_schema_2_killed_in_a_first_load_is_migrated_then_finished(tmp_path):
    """An older leadtui's first import was killed part-way: search had two of its leads. The
    migration indexes them all; the build that follows adds none twice and ends the plan."""
    path = tmp_path / "old.db"
    conn = old_database(path, 2)
    old = Database(path, conn)
    assert indexes.defer(old, tmp_path / "gone")  # no lease there: the import is dead
    add(conn, OWNERS)
    with old.write() as c:
        plan = json.loads(c.execute("SELECT value FROM meta WHERE key = ?", (indexes.MARK,)).fetchone()[0])
        assert indexes._search(c, plan, 2) == 2
    conn.close()
    db = connect(path)
    assert db.conn.execute("SELECT 1 FROM meta WHERE key = ?", (indexes.MARK,)).fetchone() is None
    names = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_schema")}
    assert set(indexes.INDEXES) | set(indexes.TRIGGERS) <= names and "leads_import_hold" not in names
    check_search(db.conn)
