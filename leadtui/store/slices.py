"""Floor-wide jobs a slice at a time (F4): each call reads at most `limit` rows, so a job's
write transaction stays short and a station's commit waits a moment at most."""

from __future__ import annotations

import sqlite3


def expired_holds(conn: sqlite3.Connection, now: str, limit: int) -> list[sqlite3.Row]:
    """The first `limit` live leads whose hold ended by `now`, oldest hold first (on leads_hold)."""
    return conn.execute(
        "SELECT * FROM leads WHERE hold_until IS NOT NULL AND hold_until <= ? AND dead = 0"
        " ORDER BY hold_until, id LIMIT ?",
        (now, limit),
    ).fetchall()


def with_source_status(conn: sqlite3.Connection, after: int, limit: int) -> list[sqlite3.Row]:
    """The next `limit` live leads with a source (legacy) status, by id, from after lead `after`."""
    return conn.execute(
        "SELECT id, status, source_status FROM leads WHERE id > ? AND source_status IS NOT NULL"
        " AND dead = 0 ORDER BY id LIMIT ?",
        (after, limit),
    ).fetchall()


def drop_meta(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM meta WHERE key = ?", (key,))
