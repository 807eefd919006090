"""Loading many leads fast: plain `executemany` inside the caller's write transaction.

The demo data and the benchmarks use this instead of one
`insert_lead` per row (sqlite-utils' `insert_all` is 3-6x slower on these
machines). It writes rows and nothing else: no rule, no event, no outbox row;
the caller decides what a load means (an import event, a status) and records it.

    from leadtui.store import bulk

    with db.write() as conn:          # BEGIN IMMEDIATE: we hold the write lock
        ids = bulk.insert_leads(conn, leads, lambda lead: lead["phones"])
    # ids is a range: the n-th lead given got ids[n]

Ids are given explicitly (`max(id) + 1` onwards), which is safe because the
caller holds the write lock, and lets phone rows name their lead without a
round trip per row.

Why a staging table: the `leads_fts_insert` trigger writes FTS5, and FTS5
flushes its pending terms to disk at every statement savepoint
(`fts5SavepointMethod`). With one `executemany` row per statement that is one
tiny segment plus merge work per lead. So each batch goes by `executemany`
into a TEMP table (no trigger, no index), then by one `INSERT INTO leads ...
SELECT`: the trigger still fires per row, but FTS5 flushes once per batch.
Phones have no FTS and go in by plain `executemany`.

Measured on these machines (benchmarks/bench_status.py), 1M leads with 1.84M
phones, 100k leads per transaction: 108.6 s with `executemany` straight into
`leads`, 58.3 s this way (17k leads/s, 49k rows/s with 10 indexes and FTS),
47.9 s with the FTS trigger dropped (which we don't: search must find what was
just loaded). The rest is index upkeep: a caller loading millions can raise
the connection's page cache for the load (`PRAGMA cache_size = -262144`,
256 MiB: 47.0 s with FTS).

On PostgreSQL (`conn.engine`), each batch of leads and then its phones go by `COPY ... FROM
STDIN` (no staging table: the search index is a GIN index the server keeps itself), events
and calls too; the ids given, the tables' identities are moved past them in the same
transaction (`_after_ids`), so a station's next row does not take one of them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from leadtui.store.engines import on_server
from leadtui.store.postgres import raw
from leadtui.store.queries import LEAD_COLUMNS, PHONE_COLUMNS

# What a missing key becomes; the schema's NOT NULL DEFAULTs, since an explicit NULL skips them.
DEFAULTS: Mapping[str, Any] = {"emails": "[]", "notes": "", "dial_run": 0, "dead": 0}

STAGE = "leadtui_bulk_leads"  # the TEMP staging table, dropped again before returning

PhoneRow = Sequence[Any]  # PHONE_COLUMNS without lead_id: (position, number, type, dnc, litigator, tz)
PHONE_ROW = PHONE_COLUMNS[1:]


def insert_leads(
    conn: sqlite3.Connection,
    leads: Iterable[Mapping[str, Any]],
    phones_of: Callable[[Mapping[str, Any]], Iterable[PhoneRow]] | None = None,
    *,
    columns: Sequence[str] = LEAD_COLUMNS,
    phone_columns: Sequence[str] = PHONE_ROW,
    batch: int = 20_000,
) -> range:
    """Insert `leads` (and each one's phones) in the open transaction; return their new ids.

    leads: mappings keyed by `columns` (default `queries.LEAD_COLUMNS`); a missing key is
        NULL, or its schema default for `emails`, `notes`, `dial_run`, `dead`. `status`,
        `created_at` and `updated_at` are required by the schema. Pass extra state columns
        (e.g. `columns=LEAD_COLUMNS + ("owner", "next_call_at")`) to load those too.
    phones_of: called once per lead, returns its phone rows in `PHONE_COLUMNS` order
        without `lead_id`: `(position, number, type, dnc, litigator, tz)`. Numbers should
        already be E.164 (`core.phones.normalize`); positions count from 1. Another order or
        more phone columns: `phone_columns=("position", "number", "type", "dnc", "litigator", "bad", "tz")`.
    batch: leads held in memory at a time, so a generator of millions streams.

    The caller must hold the write lock (`with db.write() as conn:`); the ids are
    `range(max(id) + 1, max(id) + 1 + n)`, in the order the leads came. A constraint
    error (say a phone given twice for one lead) raises `sqlite3.IntegrityError` and
    leaves the rollback to the caller's transaction.
    """
    if not conn.in_transaction:
        raise RuntimeError("bulk.insert_leads needs the caller's write transaction (with db.write() as conn)")
    server = on_server(conn)
    if server:  # (no PRAGMA there: the catalog's columns)
        known = {row[0] for row in conn.execute(_COLUMNS, ("leads",))} - {"id"}
    else:
        known = {row[1] for row in conn.execute("PRAGMA main.table_info(leads)")} - {"id"}
    if unknown := [c for c in columns if c not in known]:
        raise ValueError(f"not columns of leads: {', '.join(map(repr, unknown))}")
    cols = ", ".join(("id", *columns))
    marks = ", ".join("?" * (len(columns) + 1))
    phone_sql = f"INSERT INTO phones(lead_id, {', '.join(phone_columns)}) VALUES ({', '.join('?' * (len(phone_columns) + 1))})"
    defaults = [DEFAULTS.get(c) for c in columns]
    if server:
        return _copy_leads(conn, leads, phones_of, columns, phone_columns, defaults, batch)
    conn.execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
    conn.execute(f"CREATE TEMP TABLE {STAGE}(id INTEGER PRIMARY KEY, {', '.join(columns)})")
    start = next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM leads").fetchone()[0]
    it = iter(leads)
    while chunk := list(islice(it, batch)):
        lead_rows: list[tuple[Any, ...]] = []
        phone_rows: list[tuple[Any, ...]] = []
        for lead_id, lead in enumerate(chunk, next_id):
            lead_rows.append((lead_id, *[lead.get(c, d) for c, d in zip(columns, defaults, strict=True)]))
            if phones_of is not None:
                phone_rows.extend((lead_id, *p) for p in phones_of(lead))
        conn.executemany(f"INSERT INTO temp.{STAGE}({cols}) VALUES ({marks})", lead_rows)
        conn.execute(f"INSERT INTO main.leads({cols}) SELECT {cols} FROM temp.{STAGE} ORDER BY id")
        conn.execute(f"DELETE FROM temp.{STAGE}")
        if phone_rows:
            conn.executemany(phone_sql, phone_rows)
        next_id += len(chunk)
    conn.execute(f"DROP TABLE temp.{STAGE}")
    return range(start, next_id)


_COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"


def _copy_leads(
    conn: Any,
    leads: Iterable[Mapping[str, Any]],
    phones_of: Callable[[Mapping[str, Any]], Iterable[PhoneRow]] | None,
    columns: Sequence[str],
    phone_columns: Sequence[str],
    defaults: list[Any],
    batch: int,
) -> range:
    """insert_leads on PostgreSQL: a batch of leads by COPY, then the batch's phones by COPY."""
    cur = conn.raw.cursor()
    start = next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM leads").fetchone()[0]
    it = iter(leads)
    while chunk := list(islice(it, batch)):
        phone_rows: list[tuple[Any, ...]] = []
        with cur.copy(f"COPY leads ({', '.join(('id', *columns))}) FROM STDIN") as copy:
            for lead_id, lead in enumerate(chunk, next_id):
                copy.write_row((lead_id, *[lead.get(c, d) for c, d in zip(columns, defaults, strict=True)]))
                if phones_of is not None:
                    phone_rows.extend((lead_id, *p) for p in phones_of(lead))
        if phone_rows:
            with cur.copy(f"COPY phones (lead_id, {', '.join(phone_columns)}) FROM STDIN") as copy:
                for row in phone_rows:
                    copy.write_row(row)
        next_id += len(chunk)
    if next_id > start:
        _after_ids(conn, "leads")
    return range(start, next_id)


def _after_ids(conn: Any, table: str) -> None:
    """PostgreSQL: the table's identity moved past the ids given (its next row's id is max + 1)."""
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} HAVING max(id) IS NOT NULL"
    )


