"""The import's SQL: rows staged in a scratch file, then matched, merged and stored set-wise.

The reading thread puts each batch of rows into a `Staging` file (its own SQLite file, so
filling it never touches the floor's database or its lock). The writing thread then stores
the batch with `write_batch`: a handful of `INSERT ... SELECT` statements inside one write
transaction, so the per-row work is SQLite's C code, which runs while Python reads the next
batch. A killed import keeps whole batches only, and a re-run finds what they stored.

A row matches a stored lead on county + APN, else on the normalised property address
(`address_key`). A match keeps the lead (status, owner, fields) and gains the row's new
phones after its last one and the property facts it lacks; a DNC, litigator or bad flag a row
carries is added to the phone it names, never removed.

A first load (`store.indexes.defer`) has no parcel or address index to match on: it matches
on `temp.import_keys` instead, the 63-bit hashes of the keys of every lead stored since it
began (checked against the lead itself, so a hash collision never merges two properties).
That table lives in the import's own connection, off the WAL: storing a batch then only
appends to the database, where keeping random-keyed indexes current rewrote most of their
pages at every commit.

On PostgreSQL the same functions run store.pg_imports' SQL (the batch copied into TEMP tables
with COPY, merged with set-wise SQL; no ATTACH, PRAGMAs or key hashes): each branches on
`conn.engine` at its top.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zlib import adler32, crc32

from leadtui.store import pg_imports
from leadtui.store.engines import on_server
from leadtui.store.lease import NAME as LEASE
from leadtui.store.lease import Lease, held
from leadtui.store.queries import insert_event

PHONE_ROW = ("position", "number", "type", "dnc", "litigator", "bad", "tz", "wrong_reports")
NOTE_LOG = "note_log"  # a staged column, not a lead's: a leadtui export's notes, stored as note events
HASHES = ("parcel_h", "address_h")  # a staged row's key hashes (key_hashes), after its columns
SCRATCH = "leadtui-import-"  # the staging folder's prefix
SLOTS = 3  # batches staged at once: one being filled, one queued, one being stored
_PARCEL = "'p' || coalesce({0}county, '') || '|' || {0}apn"  # a dry run's key of a row's parcel


def tune_for_load(conn: sqlite3.Connection, first_load: bool) -> None:
    """For this connection only: WAL + NORMAL (a crash keeps every committed batch; a power cut
    may lose the last ones, which a re-run restores) and a bigger page cache: for index upkeep,
    or in a first load for `temp.import_keys` (the database itself is only appended to then:
    8 MiB of it load as fast as 32, with 20 MB less resident). The import runs as a
    `Database.job`: its checkpoints run in a thread of their own while batches go on."""
    if on_server(conn):  # no PRAGMAs on a server: its session's commits stop waiting for the disk
        pg_imports.tune_for_load(conn)
        return
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA main.cache_size = -{(8 if first_load else 128) * 1024}")
    conn.execute(f"PRAGMA temp.cache_size = -{(64 if first_load else 2) * 1024}")


def key_hashes(county: str | None, apn: str | None, address_key: str | None) -> tuple[int | None, int | None]:
    """A lead's parcel and address keys as 63-bit hashes (None where it has no such key), the
    same in every process (unlike `hash`): an import's reading processes compute them."""
    return _hash(f"p{county or ''}\x1f{apn}") if apn else None, _hash(
        f"a{address_key}"
    ) if address_key else None


def _hash(key: str) -> int:
    data = key.encode("utf-8", "surrogatepass")  # any text a cell holds
    return crc32(data) << 31 ^ adler32(data)


