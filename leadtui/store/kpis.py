"""W20's SQL: the credit events carry (per rep, day and counter set), the call log's figures, and a
rep's presses on a lead in a day (for the once-a-day rule). Each runs in the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

# An event stands unless an undo names it.
STANDING = "NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id)"


def _quarter(column: str) -> str:
    """A stored UTC time cut to its quarter hour, "2026-11-23T20:45" (the floor-local hour of each
    is found in core: zones are whole quarter hours off UTC)."""
    return f"substr({column}, 1, 14) || printf('%02d', CAST(substr({column}, 15, 2) AS INTEGER) / 15 * 15)"


def _where(
    table: str, since: str | None, until: str | None, rep: str | None, extra: Sequence[str] = ()
) -> tuple[str, list[Any]]:
    where, args = list(extra), list[Any]()
    for clause, value in ((">=", since), ("<=", until)):
        if value is not None:
            where.append(f"{table}.day {clause} ?")
            args.append(value)
    if rep is not None:
        where.append(f"{table}.rep = ?")
        args.append(rep)
    return " AND ".join(where) or "1", args


def credited(
    conn: sqlite3.Connection, since: str | None, until: str | None, rep: str | None, *, by_hour: bool = False
) -> list[sqlite3.Row]:
    """Credit events per rep, floor day (and UTC quarter hour) and counter set: rep, day, kpi, n (and
    quarter). Days are inclusive ISO dates; None leaves that end open. Undone events are counted, then
    taken away again in rows of negative n: an undo follows its event within minutes (W19), so it is
    among the few undos of the days around, found faster than asking of each event if it stands."""
    where, args = _where("e", since, until, rep, ("e.kpi IS NOT NULL",))
    near, near_args = _where("u", None, None, None, ("u.undoes IS NOT NULL",))
    for clause, value, shift in ((">=", since, "-2 days"), ("<=", until, "+2 days")):
        if value is not None:  # its event's day or the next (two either side: stations set apart)
            near += f" AND u.day {clause} date(?, '{shift}')"
            near_args.append(value)
    quarter = f", {_quarter('e.at')} AS quarter" if by_hour else ""
    group = f"e.day, e.rep, e.kpi{', quarter' if by_hour else ''}"  # events_kpi's order
    return conn.execute(
        f"SELECT e.rep, e.day{quarter}, e.kpi, count(*) AS n FROM events e WHERE {where} GROUP BY {group}"
        f" UNION ALL SELECT e.rep, e.day{quarter}, e.kpi, -count(*) AS n FROM events u"
        f" JOIN events e ON e.id = u.undoes WHERE {near} AND {where} GROUP BY {group}",
        [*args, *near_args, *args],
    ).fetchall()


def calls(
    conn: sqlite3.Connection, since: str | None, until: str | None, rep: str | None, *, by_hour: bool = False
) -> list[sqlite3.Row]:
    """The call log per rep, floor day (and UTC quarter hour placed): calls, connects (answered) and
    talk_seconds (answered to ended)."""
    where, args = _where("c", since, until, rep)
    quarter = f", {_quarter('c.placed_at')} AS quarter" if by_hour else ""
    return conn.execute(
        f"SELECT c.rep, c.day{quarter}, count(*) AS calls, count(c.answered_at) AS connects,"
        " coalesce(sum(CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL"
        "  THEN max(0, CAST(round((julianday(c.ended_at) - julianday(c.answered_at)) * 86400) AS INTEGER))"
        " END), 0) AS talk_seconds"
        f" FROM calls c WHERE {where} GROUP BY c.day, c.rep{', quarter' if by_hour else ''}",  # calls_day's order
        args,
    ).fetchall()


def presses(
    conn: sqlite3.Connection, lead_id: int, rep: str, day: str, kinds: Sequence[str]
) -> list[sqlite3.Row]:
    """The rep's standing events of these kinds on the lead that floor day: kind, status, data."""
    marks = ", ".join("?" * len(kinds))
    return conn.execute(
        f"SELECT e.kind, e.status, e.data FROM events e WHERE e.lead_id = ? AND e.day = ? AND e.rep = ?"
        f" AND e.kind IN ({marks}) AND {STANDING}",
        (lead_id, day, rep, *kinds),
    ).fetchall()
