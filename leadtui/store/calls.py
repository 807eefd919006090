"""The call log's SQL (D2, D3): one row per call, its times as the phone system reports them, its
outcome and notes. Rows are never deleted; caps count them. Each function runs in the caller's
transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

from leadtui.store.engines import on_server

NUMBER_LOCK = 0x4E554D  # a server's advisory lock class for one number's calls ("NUM")

# A call with no outcome yet: the station that placed it (or its rep's next start) asks for one (D3).
OPEN = "c.outcome_event_id IS NULL"

# Each call with its phone's position and whether its outcome was undone.
_SELECT = (
    "SELECT c.*, p.position AS phone_position,"
    " EXISTS (SELECT 1 FROM events u WHERE u.undoes = c.outcome_event_id) AS outcome_undone"
    " FROM calls c JOIN phones p ON p.id = c.phone_id"
)


def insert(conn: sqlite3.Connection, **call: Any) -> int:
    """Log a call (`log`'s fields); its id."""
    call_id = log(conn, **call).lastrowid
    assert call_id is not None, "no call was inserted"
    return call_id


def log(
    conn: sqlite3.Connection,
    *,
    lead_id: int,
    phone_id: int,
    number: str,
    rep: str,
    station: str,
    system: str,
    placed_at: str,
    day: str,
    reported: bool = False,
    outcome_status: str | None = None,
    outcome_event_id: int | None = None,
) -> sqlite3.Cursor:
    """Log a call: the INSERT's cursor (on a server, a call whose id is not read goes with the COMMIT)."""
    return conn.execute(
        "INSERT INTO calls (lead_id, phone_id, number, rep, station, system, placed_at, day, reported,"
        " outcome_status, outcome_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            lead_id,
            phone_id,
            number,
            rep,
            station,
            system,
            placed_at,
            day,
            int(reported),
            outcome_status,
            outcome_event_id,
        ),
    )


def get(conn: sqlite3.Connection, call_id: int) -> sqlite3.Row | None:
    return conn.execute(f"{_SELECT} WHERE c.id = ?", (call_id,)).fetchone()


def lead_counts_since(conn: sqlite3.Connection, lead_id: int, since: str) -> dict[int, int]:
    """Calls placed after `since` to each of the lead's phones that has any (the 24-h cap counts
    these): one statement whatever phone a key dials, so a server can send it ahead of the key."""
    return dict(
        conn.execute(
            "SELECT phone_id, count(*) FROM calls WHERE phone_id IN (SELECT id FROM phones WHERE lead_id = ?)"
            " AND placed_at > ? GROUP BY phone_id",
            (lead_id, since),
        ).fetchall()
    )


def counts_since(conn: sqlite3.Connection, phone_ids: list[int], since: str) -> dict[int, int]:
    """Calls placed after `since` to each of the phones that has any: one statement for a page."""
    counts: dict[int, int] = {}
    for chunk in range(0, len(phone_ids), 500):
        part = phone_ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        counts.update(
            conn.execute(
                f"SELECT phone_id, count(*) FROM calls WHERE phone_id IN ({marks}) AND placed_at > ? GROUP BY phone_id",
                (*part, since),
            ).fetchall()
        )
    return counts


