"""The import's SQL: match a batch against stored leads, merge phones, insert the rest.

One call of `write_batch` is one batch of one import, inside the caller's write
transaction: a killed import keeps whole batches only, and a re-run finds what they stored.
A row matches a stored lead on county + APN, else on the normalised property address
(`address_key`). A match keeps the lead (status, owner, fields) and gains the row's new
phones; a DNC or litigator flag a row carries is added to the phone it names, never removed.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable, Mapping, Sequence

from leadtui.store import bulk
from leadtui.store.queries import insert_event

PHONE_ROW = ("position", "number", "type", "dnc", "litigator", "bad", "tz")
KEYS = "leadtui_import_keys"


def tune_for_load(conn: sqlite3.Connection, cache_mib: int = 64) -> None:
    """For this connection only: WAL + NORMAL (a crash keeps every committed batch; a power cut
    may lose the last ones, which a re-run restores) and a bigger page cache for index upkeep."""
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = -{cache_mib * 1024}")


def match(conn: sqlite3.Connection, keys: Sequence[tuple[str | None, str | None, str | None]]) -> list[int | None]:
    """For each (county, apn, address_key): the id of the stored lead it is, or None."""
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {KEYS}(seq INTEGER PRIMARY KEY, county, apn, address_key)")
    conn.execute(f"DELETE FROM temp.{KEYS}")
    conn.executemany(f"INSERT INTO temp.{KEYS} VALUES (?, ?, ?, ?)", ((i, *k) for i, k in enumerate(keys)))
    rows = conn.execute(
        f"SELECT k.seq, coalesce("
        f" (SELECT l.id FROM main.leads l WHERE k.apn IS NOT NULL AND l.apn = k.apn AND l.county IS k.county ORDER BY l.id LIMIT 1),"
        f" (SELECT l.id FROM main.leads l WHERE l.address_key = k.address_key ORDER BY l.id LIMIT 1))"
        f" FROM temp.{KEYS} k ORDER BY k.seq").fetchall()
    return [r[1] for r in rows]


def merge_phones(conn: sqlite3.Connection, merges: Mapping[int, Sequence[Sequence[Any]]]) -> int:
    """Add each matched lead's new phones after its last one; OR in DNC/litigator flags. Returns phones added.

    merges: lead id -> phone rows `(number, type, dnc, litigator, bad, tz)`.
    """
    if not merges:
        return 0
    have: dict[int, dict[str, tuple[int, int]]] = {i: {} for i in merges}
    last: dict[int, int] = dict.fromkeys(merges, 0)
    for lead_id, number, position, dnc, lit in conn.execute(
            "SELECT lead_id, number, position, dnc, litigator FROM phones"
            " WHERE lead_id IN (SELECT value FROM json_each(?))", (json.dumps(list(merges)),)):
        have[lead_id][number] = (dnc, lit)
        last[lead_id] = max(last[lead_id], position)
    new, flags = [], []
    for lead_id, phones in merges.items():
        for number, kind, dnc, lit, bad, tz in phones:
            known = have[lead_id].get(number)
            if known is None:
                last[lead_id] += 1
                have[lead_id][number] = (dnc, lit)
                new.append((lead_id, last[lead_id], number, kind, dnc, lit, bad, tz))
            elif (dnc and not known[0]) or (lit and not known[1]):
                flags.append((dnc, lit, lead_id, number))
    conn.executemany(f"INSERT INTO phones(lead_id, {', '.join(PHONE_ROW)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", new)
    conn.executemany("UPDATE phones SET dnc = max(dnc, ?), litigator = max(litigator, ?) WHERE lead_id = ? AND number = ?",
                     flags)
    return len(new)


def insert(conn: sqlite3.Connection, leads: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> range:
    """New leads (each with a "phones" list of `(number, type, dnc, litigator, bad, tz)`); returns their ids."""
    return bulk.insert_leads(conn, leads, lambda lead: [(i, *p) for i, p in enumerate(lead["phones"], 1)],
                             columns=columns, phone_columns=PHONE_ROW, batch=1 << 30)


def record(conn: sqlite3.Connection, *, at: str, day: str, rep: str | None, data: dict) -> int:
    """The batch's `import` event (no lead: one per batch, naming the file and what it did)."""
    return insert_event(conn, lead_id=None, at=at, day=day, rep=rep, kind="import", data=data)
