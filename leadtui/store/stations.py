"""The floor's stations (issue 16): one row per running station (a TUI process), kept by that
station's own writer: what it is doing since when, its pause and its heartbeat. A CLI call has no
row. Each function runs in the caller's transaction."""

from __future__ import annotations

import sqlite3

from leadtui.store.calls import OPEN

_COLUMNS = ("state", "since", "lead_id", "call_id", "pause_reason", "paused_at", "heartbeat_at")


def get(conn: sqlite3.Connection, station: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM stations WHERE station = ?", (station,)).fetchone()


def register(conn: sqlite3.Connection, station: str, rep: str, now: str, forget_before: str) -> None:
    """The station is on the floor as `rep` (again, if it was), idle until it says otherwise.
    Stations not seen since `forget_before` are forgotten on the way."""
    conn.execute("DELETE FROM stations WHERE heartbeat_at < ?", (forget_before,))
    conn.execute(
        "INSERT INTO stations (station, rep, state, since, started_at, heartbeat_at)"
        " VALUES (?, ?, 'idle', ?, ?, ?)"
        " ON CONFLICT (station) DO UPDATE SET rep = excluded.rep, state = 'idle', since = excluded.since,"
        " lead_id = NULL, call_id = NULL, pause_reason = NULL, paused_at = NULL,"
        " heartbeat_at = excluded.heartbeat_at",
        (station, rep, now, now, now),
    )


def update(conn: sqlite3.Connection, station: str, fields: dict[str, object]) -> None:
    """Set some of the station's columns."""
    unknown = set(fields) - set(_COLUMNS)
    assert not unknown, unknown
    if fields:
        sets = ", ".join(f"{k} = ?" for k in fields)
        conn.execute(f"UPDATE stations SET {sets} WHERE station = ?", (*fields.values(), station))


def reserved_by(conn: sqlite3.Connection, station: str, now: str) -> int | None:
    """The lead the station has reserved on screen (F2), if its lease is live."""
    row = conn.execute(
        "SELECT lead_id FROM reservations WHERE station = ? AND until > ?", (station, now)
    ).fetchone()
    return None if row is None else row[0]


def open_call(conn: sqlite3.Connection, rep: str, station: str) -> sqlite3.Row | None:
    """The station's latest call still waiting for its outcome (D3), if any."""
    return conn.execute(
        f"SELECT c.id, c.lead_id, c.answered_at, c.ended_at FROM calls c"
        f" WHERE c.rep = ? AND c.station = ? AND {OPEN} ORDER BY c.id DESC LIMIT 1",
        (rep, station),
    ).fetchone()


def seen_since(conn: sqlite3.Connection, since: str) -> list[sqlite3.Row]:
    """Stations seen since `since`, with the owner name of the lead each is on."""
    return conn.execute(
        "SELECT s.*, l.owner_name FROM stations s LEFT JOIN leads l ON l.id = s.lead_id"
        " WHERE s.heartbeat_at >= ?",
        (since,),
    ).fetchall()


def last_outcome(conn: sqlite3.Connection, rep: str) -> sqlite3.Row | None:
    """The rep's last status set, not undone (one step back along events_rep_status per undone one)."""
    return conn.execute(
        "SELECT e.id, e.lead_id, e.at, e.status FROM events e"
        " WHERE e.rep = ? AND e.kind = 'status'"
        " AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id)"
        " ORDER BY e.id DESC LIMIT 1",
        (rep,),
    ).fetchone()
