"""D4's SQL: an opt-out marks a number DNC on every lead that has it and cancels texts not yet sent;
a text is refused when its number is DNC. Each runs in the caller's transaction."""

from __future__ import annotations

import sqlite3


def phones(conn: sqlite3.Connection, number: str) -> list[sqlite3.Row]:
    """Every lead's phone row with this (E.164) number, dead leads' too: DNC belongs to the number."""
    return conn.execute("SELECT * FROM phones WHERE number = ? ORDER BY lead_id", (number,)).fetchall()


def mark_dnc(conn: sqlite3.Connection, phone_id: int) -> None:
    conn.execute("UPDATE phones SET dnc = 1 WHERE id = ?", (phone_id,))


def open_actions(conn: sqlite3.Connection, lead_id: int) -> list[sqlite3.Row]:
    """The lead's actions not yet sent (pending, or failed and due again), oldest first."""
    return conn.execute(
        "SELECT * FROM outbox WHERE lead_id = ? AND state IN ('pending', 'failed') ORDER BY id", (lead_id,)
    ).fetchall()


def cancel(conn: sqlite3.Connection, action_id: int, now: str, why: str) -> None:
    """Cancel one action not yet sent, saying why. One being delivered right now (a live lease) is
    cancelled too, so it is never retried; if it goes, the worker records it as gone anyway."""
    conn.execute(
        "UPDATE outbox SET state = 'cancelled', done_at = ?, last_error = ?"
        " WHERE id = ? AND state IN ('pending', 'failed')",
        (now, why, action_id),
    )


def is_dnc(conn: sqlite3.Connection, number: str) -> bool:
    """True when any lead has this number marked DNC (by an opt-out, a list, or by hand) or litigator:
    neither is ever called (B3) nor texted."""
    return (
        conn.execute(
            "SELECT 1 FROM phones WHERE number = ? AND (dnc = 1 OR litigator = 1) LIMIT 1", (number,)
        ).fetchone()
        is not None
    )
