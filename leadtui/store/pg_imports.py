"""The import's SQL on PostgreSQL (store.imports keeps SQLite's): what differs on a server.

A batch still comes staged in a scratch SQLite file on the importing machine (`imports.Slots`,
filled by the reading thread or the reading processes, as on SQLite). `attached` copies it
into this session's TEMP tables with `COPY ... FROM STDIN`, outside any transaction, so the
floor's write lock is not held meanwhile; `write_batch` then merges it into `leads` and
`phones` with a handful of set-wise statements in the caller's write transaction, which holds
the floor's lock shared and the imports' own (`db.write(shared=True, among="import")`: stations
write on other leads meanwhile) and locks the stored leads the batch merges into. TEMP tables are the session's own: a killed
import leaves nothing on the server (its scratch folder is swept as on SQLite).

What has no meaning on a server is left out: no ATTACH (the batch is copied in), no PRAGMAs
(the load sets `synchronous_commit = off` for its own session instead: a crash of the server
may lose the last batches, never half of one, and a re-run adds them, as SQLite's NORMAL; and
the planner's settings in SESSION),
no WAL checkpoints, and no first-load index dropping (store.indexes.defer): rows always match
through the indexes, so no key-hash table either. A NUL byte in a cell (SQLite stores it as
data) is stored as U+FFFD: PostgreSQL's text can't hold one. A new lead gets its id explicitly (max(id) +
1 on, under the imports' lock, while adding a lead by hand waits for the floor whole: the batch's
ids are a range in the file's order, as on SQLite), so the `leads` identity is moved past them in
the same transaction.

Measured (benchmarks/bench_import.py --rows 1000000 --postgresql URL, 2 cores shared with the
server): a first load of 1,000,000 rows at 4,883 rows/s (SQLite 21,052: it builds its indexes
at the end, a server keeps them, and each new phone's foreign key is checked); a 100,000-row
second list into the 979,779-lead floor at 4,207 rows/s (SQLite 3,581). At that size every
statement of the merge runs through the indexes (EXPLAIN: no scan of leads or phones).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from leadtui.errors import LeadtuiError

NOTE_LOG = "note_log"  # (as store.imports: a staged column holding a leadtui export's notes, JSON)
PHONE_ROW = ("position", "number", "type", "dnc", "litigator", "bad", "tz", "wrong_reports")
LEADS, PHONES = "import_stage_leads", "import_stage_phones"  # TEMP: the batch being stored
PHONE_TYPES = ("bigint", "text", "text", "bigint", "bigint", "bigint", "text", "bigint")
WORK = (
    "import_hits(seq bigint PRIMARY KEY, lead_id bigint)",
    "import_fresh(id bigint PRIMARY KEY, seq bigint NOT NULL)",
    "import_seen(key text PRIMARY KEY)",
)
# For the import's session only (see the module's docstring), put back by `forget`. jit: the
# merge's estimated costs set off the JIT compiler, 40-45 ms a batch for statements that ran in
# less; random_page_cost: the floor is in the server's memory, and at 4 the planner scanned all
# phones (330,000 at a 110,000-lead floor: 190 ms a batch) rather than look 15,000 up by index.
SESSION = {"synchronous_commit": "off", "jit": "off", "random_page_cost": "1.1"}


def _types(raw: Any) -> dict[str, str]:
    """The column types of `leads`, for staging columns of the same names."""
    rows = raw.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = 'leads'::regclass AND attnum > 0 AND NOT attisdropped"
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def _stage_tables(raw: Any, columns: Sequence[str]) -> list[str]:
    """This session's TEMP tables for a batch with these staged columns (made again if they differ).
    Returns the staged columns' types."""
    have = [
        row[0]
        for row in raw.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('pg_temp.' || %s)"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (LEADS,),
        ).fetchall()
    ]
    types = _types(raw)
    kinds = {c: types.get(c, "bigint" if c.endswith("_h") else "text") for c in columns}
    if have != ["seq", *columns]:
        raw.execute(f"DROP TABLE IF EXISTS pg_temp.{LEADS}")
        defined = ", ".join(f"{c} {kind}" for c, kind in kinds.items())
        raw.execute(f"CREATE TEMP TABLE {LEADS} (seq bigint PRIMARY KEY, {defined})")
    phones = ", ".join(f"{c} {t}" for c, t in zip(PHONE_ROW, PHONE_TYPES, strict=True))
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {PHONES} (seq bigint, {phones}, PRIMARY KEY (seq, position))"
    )
    for table in WORK:
        raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}")
    return list(kinds.values())


