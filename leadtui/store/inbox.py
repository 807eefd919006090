"""The manager's inbox in SQL (issue 16): approvals with their lead, replies routed by their lead's
owner, callbacks and appointments, the badges' counts and a rep's leads for a hand-over. Each
function runs in the caller's transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

from leadtui.store.engines import on_server
from leadtui.store.queries import _in

# a lead seen by `?` (a rep): the pool's and theirs; with no viewer, every lead
_VISIBLE = "(l.owner IS NULL OR l.owner = ?)"
_CALLBACK = "callback IS NOT NULL AND dead = 0"  # the leads_callback indexes' own condition


def _leads(conn: sqlite3.Connection, index: str) -> str:
    """`leads` read along one of its indexes: SQLite is told which (its planner may pick a worse one),
    PostgreSQL has no such hint and picks by its statistics."""
    return "leads" if on_server(conn) else f"leads INDEXED BY {index}"


_LEAD = (
    "l.owner_name, l.address, l.city, l.state AS l_state, l.owner AS lead_owner, l.status AS lead_status,"
    " l.dead AS lead_dead"
)


def approvals(conn: sqlite3.Connection, *, states: list[str], rep_name: str | None) -> list[sqlite3.Row]:
    """Approvals in `states` (a rep's own when `rep_name`), oldest first, each with its lead's
    owner name, address, owner and status now."""
    where: list[str] = [_in("a.state", states)]
    args: list[Any] = [*states]
    if rep_name:
        where.append("a.rep = ?")
        args.append(rep_name)
    return conn.execute(
        f"SELECT a.*, {_LEAD} FROM approvals a JOIN leads l ON l.id = a.lead_id"
        f" WHERE {' AND '.join(where)} ORDER BY a.id",
        args,
    ).fetchall()


def lead_replies(conn: sqlite3.Connection, lead_id: int, limit: int) -> list[sqlite3.Row]:
    """The lead's last `limit` replies (cleared ones too), newest first."""
    return conn.execute(
        "SELECT * FROM replies WHERE lead_id = ? ORDER BY received_at DESC, id DESC LIMIT ?",
        (lead_id, limit),
    ).fetchall()


def last_events(conn: sqlite3.Connection, lead_id: int, limit: int) -> list[sqlite3.Row]:
    """The lead's last `limit` events, newest first."""
    return conn.execute(
        "SELECT * FROM events WHERE lead_id = ? ORDER BY id DESC LIMIT ?", (lead_id, limit)
    ).fetchall()


def open_replies(conn: sqlite3.Connection, visible_to: str | None) -> list[sqlite3.Row]:
    """Replies not cleared yet, oldest first, with their lead; `visible_to` a rep: only replies on the
    pool's leads, on theirs, and those matched to no lead."""
    where = "r.cleared_at IS NULL"
    args: list[Any] = []
    if visible_to is not None:
        where += f" AND (r.lead_id IS NULL OR {_VISIBLE})"
        args.append(visible_to)
    return conn.execute(
        f"SELECT r.*, {_LEAD} FROM replies r LEFT JOIN leads l ON l.id = r.lead_id"
        f" WHERE {where} ORDER BY r.received_at, r.id",
        args,
    ).fetchall()


def callbacks(conn: sqlite3.Connection, visible_to: str | None, until: str, limit: int) -> list[sqlite3.Row]:
    """Live leads with a callback scheduled before `until` (overdue ones included), soonest first:
    `visible_to` a rep: theirs and the pool's (anyone's), two ranges of leads_callback_owner; else
    every rep's, on leads_callback."""
    if visible_to is None:
        return conn.execute(
            f"SELECT * FROM {_leads(conn, 'leads_callback')} WHERE callback IS NOT NULL AND dead = 0"
            " AND next_call_at < ? ORDER BY next_call_at, id LIMIT ?",
            (until, limit),
        ).fetchall()
    leads = _leads(conn, "leads_callback_owner")
    mine = f"SELECT * FROM {leads} WHERE {_CALLBACK} AND owner = ? AND next_call_at < ?"
    pool = f"SELECT * FROM {leads} WHERE {_CALLBACK} AND owner IS NULL AND next_call_at < ?"
    return conn.execute(
        f"SELECT * FROM ({mine} UNION ALL {pool}) AS due ORDER BY next_call_at, id LIMIT ?",
        (visible_to, until, until, limit),
    ).fetchall()


def appointments(
    conn: sqlite3.Connection, owner: str | None, since: str, until: str, limit: int
) -> list[sqlite3.Row]:
    """Live leads with an appointment in [since, until), soonest first: `owner`'s, or every rep's."""
    where = ["dead = 0", "appointment_at >= ?", "appointment_at < ?"]
    args: list[Any] = [since, until]
    if owner is not None:
        where.append("owner = ?")
        args.append(owner)
    return conn.execute(
        f"SELECT * FROM leads WHERE {' AND '.join(where)} ORDER BY appointment_at, id LIMIT ?",
        [*args, limit],
    ).fetchall()


def pending_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM approvals WHERE state = 'pending'").fetchone()[0]


def callbacks_due(conn: sqlite3.Connection, visible_to: str | None, now: str) -> int:
    """Callbacks due by `now` that `visible_to` (a rep: theirs and the pool's; None: all) may make."""
    if visible_to is None:
        sql, args = (
            f"SELECT count(*) FROM {_leads(conn, 'leads_callback')} WHERE {_CALLBACK} AND next_call_at <= ?",
            [now],
        )
    else:
        count = f"SELECT count(*) FROM {_leads(conn, 'leads_callback_owner')} WHERE {_CALLBACK} AND next_call_at <= ?"
        sql, args = f"SELECT ({count} AND owner = ?) + ({count} AND owner IS NULL)", [now, visible_to, now]
    return conn.execute(sql, args).fetchone()[0]


def due_anyone(conn: sqlite3.Connection, now: str, limit: int) -> list[sqlite3.Row]:
    """The first `limit` leads still held whose `anyone` callback is due by `now` (they go to the pool)."""
    return conn.execute(
        f"SELECT * FROM {_leads(conn, 'leads_callback_held')} WHERE callback = 'anyone' AND owner IS NOT NULL"
        " AND dead = 0 AND next_call_at <= ? ORDER BY next_call_at, id LIMIT ?",
        (now, limit),
    ).fetchall()


def held_by(conn: sqlite3.Connection, rep_name: str, limit: int) -> list[sqlite3.Row]:
    """The first `limit` live leads `rep_name` holds, by id (a hand-over moves them a slice at a time)."""
    return conn.execute(
        "SELECT * FROM leads WHERE owner = ? AND dead = 0 ORDER BY id LIMIT ?", (rep_name, limit)
    ).fetchall()