def placed_since(conn: sqlite3.Connection, phone_id: int, since: str) -> list[str]:
    """When the phone's calls after `since` were placed, oldest first."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT placed_at FROM calls WHERE phone_id = ? AND placed_at > ? ORDER BY placed_at",
            (phone_id, since),
        )
    ]


def last_to_number(conn: sqlite3.Connection, number: str) -> str | None:
    """When the last call to this number (on any lead) was placed."""
    if on_server(conn):  # every rep's calls, row security or not (pg_schema)
        return conn.execute("SELECT leadtui_last_call(?)", (number,)).fetchone()[0]
    return conn.execute("SELECT max(placed_at) FROM calls WHERE number = ?", (number,)).fetchone()[0]


def live_to_number(conn: sqlite3.Connection, number: str, since: str) -> sqlite3.Row | None:
    """The call to this number (on any lead) placed since `since` that has neither ended nor an
    outcome: someone is on the phone with it. On a server the number is locked first, to the end of
    the transaction, so two stations dialling it at once see each other's call (one file has one
    writer at a time already)."""
    if on_server(conn):  # (every rep's calls, row security or not: pg_schema)
        conn.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (NUMBER_LOCK, number))
        return conn.execute("SELECT * FROM leadtui_live_call(?, ?)", (number, since)).fetchone()
    return conn.execute(
        "SELECT id, lead_id, rep, placed_at FROM calls WHERE number = ? AND placed_at >= ?"
        " AND ended_at IS NULL AND outcome_event_id IS NULL ORDER BY id DESC LIMIT 1",
        (number, since),
    ).fetchone()


def open_of(
    conn: sqlite3.Connection, *, rep: str | None = None, station: str | None = None
) -> list[sqlite3.Row]:
    """Calls with no outcome yet (a rep's, a station's, or the floor's), oldest first."""
    where, args = [OPEN], list[Any]()
    if rep is not None:
        where.append("c.rep = ?")
        args.append(rep)
    if station is not None:
        where.append("c.station = ?")
        args.append(station)
    return conn.execute(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.id", args).fetchall()


def record(conn: sqlite3.Connection, call_id: int, fields: dict[str, str]) -> None:
    """Set the given columns (times, reason, ids the phone system gave)."""
    if fields:
        sets = ", ".join(f"{k} = ?" for k in fields)
        conn.execute(f"UPDATE calls SET {sets} WHERE id = ?", (*fields.values(), call_id))


def link_outcome(conn: sqlite3.Connection, call_id: int, status: str, event_id: int) -> None:
    conn.execute(
        "UPDATE calls SET outcome_status = ?, outcome_event_id = ? WHERE id = ?", (status, event_id, call_id)
    )


def reopen(conn: sqlite3.Connection, event_id: int) -> None:
    """The outcome event `event_id` was undone: a call placed through leadtui waits for a new one (a
    reported row keeps it: it is the report)."""
    conn.execute(
        "UPDATE calls SET outcome_status = NULL, outcome_event_id = NULL"
        " WHERE outcome_event_id = ? AND reported = 0",
        (event_id,),
    )


def add_note(conn: sqlite3.Connection, call_id: int, text: str) -> None:
    """The call's note: a second note on the same call follows the first on a new line."""
    conn.execute(
        "UPDATE calls SET notes = CASE WHEN notes = '' THEN ? ELSE notes || ? END WHERE id = ?",
        (text, "\n" + text, call_id),
    )


def select(
    conn: sqlite3.Connection,
    *,
    rep: str | None = None,
    lead_id: int | None = None,
    since: str | None = None,
    open_only: bool = False,
    visible_to: str | None = None,
) -> list[sqlite3.Row]:
    """The log, oldest first; with `visible_to`, only calls on leads that rep may see (W14: the
    pool's, theirs and dead ones)."""
    where, args = ["true"], list[Any]()
    if rep is not None:
        where.append("c.rep = ?")
        args.append(rep)
    if lead_id is not None:
        where.append("c.lead_id = ?")
        args.append(lead_id)
    if since is not None:
        where.append("c.placed_at >= ?")
        args.append(since)
    if open_only:
        where.append(OPEN)
    if visible_to is not None:
        where.append("c.lead_id IN (SELECT id FROM leads WHERE owner IS NULL OR owner = ?)")
        args.append(visible_to)
    return conn.execute(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.id", args).fetchall()


def notes(conn: sqlite3.Connection, lead_id: int, limit: int) -> list[sqlite3.Row]:
    """The lead's last `limit` notes (events of kind note), oldest first."""
    rows = conn.execute(
        "SELECT at, rep, data FROM events WHERE lead_id = ? AND kind = 'note' ORDER BY id DESC LIMIT ?",
        (lead_id, limit),
    ).fetchall()
    return rows[::-1]