def _escaped(column: str, kind: str) -> str:
    """SQLite's expression for a staged cell as COPY's text format writes it (NULL as \\N;
    backslash, tab, newline and carriage return escaped; a double with 17 digits: exact)."""
    if kind in ("text", "citext"):
        for code, char in (("'\\'", "\\\\"), ("char(9)", "\\t"), ("char(10)", "\\n"), ("char(13)", "\\r")):
            column = f"replace({column}, {code}, '{char}')"
        return f"coalesce({column}, '\\N')"
    if kind == "double precision":
        return f"coalesce(CASE WHEN typeof({column}) = 'real' THEN printf('%!.17g', {column}) ELSE {column} END, '\\N')"
    return f"coalesce({column}, '\\N')"


def _odd(texts: Sequence[str], doubles: Sequence[str]) -> str:
    """SQLite's test for a staged row Python writes instead (`_rows`): a NUL byte in a text cell,
    or a double SQLite can't write exactly (from 1e100 on its 17 digits may miss by one)."""
    tests = [f"instr({c}, CAST(x'00' AS TEXT)) > 0" for c in texts]
    tests += [f"(typeof({c}) = 'real' AND abs({c}) >= 1e100)" for c in doubles]
    return f"coalesce({' OR '.join(tests)}, 0)" if tests else "0"


def _copy(
    cur: Any, source: sqlite3.Connection, table: str, columns: Sequence[str], kinds: Sequence[str], sql: str
) -> None:
    """COPY the rows of `sql` (in `columns`, of those `kinds`) into `table`: SQLite writes each
    row's line of COPY text itself, all in one string sent in one piece (psycopg's write_row,
    Python per row, took most of a batch's time); the rare odd row (`_odd`) goes by write_row, a NUL as U+FFFD, as
    PostgreSQL's text can't hold one."""
    texts = [c for c, k in zip(columns, kinds, strict=True) if k in ("text", "citext")]
    doubles = [c for c, k in zip(columns, kinds, strict=True) if k == "double precision"]
    line = " || char(9) || ".join(_escaped(c, k) for c, k in zip(columns, kinds, strict=True))
    odd = _odd(texts, doubles)
    # (one string in one step: fetched row by row, each row waited for the GIL the reading thread holds)
    plain = source.execute(f"SELECT group_concat({line} || char(10), '') FROM ({sql}) WHERE NOT {odd}")
    text = plain.fetchone()[0]
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        if text:
            copy.write(text)
        for row in source.execute(f"SELECT * FROM ({sql}) WHERE {odd}"):
            copy.write_row([v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row])


@contextmanager
def attached(conn: Any, batch: str) -> Iterator[None]:
    """The batch's slot file copied into this session's TEMP tables (COPY, in autocommit: no lock
    on the floor is held meanwhile), for `write_batch` or `count_new`."""
    import psycopg

    source = sqlite3.connect(batch)
    try:
        columns = [row[1] for row in source.execute("PRAGMA table_info(leads)")][1:]
        raw = conn.raw
        try:
            made = getattr(conn, "import_staging", None)  # (made at the import's first batch)
            if made is None or made[0] != columns:
                made = conn.import_staging = (columns, _stage_tables(raw, columns))
            raw.execute(f"TRUNCATE {LEADS}, {PHONES}")  # (a DELETE left each batch's rows behind, dead)
            cur = raw.cursor()
            _copy(cur, source, LEADS, ["seq", *columns], ["bigint", *made[1]], "SELECT * FROM leads")
            phones = ["seq", *PHONE_ROW]
            _copy(
                cur,
                source,
                PHONES,
                phones,
                ["bigint", *PHONE_TYPES],
                f"SELECT {', '.join(phones)} FROM phones",
            )
            # the merge's plans need the batch's size: without, adding matched leads' phones took 15 of 25 s
            # (the columns the merge joins and filters on: all of them took 100 ms a 5,000-row batch)
            raw.execute(
                f"ANALYZE {LEADS} (seq, county, apn, address_key), {PHONES} (seq, number, dnc, litigator, bad)"
            )
        except psycopg.Error as exc:
            if conn.in_transaction:
                raw.execute("ROLLBACK")
            text = " ".join(str(exc).split())
            raise LeadtuiError(f"the import could not stage a batch on the server: {text}") from None
    finally:
        source.close()
    yield


