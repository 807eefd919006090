"""What a first import leaves out until it ends: two lookup indexes and the search index.

Into an empty database, an import drops what it never reads itself and what costs the most to
keep current a batch at a time: the owner-key and phone-number indexes (random keys: every
batch dirties pages all over them, and every commit writes those pages again) and the FTS5
triggers. Built once at the end, they cost ~13 s at a million leads, where keeping them current
cost ~50 s (benchmarks/bench_import.py). The parcel and address indexes stay: the import
matches on them. Until the end, those lookups scan and search finds none of the new leads.

The SQL of what was dropped waits in `meta` until it is back, naming the import's scratch
folder. While the import's lease there is held nobody else touches it; once it is not (the
import ended, or was killed), `finish` builds it back: the import calls it at its end, and
`connect` on any later open. Each index is one transaction; search is filled CHUNK leads a
transaction, so a station's write waits a few seconds at most (~3 s for the phone index at a
million leads). While the chunks run, edits to searchable fields are refused (a trigger), as
the index could miss them; the app makes none, and leads are never deleted.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from leadtui.store.db import Database, make_way
from leadtui.store.lease import held

MARK = "deferred_by_import"  # meta key: {"scratch": folder, "sql": {name: CREATE ...}, "searched": last id}
INDEXES = ("leads_owner_key", "phones_number")
TRIGGERS = ("leads_fts_insert", "leads_fts_update", "leads_fts_delete")
CHUNK = 100_000  # leads put in the search index per transaction: ~0.7 s of lock (1M leads: 50k 15.4 s, 250k 13.1 s in all)
CACHE_KIB = 32 * 1024  # page cache while building (measured at 1M: 11 s, 80 MB; 128 MiB: 14 s, 262 MB)
SEARCHED = "id, owner_name, address, city, zip, source_status"  # leads_fts's rowid and columns
GUARD = ("CREATE TRIGGER IF NOT EXISTS leads_fts_hold BEFORE UPDATE OF owner_name, address, city, zip, source_status"
         " ON leads BEGIN SELECT RAISE(ABORT, 'the search index is being built after an import; try again in a minute'); END")


def _plan(conn: sqlite3.Connection) -> dict | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (MARK,)).fetchone()
    return None if row is None else json.loads(row[0])


def _exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (name,)).fetchone() is not None


def defer(db: Database, scratch: Path) -> bool:
    """If the database has no leads, drop INDEXES and TRIGGERS for an import whose lease is in
    `scratch`, keeping their SQL in `meta`. True if it did."""
    with db.write() as conn:
        if conn.execute("SELECT 1 FROM leads LIMIT 1").fetchone() or _plan(conn) is not None:
            return False
        names = (*INDEXES, *TRIGGERS)
        sql = {row[0]: row[1] for row in conn.execute(
            f"SELECT name, sql FROM sqlite_schema WHERE name IN ({', '.join('?' * len(names))})", names)}
        conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)",
                     (MARK, json.dumps({"scratch": str(scratch), "sql": sql, "searched": 0})))
        for name in INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        for name in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("INSERT INTO leads_fts(leads_fts) VALUES ('delete-all')")
    return True


def finish(db: Database) -> None:
    """Build back what a first import deferred, unless that import still runs."""
    plan = _plan(db.conn)
    if plan is None or held(Path(plan["scratch"])):
        return
    size = db.conn.execute("PRAGMA cache_size").fetchone()[0]
    db.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # index sorts take as much again: this keeps RSS low
    try:
        _build(db, plan)
    finally:
        db.conn.execute(f"PRAGMA cache_size = {size}")


def _build(db: Database, plan: dict) -> None:
    for name in INDEXES:
        began = time.perf_counter()
        with db.write() as conn:
            if name in plan["sql"] and not _exists(conn, name):
                conn.execute(plan["sql"][name])
        make_way(time.perf_counter() - began)
    while True:
        began = time.perf_counter()
        with db.write() as conn:
            plan = _plan(conn)  # again, inside the lock: another station may be finishing too
            if plan is None:
                return
            conn.execute(GUARD)
            last = conn.execute("SELECT max(id), count(*) FROM (SELECT id FROM leads WHERE id > ? ORDER BY id LIMIT ?)",
                                (plan["searched"], CHUNK)).fetchone()
            conn.execute(f"INSERT INTO leads_fts(rowid, {SEARCHED.partition(', ')[2]})"
                         f" SELECT {SEARCHED} FROM leads WHERE id > ? ORDER BY id LIMIT ?", (plan["searched"], CHUNK))
            if last[1] < CHUNK:  # the rest are in: triggers back in the same transaction, so none is missed
                for name in TRIGGERS:
                    if name in plan["sql"] and not _exists(conn, name):
                        conn.execute(plan["sql"][name])
                conn.execute("DROP TRIGGER leads_fts_hold")
                conn.execute("DELETE FROM meta WHERE key = ?", (MARK,))
                return
            plan["searched"] = last[0]
            conn.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(plan), MARK))
        make_way(time.perf_counter() - began)