class Slots:
    """Scratch SQLite files named `{name}{slot}.db` in `folder`, one batch each.

    Rows are keyed by `seq` (the row's line in the file), phones by (seq, position). One file
    per slot because the writer attaches a batch's file for its write transaction, which
    locks every attached file: a reader must be free to fill the next slot meanwhile.
    The files are scratch (no journal, no sync); they go with their folder.
    """

    def __init__(self, columns: Sequence[str], folder: Path, name: str, count: int = SLOTS):
        self.columns = tuple(columns)
        self.folder, self.name = folder, name
        self._conns = []
        for slot in range(count):
            conn = sqlite3.connect(self.path(slot), isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute(f"CREATE TABLE leads(seq INTEGER PRIMARY KEY, {', '.join(self.columns + HASHES)})")
            conn.execute(
                f"CREATE TABLE phones(seq INTEGER, {', '.join(PHONE_ROW)}, PRIMARY KEY (seq, position)) WITHOUT ROWID"
            )
            self._conns.append(conn)
        self._lead_sql = (
            f"INSERT INTO leads VALUES ({', '.join('?' * (len(self.columns) + len(HASHES) + 1))})"
        )
        self._phone_sql = f"INSERT INTO phones VALUES ({', '.join('?' * (len(PHONE_ROW) + 1))})"

    def path(self, slot: int) -> str:
        return str(self.folder / f"{self.name}{slot}.db")

    def put(self, slot: int, leads: Iterable[Sequence[Any]], phones: Iterable[Sequence[Any]]) -> str:
        """Replace the slot's rows: leads as `(seq, *columns, *HASHES)`, phones as `(seq, *PHONE_ROW)`.
        Returns the slot's file."""
        conn = self._conns[slot]
        conn.execute("BEGIN")
        conn.execute("DELETE FROM leads")
        conn.execute("DELETE FROM phones")
        conn.executemany(self._lead_sql, leads)
        conn.executemany(self._phone_sql, phones)
        conn.execute("COMMIT")
        return self.path(slot)

    def close(self) -> None:
        for conn in self._conns:
            conn.close()


class Staging(Slots):
    """The import's scratch folder, with SLOTS slots of its own (batch number % SLOTS).

    The folder holds the import's lease while it runs, so the next import deletes what a
    killed one left behind; reading processes (`importing.readers`) put their slots there too.
    """

    def __init__(self, columns: Sequence[str], folder: str | None = None):
        sweep_dead(Path(folder or tempfile.gettempdir()))
        scratch = Path(tempfile.mkdtemp(prefix=SCRATCH, dir=folder))
        self.lease = Lease(scratch)
        super().__init__(columns, scratch, "slot")

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.lease.release()


def sweep_dead(folder: Path) -> None:
    """Delete the scratch folders of imports that are gone (killed, or the machine stopped)."""
    for path in folder.glob(f"{SCRATCH}*"):
        if (path / LEASE).is_file() and not held(path):
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def attached(conn: sqlite3.Connection, batch: str) -> Iterator[None]:
    """`conn` (the floor's database) reads a batch's slot file as schema `stage`, outside any transaction."""
    if on_server(conn):  # no ATTACH on a server: the batch is copied into TEMP tables
        with pg_imports.attached(conn, batch):
            yield
        return
    for table in (
        "import_hits(seq INTEGER PRIMARY KEY, lead_id INTEGER)",
        "import_fresh(id INTEGER PRIMARY KEY, seq INTEGER)",
        "import_seen(key TEXT PRIMARY KEY) WITHOUT ROWID",
        "import_keys(h INTEGER, lead_id INTEGER, PRIMARY KEY (h, lead_id)) WITHOUT ROWID",
    ):
        conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table}")
    conn.execute("ATTACH DATABASE ? AS stage", (batch,))
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("DETACH DATABASE stage")