def tune_for_load(conn: Any) -> None:
    for name, value in SESSION.items():
        conn.raw.execute(f"SET {name} = {value}")


def forget(conn: Any) -> None:
    """Drop the import's TEMP tables and put the session's settings back (best effort: they go
    with the session anyway, and a lost connection has its own error to tell)."""
    import psycopg

    conn.import_staging = None
    with suppress(psycopg.Error):
        for table in (LEADS, PHONES, *(t.partition("(")[0] for t in WORK)):
            conn.raw.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        for name in SESSION:
            conn.raw.execute(f"RESET {name}")


def _match(cur: Any, empty: str = "TRUNCATE") -> None:
    """import_hits: each staged row and the stored lead it is (NULL: a new property), through the
    parcel index (county + APN; a row without a county matches a lead without one) or the address key.
    (`l.id + 0`: ordered by the primary key, the planner walked it from the start for every row
    while a first load's `leads` had no statistics yet: 60 of 78 s at 40,000 rows.)"""
    cur.execute(
        f"{empty} import_hits"
    )  # (TRUNCATE: no dead rows left behind; a dry run's read-only DELETE FROM)
    cur.execute(
        "INSERT INTO import_hits(seq, lead_id) SELECT s.seq, coalesce("
        " CASE WHEN s.apn IS NULL THEN NULL"
        "  WHEN s.county IS NULL THEN (SELECT l.id FROM leads l WHERE l.county IS NULL AND l.apn = s.apn"
        "   ORDER BY l.id + 0 LIMIT 1)"
        "  ELSE (SELECT l.id FROM leads l WHERE l.county = s.county AND l.apn = s.apn ORDER BY l.id + 0 LIMIT 1) END,"
        " (SELECT l.id FROM leads l WHERE l.address_key = s.address_key ORDER BY l.id + 0 LIMIT 1))"
        f" FROM {LEADS} s"
    )


def count_new(conn: Any) -> int:
    """Dry run: how many staged rows would be new leads, counting earlier batches as stored."""
    cur = conn.raw.cursor()
    _match(cur, "DELETE FROM")
    parcel = "'p' || coalesce({0}county, '') || '|' || {0}apn"
    cur.execute(
        f"SELECT count(*) FROM import_hits h JOIN {LEADS} s USING (seq) WHERE h.lead_id IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM import_seen WHERE key IN ({parcel.format('s.')}, 'a' || s.address_key))"
    )
    new = cur.fetchone()[0]
    cur.execute(
        f"INSERT INTO import_seen SELECT {parcel.format('')} FROM {LEADS} WHERE apn IS NOT NULL"
        f" UNION ALL SELECT 'a' || address_key FROM {LEADS} WHERE address_key IS NOT NULL ON CONFLICT DO NOTHING"
    )
    return new


