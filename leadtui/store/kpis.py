"""W20's SQL: each rep's day of counters (kpi_days, kept by triggers as events and calls are written),
the same by quarter hour from the events and the call log, and a rep's presses on a lead in a day
(for the once-a-day rule). Each runs in the caller's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from leadtui.core.kpi import COUNTERS
from leadtui.store.engines import on_server

# An event stands unless an undo names it.
STANDING = "NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id)"


def _quarter(column: str) -> str:
    """A stored UTC time cut to its quarter hour, "2026-11-23T20:45" (the floor-local hour of each
    is found in core: zones are whole quarter hours off UTC)."""
    minute = f"CAST(substr({column}, 15, 2) AS INTEGER)"
    return (
        f"substr({column}, 1, 14) || CASE WHEN {minute} < 15 THEN '00' WHEN {minute} < 30 THEN '15'"
        f" WHEN {minute} < 45 THEN '30' ELSE '45' END"
    )


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
    return " AND ".join(where) or "true", args


def days(
    conn: sqlite3.Connection, since: str | None, until: str | None, rep: str | None
) -> list[sqlite3.Row]:
    """Each rep's floor days from kpi_days: rep, day and COUNTERS. Days are inclusive ISO dates; None
    leaves that end open."""
    where, args = _where("k", since, until, rep)
    return conn.execute(
        f"SELECT k.rep, k.day, {', '.join(COUNTERS)} FROM kpi_days k WHERE {where}", args
    ).fetchall()


def credited(
    conn: sqlite3.Connection, since: str | None, until: str | None, rep: str | None
) -> list[sqlite3.Row]:
    """Credit events per rep, floor day, UTC quarter hour and counter set: rep, day, quarter, kpi, n.
    Undone events are counted, then taken away again in rows of negative n: an undo follows its
    event within minutes (W19), so it is among the few undos of the days around, found faster than
    asking of each event if it stands."""
    where, args = _where("e", since, until, rep, ("e.kpi IS NOT NULL",))
    near, near_args = _where("u", None, None, None, ("u.undoes IS NOT NULL",))
    for clause, value, shift in ((">=", since, -2), ("<=", until, 2)):
        if value is not None:  # its event's day or the next (two either side: stations set apart)
            near += f" AND u.day {clause} ?"
            near_args.append((date.fromisoformat(value) + timedelta(days=shift)).isoformat())
    quarter = _quarter("e.at")
    group = "e.day, e.rep, e.kpi, quarter"  # events_kpi's order first
    return conn.execute(
        f"SELECT e.rep, e.day, {quarter} AS quarter, e.kpi, count(*) AS n FROM events e WHERE {where}"
        f" GROUP BY {group} UNION ALL SELECT e.rep, e.day, {quarter} AS quarter, e.kpi, -count(*) AS n"
        f" FROM events u JOIN events e ON e.id = u.undoes WHERE {near} AND {where} GROUP BY {group}",
        [*args, *near_args, *args],
    ).fetchall()


def calls(
    conn: sqlite3.Connection, since: str | None, until: str | None, rep: str | None
) -> list[sqlite3.Row]:
    """The call log per rep, floor day and UTC quarter hour placed: rep, day, quarter, calls, connects
    (answered) and talk_seconds (answered to ended, as kpi_days counts it)."""
    where, args = _where("c", since, until, rep)
    if on_server(conn):  # no julianday there: the schema's talk_seconds, as its trigger counts
        talk = "sum(talk_seconds(c.answered_at, c.ended_at))"
    else:
        talk = (
            "coalesce(sum(CASE WHEN c.answered_at IS NOT NULL AND c.ended_at IS NOT NULL"
            "  THEN max(0, CAST(round((julianday(c.ended_at) - julianday(c.answered_at)) * 86400) AS INTEGER))"
            " END), 0)"
        )
    return conn.execute(
        f"SELECT c.rep, c.day, {_quarter('c.placed_at')} AS quarter, count(*) AS calls,"
        f" count(c.answered_at) AS connects, {talk} AS talk_seconds"
        f" FROM calls c WHERE {where} GROUP BY c.day, c.rep, quarter",  # calls_day's order first
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
