"""The reports' SQL: status counts, contacts by status, the export stream."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import groupby

CONTACT_COLUMNS = (
    "id",
    "owner_name",
    "address",
    "city",
    "state",
    "zip",
    "mailing_address",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "apn",
    "county",
    "emails",
    "source_list",
    "source_status",
    "status",
    "owner",
    "dead",
)


def _where(rep: str | None, list_name: str | None, status: str | None = None) -> tuple[str, list]:
    where, args = [], []
    for column, value in (("owner", rep), ("source_list", list_name), ("status", status)):
        if value is not None:
            where.append(f"l.{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", args


def status_counts(
    conn: sqlite3.Connection, rep: str | None = None, list_name: str | None = None
) -> dict[str, int]:
    """Leads per status, killed ones included (under their red status).

    Live and killed leads are counted apart so each half can read a partial index on status
    (`leads_status ... WHERE dead = 0`) instead of the whole table.
    """
    clause, args = _where(rep, list_name)
    clause = clause.replace(" WHERE ", " AND ")
    out: dict[str, int] = {}
    for dead in (0, 1):
        for status, n in conn.execute(
            f"SELECT l.status, count(*) FROM leads l WHERE l.dead = {dead}{clause} GROUP BY l.status", args
        ):
            out[status] = out.get(status, 0) + n
    return out


def contacts(
    conn: sqlite3.Connection,
    rep: str | None = None,
    list_name: str | None = None,
    status: str | None = None,
    visible_to: str | None = None,
) -> Iterator[tuple[sqlite3.Row, list[sqlite3.Row]]]:
    """Each lead (CONTACT_COLUMNS) with its phones, by id, streamed; with `visible_to`, only the
    pool's leads and that rep's (W14)."""
    clause, args = _where(rep, list_name, status)
    if visible_to is not None:
        clause = f"{clause} {'AND' if clause else 'WHERE'} (l.owner IS NULL OR l.owner = ?)"
        args.append(visible_to)
    cols = ", ".join(f"l.{c}" for c in CONTACT_COLUMNS)
    rows = conn.execute(
        f"SELECT {cols}, p.position AS p_position, p.number AS p_number, p.type AS p_type, p.dnc AS p_dnc,"
        f" p.litigator AS p_litigator, p.bad AS p_bad"
        f" FROM leads l LEFT JOIN phones p ON p.lead_id = l.id{clause} ORDER BY l.id, p.position",
        args,
    )
    for _, group in groupby(rows, key=lambda r: r["id"]):
        items = list(group)
        yield items[0], [r for r in items if r["p_number"] is not None]


def max_phones(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(position), 0) FROM phones").fetchone()[0]