def forget(conn: sqlite3.Connection) -> None:
    """Drop the import's TEMP tables from `conn` once the import is over."""
    if on_server(conn):
        pg_imports.forget(conn)
        return
    for table in ("import_hits", "import_fresh", "import_seen", "import_keys"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _match(conn: sqlite3.Connection, keyed: bool = False) -> None:
    """temp.import_hits: each staged row and the stored lead it is (NULL: a new property),
    found through the database's indexes or, `keyed`, through temp.import_keys."""
    if keyed:  # the first lead is the key's first, in its primary key's order: no sort per row
        via, first = (
            "temp.import_keys k JOIN main.leads l ON l.id = k.lead_id WHERE k.h = s.{} AND",
            "k.lead_id",
        )
    else:
        via, first = "main.leads l WHERE", "l.id"
    conn.execute("DELETE FROM temp.import_hits")
    conn.execute(
        "INSERT INTO temp.import_hits(seq, lead_id) SELECT s.seq, coalesce("
        f" (SELECT l.id FROM {via.format('parcel_h')} s.apn IS NOT NULL AND l.apn = s.apn AND l.county IS s.county"
        f"  ORDER BY {first} LIMIT 1),"
        f" (SELECT l.id FROM {via.format('address_h')} l.address_key = s.address_key ORDER BY {first} LIMIT 1))"
        " FROM stage.leads s"
    )


def _key(conn: sqlite3.Connection, since: int) -> None:
    """Into temp.import_keys, the keys of leads from id `since` on that the import did not store
    (added by hand meanwhile: rare). The import's own go in as it stores them."""
    rows = conn.execute(
        "SELECT id, county, apn, address_key FROM main.leads WHERE id >= ?", (since,)
    ).fetchall()
    conn.executemany(
        "INSERT OR IGNORE INTO temp.import_keys VALUES (?, ?)",
        [(h, row[0]) for row in rows for h in key_hashes(*row[1:]) if h is not None],
    )


def count_new(conn: sqlite3.Connection) -> int:
    """Dry run: how many staged rows would be new leads, counting earlier batches as stored.

    Earlier batches are remembered by key in the connection's TEMP schema (on disk, not in
    memory), since nothing is stored in the database.
    """
    if on_server(conn):
        return pg_imports.count_new(conn)
    _match(conn)
    new = conn.execute(
        f"SELECT count(*) FROM temp.import_hits h JOIN stage.leads s USING (seq) WHERE h.lead_id IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM temp.import_seen WHERE key IN ({_PARCEL.format('s.')}, 'a' || s.address_key))"
    ).fetchone()[0]
    conn.execute(
        f"INSERT OR IGNORE INTO temp.import_seen SELECT {_PARCEL.format('')} FROM stage.leads"
        f" WHERE apn IS NOT NULL UNION ALL SELECT 'a' || address_key FROM stage.leads WHERE address_key IS NOT NULL"
    )
    return new


def write_batch(
    conn: sqlite3.Connection,
    staged: Sequence[str],
    extra: dict[str, Any],
    keyed_from: int | None = None,
    facts: Sequence[str] = (),
) -> tuple[range, int]:
    """Store one staged batch in the caller's write transaction: new leads (with `extra` column
    values, e.g. status and times) and their phones (and notes, from a NOTE_LOG column), new phones
    and flags for matched leads, and the `facts` columns a matched lead lacks.
    A first load passes `keyed_from`, the id from which temp.import_keys may lack leads (the
    last call's new ids' stop). Returns the new leads' ids and the number of phones added."""
    if on_server(conn):  # (a first load there matches through the indexes: no `keyed_from`)
        return pg_imports.write_batch(conn, staged, extra, facts)
    columns = [c for c in staged if c != NOTE_LOG]
    start = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM main.leads").fetchone()[0]
    keyed = keyed_from is not None
    if keyed_from is not None and start > keyed_from:
        _key(conn, keyed_from)
    _match(conn, keyed)
    # The new rows, numbered from 1 in the file's order (an emptied table's rowids start at 1,
    # cheaper than a window function): row f becomes lead `shift + f.id`.
    conn.execute("DELETE FROM temp.import_fresh")
    conn.execute(
        "INSERT INTO temp.import_fresh(seq) SELECT seq FROM temp.import_hits WHERE lead_id IS NULL ORDER BY seq"
    )
    fresh, shift = conn.execute("SELECT changes()").fetchone()[0], start - 1
    names = ", ".join(columns)
    marks = ", ".join("?" * len(extra))
    conn.execute(
        f"INSERT INTO main.leads(id, {names}, {', '.join(extra)})"
        f" SELECT ? + f.id, {', '.join(f's.{c}' for c in columns)}, {marks}"
        f" FROM temp.import_fresh f CROSS JOIN stage.leads s ON s.seq = f.seq ORDER BY f.id",
        (shift, *extra.values()),
    )
    if keyed:
        conn.execute(
            "INSERT OR IGNORE INTO temp.import_keys SELECT h, ? + id FROM (SELECT s.parcel_h AS h, f.id"
            " FROM temp.import_fresh f JOIN stage.leads s USING (seq) UNION ALL SELECT s.address_h, f.id"
            " FROM temp.import_fresh f JOIN stage.leads s USING (seq)) WHERE h IS NOT NULL ORDER BY h",
            (shift,),
        )
    if NOTE_LOG in staged:  # D5's notes of a lead new here: note events, with their time and rep
        conn.execute(
            "INSERT INTO main.events(lead_id, at, day, rep, kind, data)"
            " SELECT ? + f.id, json_extract(n.value, '$.at'), substr(json_extract(n.value, '$.at'), 1, 10),"
            "  json_extract(n.value, '$.rep'), 'note', json_object('text', json_extract(n.value, '$.text'))"
            f" FROM temp.import_fresh f CROSS JOIN stage.leads s ON s.seq = f.seq, json_each(s.{NOTE_LOG}) n"
            f" WHERE s.{NOTE_LOG} IS NOT NULL ORDER BY f.id, n.key",
            (shift,),
        )
    phone_cols = ", ".join(PHONE_ROW)
    conn.execute(
        f"INSERT INTO main.phones(lead_id, {phone_cols})"
        f" SELECT ? + f.id, {', '.join(f'p.{c}' for c in PHONE_ROW)}"
        f" FROM temp.import_fresh f CROSS JOIN stage.phones p ON p.seq = f.seq ORDER BY f.id, p.position",
        (shift,),
    )
    # Matched leads: flags first (onto phones they already have), then the phones they lack.
    # (CROSS JOIN: the few matched rows lead, rather than a lookup for every staged phone.)
    conn.execute(
        "UPDATE main.phones SET dnc = max(phones.dnc, m.dnc), litigator = max(phones.litigator, m.lit),"
        " bad = max(phones.bad, m.bad)"
        " FROM (SELECT h.lead_id, p.number, max(p.dnc) AS dnc, max(p.litigator) AS lit, max(p.bad) AS bad"
        "       FROM temp.import_hits h CROSS JOIN stage.phones p ON p.seq = h.seq WHERE h.lead_id IS NOT NULL"
        "       GROUP BY h.lead_id, p.number) AS m"
        " WHERE phones.lead_id = m.lead_id AND phones.number = m.number"
        " AND (m.dnc > phones.dnc OR m.lit > phones.litigator OR m.bad > phones.bad)"
    )
    if facts:  # a matched lead gains the facts it lacks; the ones it has are kept
        conn.execute(
            f"UPDATE main.leads SET {', '.join(f'{c} = coalesce(leads.{c}, s.{c})' for c in facts)}"
            " FROM temp.import_hits h CROSS JOIN stage.leads s ON s.seq = h.seq"
            f" WHERE h.lead_id IS NOT NULL AND leads.id = h.lead_id"
            f" AND ({' OR '.join(f'(leads.{c} IS NULL AND s.{c} IS NOT NULL)' for c in facts)})"
        )
    conn.execute(
        f"INSERT INTO main.phones(lead_id, {phone_cols})"
        f" SELECT lead_id, last + row_number() OVER (PARTITION BY lead_id ORDER BY seq, position),"
        f"  number, type, dnc, litigator, bad, tz, wrong_reports FROM ("
        f"  SELECT h.lead_id, p.seq, {', '.join(f'p.{c}' for c in PHONE_ROW)}, row_number() OVER (PARTITION BY h.lead_id, p.number ORDER BY h.seq, p.position) AS nth,"
        f"   (SELECT coalesce(max(x.position), 0) FROM main.phones x WHERE x.lead_id = h.lead_id) AS last"
        f"  FROM temp.import_hits h CROSS JOIN stage.phones p ON p.seq = h.seq"
        f"  WHERE h.lead_id IS NOT NULL"
        f"  AND NOT EXISTS (SELECT 1 FROM main.phones x WHERE x.lead_id = h.lead_id AND x.number = p.number))"
        f" WHERE nth = 1 ORDER BY lead_id"
    )
    added = conn.execute("SELECT changes()").fetchone()[0]
    return range(start, start + fresh), added


def has_leads(conn: sqlite3.Connection) -> bool:
    """Whether the floor has a lead (an import into an empty one may be read by reading processes)."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM leads)").fetchone()[0] == 1


def record(conn: sqlite3.Connection, *, at: str, day: str, rep: str | None, data: dict) -> int:
    """The batch's `import` event (no lead: one per batch, naming the file and what it did)."""
    return insert_event(conn, lead_id=None, at=at, day=day, rep=rep, kind="import", data=data)