# A floor's history at once (the benchmarks' 30 days of events and calls): rows in these columns, ids
# given by the caller, who holds the write lock and so may number them from max(id) + 1.
EVENT_COLUMNS = (
    "id",
    "lead_id",
    "at",
    "day",
    "rep",
    "kind",
    "status",
    "phone_id",
    "dial",
    "kpi",
    "undoes",
    "data",
)
CALL_COLUMNS = (
    "lead_id",
    "phone_id",
    "number",
    "rep",
    "station",
    "system",
    "placed_at",
    "day",
    "ringing_at",
    "answered_at",
    "ended_at",
    "end_reason",
    "outcome_status",
    "outcome_event_id",
    "reported",
)


def insert_events(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
    """Events as given, in EVENT_COLUMNS order, by `executemany` in the caller's write transaction."""
    _insert(conn, "events", EVENT_COLUMNS, rows)


def insert_calls(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> None:
    """Call-log rows as given, in CALL_COLUMNS order, by `executemany` in the caller's write transaction."""
    _insert(conn, "calls", CALL_COLUMNS, rows)


def _insert(
    conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    if not conn.in_transaction:
        raise RuntimeError(f"bulk inserts into {table} need the caller's write transaction")
    if on_server(conn):  # COPY: the rows as given (events' ids too, then its identity moves on)
        with raw(conn).cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if "id" in columns:
            _after_ids(conn, table)
        return
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})", rows)
