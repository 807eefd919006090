"""What a first import leaves out until it ends: the lookup indexes and the search index.

Into an empty database, an import drops what costs the most to keep current a batch at a time:
the parcel, address, owner-key and phone-number indexes (random keys: every batch dirties pages
all over them, and every commit writes those pages again) and the FTS5 triggers. It matches
rows on key hashes of its own meanwhile (`store.imports`) and puts the leads it has stored in
the search index as it goes (`fill_search`: while it waits for rows, and when reading
processes read the file, after a batch once FILL leads wait). Until the end, those lookups scan,
search misses the newest leads, another import waits its turn (`ready`), and edits to a lead's
names and address are refused (a trigger), as the keys and search could miss them: the app
makes none, and leads are never deleted.

The SQL of what was dropped waits in `meta` until it is back, naming the import's scratch
folder. While the import's lease there is held nobody else builds it; once it is not (the
import ended, or was killed), `finish` does: the import calls it at its end, and `connect` on
any later open. Each index is one transaction, and the rest of search FILL leads a transaction,
so a station's write waits two seconds at most (~1.8 s for the phone index at a million leads).

On PostgreSQL nothing is deferred (`defer` says False): dropping an index there takes an ACCESS
EXCLUSIVE lock on the table, building it back a SHARE lock that holds every station's write
for the length of the build, and the GIN search index takes its entries through a pending list
anyway. A first load there keeps every index current, batch by batch.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from leadtui.errors import LeadtuiError
from leadtui.store.db import Database, Notice, finish_deferred, make_way
from leadtui.store.lease import held

MARK = "deferred_by_import"  # meta key: {"scratch": folder, "sql": {name: CREATE ...}, "searched": last id}
INDEXES = ("leads_parcel", "leads_address_key", "leads_owner_key", "phones_number")  # built in this order
TRIGGERS = ("leads_fts_insert", "leads_fts_update", "leads_fts_delete")
CACHE_KIB = (
    4 * 1024
)  # page cache while building: the sorts run in it (the four at 1M leads: 4 MiB 3.9 s, 30 MB; 32 MiB 5.6 s, 143 MB)
SORTERS = 2  # helper threads sorting for CREATE INDEX (none: 5.2 s at 4 MiB)
SEARCHED = "id, owner_name, address, city, zip, source_status"  # leads_fts's rowid and columns
FILL = 100_000  # leads put in search per transaction, during a first load and at its end: ~0.35 s of lock
# at a million leads (filling 1M by 20k: 5.4 s, by 100k: 3.4 s)
GUARD = (
    "CREATE TRIGGER leads_import_hold BEFORE UPDATE OF apn, county, address_key, owner_name, address, city,"
    " zip, source_status ON leads BEGIN SELECT RAISE(ABORT, 'a lead list is being imported;"
    " change names and addresses when it ends (a minute or so)'); END"
)


def _plan(conn: sqlite3.Connection) -> dict | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (MARK,)).fetchone()
    return None if row is None else json.loads(row[0])


def _exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (name,)).fetchone() is not None


def _busy(plan: dict) -> LeadtuiError:
    if held(Path(plan["scratch"])):
        return LeadtuiError("another import is loading this database's first list; try again when it ends")
    return LeadtuiError("the indexes of an earlier import are still being built; try again in a minute")


def ready(db: Database, notice: Notice | None = None) -> None:
    """Raise unless the indexes are all there for an import to match on: after a first load
    they are built first (they may be now, if that import is over)."""
    finish_deferred(db, notice)
    plan = _plan(db.conn)
    if plan is not None:
        raise _busy(plan)


def defer(db: Database, scratch: Path) -> bool:
    """If the database has no leads, drop INDEXES and TRIGGERS for an import whose lease is in
    `scratch`, keeping their SQL in `meta`. True if it did."""
    if db.engine == "postgresql":  # (see the module's docstring)
        return False
    with db.write() as conn:
        if (plan := _plan(conn)) is not None:
            raise _busy(plan)  # another import got here first
        if conn.execute("SELECT 1 FROM leads LIMIT 1").fetchone():
            return False
        names = (*INDEXES, *TRIGGERS)
        sql = {
            row[0]: row[1]
            for row in conn.execute(
                f"SELECT name, sql FROM sqlite_schema WHERE name IN ({', '.join('?' * len(names))})", names
            )
        }
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?)",
            (MARK, json.dumps({"scratch": str(scratch), "sql": sql, "searched": 0})),
        )
        for name in INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        for name in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute("INSERT INTO leads_fts(leads_fts) VALUES ('delete-all')")
        conn.execute(GUARD)
    return True


def fill_search(db: Database, whole: bool = False) -> int:
    """During a first load: put up to FILL more of its stored leads in the search index, in one
    transaction; if `whole`, only once FILL are waiting (search is built faster in big steps).
    Returns how many."""
    if db.engine == "postgresql":  # nothing deferred there: search is never behind
        return 0
    began = time.perf_counter()
    with db.write() as conn:
        plan = _plan(conn)
        done = 0 if plan is None else _search(conn, plan, FILL, whole)
    make_way(time.perf_counter() - began)
    return done


def finish(db: Database, notice: Notice | None = None) -> None:
    """Build back what a first import deferred, unless that import still runs."""
    plan = _plan(db.conn)
    if plan is None or held(Path(plan["scratch"])):
        return
    if notice:
        notice("building the indexes and search a first import leaves to its end (~4 s a million leads)")
    size, threads = (db.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("cache_size", "threads"))
    db.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # index sorts take as much again: this keeps RSS low
    db.conn.execute(f"PRAGMA threads = {SORTERS}")
    try:
        _build(db, plan)
    finally:
        db.conn.execute(f"PRAGMA cache_size = {size}")
        db.conn.execute(f"PRAGMA threads = {threads}")


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
            current = _plan(conn)  # again, inside the lock: another station may be finishing too
            if current is None:
                return
            if _search(conn, current, FILL) < FILL:  # the rest are in: triggers back in the same transaction
                for name in TRIGGERS:
                    if name in current["sql"] and not _exists(conn, name):
                        conn.execute(current["sql"][name])
                conn.execute("DROP TRIGGER IF EXISTS leads_import_hold")
                conn.execute("DELETE FROM meta WHERE key = ?", (MARK,))
                return
        make_way(time.perf_counter() - began)


def _search(conn: sqlite3.Connection, plan: dict, limit: int, whole: bool = False) -> int:
    """In the caller's write transaction: the next `limit` leads (by id) into the search index,
    and the progress into `meta`; if `whole`, none unless `limit` are waiting. Returns how many went in."""
    if whole and (conn.execute("SELECT max(id) FROM leads").fetchone()[0] or 0) - plan["searched"] < limit:
        return 0  # (ids have no gaps: leads are never deleted)
    last, count = conn.execute(
        "SELECT max(id), count(*) FROM (SELECT id FROM leads WHERE id > ? ORDER BY id LIMIT ?)",
        (plan["searched"], limit),
    ).fetchone()
    if count:
        conn.execute(
            f"INSERT INTO leads_fts(rowid, {SEARCHED.partition(', ')[2]})"
            f" SELECT {SEARCHED} FROM leads WHERE id > ? ORDER BY id LIMIT ?",
            (plan["searched"], limit),
        )
        plan["searched"] = last
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps(plan), MARK))
    return count
