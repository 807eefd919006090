"""The reports' SQL: status counts, contacts by status, the export stream."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import groupby

from leadtui.core.facts import COLUMNS as FACT_COLUMNS
from leadtui.store.engines import on_server
from leadtui.store.queries import LEAD_FIELDS

CONTACT_COLUMNS = (
    "id",
    *LEAD_FIELDS,
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


# An export's further lead columns (the state a re-import restores, the facts) and the lead's
# notes (D5: events of kind note, never undone) as a count and a JSON list, oldest first.
EXPORT_COLUMNS = (
    "hold_until",
    "next_call_at",
    "appointment_at",
    "offer_amount",
    "contract_path",
    "followup_requested_at",
    "callback",
    "cooloff_until",
    "cur_phone",
    "dial_run",
    "notes",
    *FACT_COLUMNS,
)
_NOTES = (
    "(SELECT count(*) FROM events e WHERE e.lead_id = l.id AND e.kind = 'note') AS note_count,"
    " (SELECT nullif(json_group_array(json_object('at', at, 'rep', rep, 'text', text)), '[]') FROM"
    "  (SELECT e.at, e.rep, json_extract(e.data, '$.text') AS text FROM events e"
    "   WHERE e.lead_id = l.id AND e.kind = 'note' ORDER BY e.id)) AS note_log"
)
# (PostgreSQL has no json_group_array: the same compact JSON text as SQLite's, put together)
_PG_NOTES = (
    "(SELECT count(*) FROM events e WHERE e.lead_id = l.id AND e.kind = 'note') AS note_count,"
    " (SELECT '[' || string_agg('{\"at\":' || to_json(e.at)::text || ',\"rep\":' || coalesce(to_json(e.rep)::text,"
    " 'null') || ',\"text\":' || coalesce(to_json(e.data::json->>'text')::text, 'null') || '}', ',' ORDER BY e.id)"
    " || ']' FROM events e WHERE e.lead_id = l.id AND e.kind = 'note') AS note_log"
)


def _visible(clause: str, args: list, visible_to: str | None) -> str:
    if visible_to is None:
        return clause
    args.append(visible_to)
    return f"{clause} {'AND' if clause else 'WHERE'} (l.owner IS NULL OR l.owner = ?)"


def contacts(
    conn: sqlite3.Connection,
    rep: str | None = None,
    list_name: str | None = None,
    status: str | None = None,
    visible_to: str | None = None,
    export: bool = False,
) -> Iterator[tuple[sqlite3.Row, list[sqlite3.Row]]]:
    """Each lead (CONTACT_COLUMNS; with `export` also EXPORT_COLUMNS and its notes) with its phones,
    by id, streamed; with `visible_to`, only the pool's leads and that rep's (W14)."""
    clause, args = _where(rep, list_name, status)
    clause = _visible(clause, args, visible_to)
    cols = ", ".join(f"l.{c}" for c in CONTACT_COLUMNS + (EXPORT_COLUMNS if export else ()))
    if export:
        cols += f", {_PG_NOTES if on_server(conn) else _NOTES}"
    rows = conn.execute(
        f"SELECT {cols}, p.position AS p_position, p.number AS p_number, p.type AS p_type, p.dnc AS p_dnc,"
        f" p.litigator AS p_litigator, p.bad AS p_bad, p.wrong_reports AS p_wrong_reports"
        f" FROM leads l LEFT JOIN phones p ON p.lead_id = l.id{clause} ORDER BY l.id, p.position",
        args,
    )
    for _, group in groupby(rows, key=lambda r: r["id"]):
        items = list(group)
        yield items[0], [r for r in items if r["p_number"] is not None]


def count_contacts(conn: sqlite3.Connection, status: str | None = None, visible_to: str | None = None) -> int:
    """How many leads `contacts` yields (an export's progress bar)."""
    clause, args = _where(None, None, status)
    clause = _visible(clause, args, visible_to)
    return conn.execute(f"SELECT count(*) FROM leads l{clause}", args).fetchone()[0]


def max_phones(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(position), 0) FROM phones").fetchone()[0]