def write_batch(
    conn: Any, staged: Sequence[str], extra: dict[str, Any], facts: Sequence[str] = ()
) -> tuple[range, int]:
    """store.imports.write_batch on PostgreSQL (same rows, ids and merges), in the caller's write
    transaction. Returns the new leads' ids and the number of phones added."""
    columns = [c for c in staged if c != NOTE_LOG]
    cur = conn.raw.cursor()
    cur.execute("SELECT coalesce(max(id), 0) + 1 FROM leads")
    start = cur.fetchone()[0]
    shift = start - 1
    _match(cur)
    # The stored leads this batch merges into, locked (in id order) before any is changed: the
    # batch holds the floor's lock shared, so a station's write on one of them (which takes its
    # row's lock first) waits for the batch, or the batch for it; never both at once. What the
    # match read needs no lock: a station never changes a lead's parcel or address, and adding a
    # lead holds the floor whole, so waits for the batch.
    cur.execute(
        "SELECT 1 FROM leads WHERE id IN (SELECT lead_id FROM import_hits WHERE lead_id IS NOT NULL)"
        " ORDER BY id FOR UPDATE"
    )
    cur.execute("TRUNCATE import_fresh")
    cur.execute(
        "INSERT INTO import_fresh(id, seq)"
        " SELECT row_number() OVER (ORDER BY seq), seq FROM import_hits WHERE lead_id IS NULL"
    )
    fresh = cur.rowcount
    # Matched leads: flags first (onto phones they already have), then the phones they lack.
    cur.execute(
        "UPDATE phones SET dnc = greatest(phones.dnc, m.dnc), litigator = greatest(phones.litigator, m.lit),"
        " bad = greatest(phones.bad, m.bad)"
        " FROM (SELECT h.lead_id, p.number, max(p.dnc) AS dnc, max(p.litigator) AS lit, max(p.bad) AS bad"
        f"       FROM import_hits h JOIN {PHONES} p ON p.seq = h.seq WHERE h.lead_id IS NOT NULL"
        # (only a flag raised can raise one: the few such phones are looked up by index, not all scanned)
        "       AND (p.dnc > 0 OR p.litigator > 0 OR p.bad > 0)"
        "       GROUP BY h.lead_id, p.number) AS m"
        " WHERE phones.lead_id = m.lead_id AND phones.number = m.number"
        " AND (m.dnc > phones.dnc OR m.lit > phones.litigator OR m.bad > phones.bad)"
    )
    if facts:  # a matched lead gains the facts it lacks; the ones it has are kept
        cur.execute(
            f"UPDATE leads SET {', '.join(f'{c} = coalesce(leads.{c}, s.{c})' for c in facts)}"
            f" FROM import_hits h JOIN {LEADS} s ON s.seq = h.seq"
            " WHERE h.lead_id IS NOT NULL AND leads.id = h.lead_id"
            f" AND ({' OR '.join(f'(leads.{c} IS NULL AND s.{c} IS NOT NULL)' for c in facts)})"
        )
    phone_cols = ", ".join(PHONE_ROW)
    cur.execute(
        f"INSERT INTO phones(lead_id, {phone_cols})"
        " SELECT lead_id, last + row_number() OVER (PARTITION BY lead_id ORDER BY seq, position),"
        "  number, type, dnc, litigator, bad, tz, wrong_reports FROM ("
        f"  SELECT h.lead_id, p.seq, {', '.join(f'p.{c}' for c in PHONE_ROW)},"
        "   row_number() OVER (PARTITION BY h.lead_id, p.number ORDER BY h.seq, p.position) AS nth,"
        "   (SELECT coalesce(max(x.position), 0) FROM phones x WHERE x.lead_id = h.lead_id) AS last"
        f"  FROM import_hits h JOIN {PHONES} p ON p.seq = h.seq"
        "  WHERE h.lead_id IS NOT NULL"
        "  AND NOT EXISTS (SELECT 1 FROM phones x WHERE x.lead_id = h.lead_id AND x.number = p.number)) AS t"
        " WHERE nth = 1 ORDER BY lead_id"
    )
    added = cur.rowcount
    # The new leads last: adding them takes their group's row of lead_counts (a trigger), which a
    # station's key moving a lead into or out of that group then waits for until the commit.
    if fresh:
        cur.execute(
            f"INSERT INTO leads(id, {', '.join(columns)}, {', '.join(extra)})"
            f" SELECT %s + f.id, {', '.join(f's.{c}' for c in columns)}, {', '.join(['%s'] * len(extra))}"
            f" FROM import_fresh f JOIN {LEADS} s ON s.seq = f.seq ORDER BY f.id",
            (shift, *extra.values()),
        )
        # the ids were given: the identity goes on after them (a station's next lead)
        cur.execute("SELECT setval(pg_get_serial_sequence('leads', 'id'), %s)", (shift + fresh,))
        if NOTE_LOG in staged:  # D5's notes of a lead new here: note events, with their time and rep
            cur.execute(
                "INSERT INTO events(lead_id, at, day, rep, kind, data)"
                " SELECT %s + f.id, n.value->>'at', substr(n.value->>'at', 1, 10), n.value->>'rep', 'note',"
                "  jsonb_build_object('text', n.value->>'text')::text"
                f" FROM import_fresh f JOIN {LEADS} s ON s.seq = f.seq"
                f" CROSS JOIN LATERAL jsonb_array_elements(s.{NOTE_LOG}::jsonb) WITH ORDINALITY AS n(value, key)"
                f" WHERE s.{NOTE_LOG} IS NOT NULL ORDER BY f.id, n.key",
                (shift,),
            )
        cur.execute(
            f"INSERT INTO phones(lead_id, {', '.join(PHONE_ROW)})"
            f" SELECT %s + f.id, {', '.join(f'p.{c}' for c in PHONE_ROW)}"
            f" FROM import_fresh f JOIN {PHONES} p ON p.seq = f.seq ORDER BY f.id, p.position",
            (shift,),
        )
    return range(start, start + fresh), added
