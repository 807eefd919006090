"""The outbox worker's SQL: lease, finish, fail, retry. Each runs in the caller's write transaction.

A lease is `lease_until` plus one more attempt: the attempt count the lease took is its token,
so a worker whose lease expired (and was taken by another) can't overwrite the newer outcome.
Every outcome is also an event on the lead's timeline.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from leadtui import clock
from leadtui.store.engines import on_server
from leadtui.store.queries import insert_event

OPEN = ("pending", "failed")  # states the worker may still deliver


def _event(conn: sqlite3.Connection, row: sqlite3.Row, now: datetime, outcome: str, **data: object) -> None:
    insert_event(
        conn,
        lead_id=row["lead_id"],
        at=clock.stamp(now),
        day=now.date().isoformat(),
        rep=None,
        kind=f"automation_{outcome}",
        data={
            "action": row["action"],
            "outbox": row["id"],
            "attempts": row["attempts"],
            **{k: v for k, v in data.items() if v is not None},
        },
    )


def lease(conn: sqlite3.Connection, now: datetime, until: datetime) -> sqlite3.Row | None:
    """Take the next due action: not cancelled, unleased (or lease expired), lead alive.

    A due action whose lead is dead is cancelled on the way, never delivered.
    """
    stamp = clock.stamp(now)
    # On a server the row is locked too, and one another dispatcher holds is passed over: no two
    # ever take one action (SQLite's write lock already lets one dispatcher at a time in).
    skip = " FOR UPDATE OF o SKIP LOCKED" if on_server(conn) else ""
    while True:
        row = conn.execute(
            "SELECT o.id, o.lead_id, o.action, o.attempts, l.dead FROM outbox o JOIN leads l ON l.id = o.lead_id"
            " WHERE o.state IN ('pending', 'failed') AND o.due_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)"
            f" ORDER BY o.due_at, o.id LIMIT 1{skip}",
            (stamp, stamp),
        ).fetchone()
        if row is None:
            return None
        if not row["dead"]:
            return conn.execute(
                "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ? RETURNING *",
                (clock.stamp(until), row["id"]),
            ).fetchone()
        conn.execute(
            "UPDATE outbox SET state = 'cancelled', done_at = ?, lease_until = NULL,"
            " last_error = 'the lead is dead' WHERE id = ?",
            (stamp, row["id"]),
        )
        _event(conn, row, now, "cancelled", why="the lead is dead (W10)")


def finish(
    conn: sqlite3.Connection, leased: sqlite3.Row, now: datetime, state: str, target: str, detail: str | None
) -> bool:
    """Record a delivery (`sent` or `logged`) under the lease that made it. False if the lease was lost.

    It went out, so it is recorded even if a cancel came while it was in flight.
    """
    was = conn.execute("SELECT state, attempts FROM outbox WHERE id = ?", (leased["id"],)).fetchone()
    if was["attempts"] != leased["attempts"] or was["state"] not in (*OPEN, "cancelled"):
        return False
    row = conn.execute(
        "UPDATE outbox SET state = ?, done_at = ?, lease_until = NULL WHERE id = ? RETURNING *",
        (state, clock.stamp(now), leased["id"]),
    ).fetchone()
    late = "cancelled while in flight; it had already gone" if was["state"] == "cancelled" else None
    _event(conn, row, now, state, target=target, detail=detail, note=late)
    return True


def fail(
    conn: sqlite3.Connection,
    leased: sqlite3.Row,
    now: datetime,
    error: str,
    target: str,
    retry_at: datetime | None,
) -> str | None:
    """Record a failed try: `failed` (due again at `retry_at`) or, without one, `dead`.

    Returns the new state, or None when the lease was lost or the action was cancelled meanwhile.
    """
    state = "failed" if retry_at else "dead"
    row = conn.execute(
        "UPDATE outbox SET state = ?, last_error = ?, due_at = COALESCE(?, due_at), lease_until = NULL,"
        " done_at = CASE WHEN ? = 'dead' THEN ? END"
        " WHERE id = ? AND attempts = ? AND state IN ('pending', 'failed') RETURNING *",
        (
            state,
            error,
            retry_at and clock.stamp(retry_at),
            state,
            clock.stamp(now),
            leased["id"],
            leased["attempts"],
        ),
    ).fetchone()
    if row is None:
        return None
    _event(conn, row, now, state, target=target, error=error, retry_at=retry_at and clock.stamp(retry_at))
    return state


def action(conn: sqlite3.Connection, action_id: int) -> sqlite3.Row | None:
    """One outbox row with its lead's `dead` flag."""
    return conn.execute(
        "SELECT o.*, l.dead FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE o.id = ?", (action_id,)
    ).fetchone()


def retry(conn: sqlite3.Connection, row: sqlite3.Row, now: datetime, by: str | None) -> sqlite3.Row:
    """Put a dead (or failed) action back in line, due now, with its attempts reset."""
    fresh = conn.execute(
        "UPDATE outbox SET state = 'pending', attempts = 0, due_at = ?, lease_until = NULL, done_at = NULL"
        " WHERE id = ? RETURNING *",
        (clock.stamp(now), row["id"]),
    ).fetchone()
    _event(conn, row, now, "retry", by=by, was=row["state"])
    return fresh
