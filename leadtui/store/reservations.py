"""Reservations (F2): which station shows which lead as current, until when. A reservation is a
lease, not ownership: it expires by itself, so a crashed station frees its lead.

On a server engine the same rows serve; the atomic step is the insert-or-take-over below (there,
taken under the lead's row lock)."""

from __future__ import annotations

import sqlite3

from leadtui.store.engines import on_server

# A lead reserved by another station and not yet expired (binds station, now): queues leave it out.
RESERVED_ELSEWHERE = (
    "EXISTS (SELECT 1 FROM reservations r WHERE r.lead_id = l.id AND r.station != ? AND r.until > ?)"
)


def take(conn: sqlite3.Connection, lead_id: int) -> bool:
    """On a server, the lead's row lock for this transaction, unless another station holds it now
    (SKIP LOCKED: stations opening at once each go on to the next lead, none waits); on a file the
    write lock already excludes every other writer."""
    if not on_server(conn):
        return True
    return (
        conn.execute("SELECT 1 FROM leads WHERE id = ? FOR UPDATE SKIP LOCKED", (lead_id,)).fetchone()
        is not None
    )


def of_lead(conn: sqlite3.Connection, lead_id: int, now: str) -> sqlite3.Row | None:
    """The lead's live reservation, if any."""
    return conn.execute(
        "SELECT * FROM reservations WHERE lead_id = ? AND until > ?", (lead_id, now)
    ).fetchone()


def put(conn: sqlite3.Connection, lead_id: int, rep: str, station: str, now: str, until: str) -> None:
    """Reserve the lead for the station (renewing its own lease keeps `since`); its other one goes."""
    conn.execute("DELETE FROM reservations WHERE station = ? AND lead_id != ?", (station, lead_id))
    conn.execute(
        "INSERT INTO reservations (lead_id, rep, station, since, until) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (lead_id) DO UPDATE SET rep = excluded.rep, station = excluded.station, until = excluded.until, "
        "since = CASE WHEN reservations.station = excluded.station THEN reservations.since ELSE excluded.since END",
        (lead_id, rep, station, now, until),
    )


def drop(conn: sqlite3.Connection, station: str, now: str) -> None:
    """The station lets go of its lead; expired leases of any station are cleared on the way."""
    conn.execute("DELETE FROM reservations WHERE station = ? OR until <= ?", (station, now))


def drop_rep(conn: sqlite3.Connection, rep: str) -> None:
    """Every lead reserved for `rep` is let go (a deactivated rep's station may not hold one)."""
    conn.execute("DELETE FROM reservations WHERE rep = ?", (rep,))


def live(conn: sqlite3.Connection, now: str) -> list[sqlite3.Row]:
    """Every live reservation with its lead's owner name, newest first."""
    return conn.execute(
        "SELECT r.*, l.owner_name, l.owner FROM reservations r JOIN leads l ON l.id = r.lead_id "
        "WHERE r.until > ? ORDER BY r.since DESC",
        (now,),
    ).fetchall()
