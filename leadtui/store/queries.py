"""Every query leadtui runs. Functions take a connection; callers own the transaction."""

from __future__ import annotations

import json
import re
import sqlite3
import weakref
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from leadtui.core.calling import STATE_TZ
from leadtui.core.facts import COLUMNS as FACT_COLUMNS
from leadtui.store import pg_roles
from leadtui.store.engines import on_server
from leadtui.store.reservations import RESERVED_ELSEWHERE

# The lead fields a rule may change: events keep them before and after, undo restores them.
STATE_FIELDS = (
    "status",
    "owner",
    "hold_until",
    "next_call_at",
    "appointment_at",
    "offer_amount",
    "contract_path",
    "followup_requested_at",
    "cur_phone",
    "dial_run",
    "dead",
    "cooloff_until",
    "callback",
)
PHONE_STATE = ("bad", "wrong_reports")
# A lead's own fields, as given by hand or by a list (imports and exports take them in this order).
LEAD_FIELDS = (
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
)
LEAD_COLUMNS = (
    *LEAD_FIELDS,
    "owner_key",
    "address_key",
    "notes",
    "status",
    "created_at",
    "updated_at",
)
PHONE_COLUMNS = ("lead_id", "position", "number", "type", "dnc", "litigator", "tz")
IsOpen = Callable[[str | None, str | None], bool]  # is it calling hours for (phone zone, state) now
Elsewhere = tuple[str, str]  # (this station, now): leads reserved by other stations are skipped


def _in(column: str, values: list) -> str:
    """`column IN (?, ?, ...)` for `values` (bound by the caller)."""
    return f"{column} IN ({','.join('?' * len(values))})"


def dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- meta -------------------------------------------------------------------------------------


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


# --- reps -------------------------------------------------------------------------------------


def rep(conn: sqlite3.Connection, name: str, *, pin: bool = True) -> sqlite3.Row | None:
    """`name`'s row; on a server `pin=False` leaves its pin_hash out (pg_roles.ACTOR_COLUMNS)."""
    if on_server(conn):  # no PIN hash for a rep's role: the hash without its digest (pg_roles)
        columns = pg_roles.REP_COLUMNS if pin else pg_roles.ACTOR_COLUMNS
        return conn.execute(f"SELECT {columns} FROM reps WHERE name = ?", (name,)).fetchone()
    return conn.execute("SELECT * FROM reps WHERE name = ?", (name,)).fetchone()


def pin_failed(conn: sqlite3.Connection, name: str, tries: int, lock_until: str) -> sqlite3.Row:
    """Count a wrong PIN for `name`; the `tries`-th in a row locks the PIN until `lock_until`."""
    return conn.execute(
        "UPDATE reps SET pin_failures = (pin_failures + 1) % ?, "
        "pin_locked_until = CASE WHEN pin_failures + 1 >= ? THEN ? ELSE pin_locked_until END "
        "WHERE name = ? RETURNING pin_failures, pin_locked_until",
        (tries, tries, lock_until, name),
    ).fetchone()


def pin_passed(conn: sqlite3.Connection, name: str) -> None:
    if on_server(conn):  # leadtui_pin_check cleared the count when the PIN was right (pg_schema 4)
        return
    conn.execute("UPDATE reps SET pin_failures = 0 WHERE name = ? AND pin_failures != 0", (name,))


def reps(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    if on_server(conn):  # as `rep`
        return conn.execute(f"SELECT {pg_roles.REP_COLUMNS} FROM reps ORDER BY name").fetchall()
    return conn.execute("SELECT * FROM reps ORDER BY name").fetchall()


def has_manager(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM reps WHERE role = 'manager' AND active = 1 LIMIT 1").fetchone()
        is not None
    )


def set_rep_active(conn: sqlite3.Connection, name: str, active: bool) -> None:
    conn.execute("UPDATE reps SET active = ? WHERE name = ?", (int(active), name))


def set_rep_pin(conn: sqlite3.Connection, name: str, pin_hash: str) -> None:
    """A new PIN hash; wrong tries counted against the old one, and a lock, are cleared."""
    conn.execute(
        "UPDATE reps SET pin_hash = ?, pin_failures = 0, pin_locked_until = NULL WHERE name = ?",
        (pin_hash, name),
    )


def insert_rep(
    conn: sqlite3.Connection, name: str, role: str, started: str, pin_hash: str | None, now: str
) -> None:
    conn.execute(
        "INSERT INTO reps(name, role, started, pin_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        (name, role, started, pin_hash, now),
    )


# --- leads and phones ------------------------------------------------------------------------


def lead(conn: sqlite3.Connection, lead_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM leads WHERE id = ?", (lead_id,)).fetchone()


def phones(conn: sqlite3.Connection, lead_ids: Iterable[int]) -> dict[int, list[sqlite3.Row]]:
    ids = list(lead_ids)
    out: dict[int, list[sqlite3.Row]] = {i: [] for i in ids}
    for chunk in range(0, len(ids), 500):
        part = ids[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        for row in conn.execute(
            f"SELECT * FROM phones WHERE lead_id IN ({marks}) ORDER BY lead_id, position", part
        ):
            out[row["lead_id"]].append(row)
    return out


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The id the INSERT just run on `cur` gave its row (sqlite3 types lastrowid as optional)."""
    assert cur.lastrowid is not None, "no row was inserted"
    return cur.lastrowid


def lead_at_address(conn: sqlite3.Connection, address_key: str | None) -> int | None:
    """A lead with this property address key (B2), if any."""
    if on_server(conn):  # every lead, those row security hides from a rep's role too (pg_schema 4)
        return conn.execute("SELECT leadtui_lead_at_address(?)", (address_key,)).fetchone()[0]
    row = conn.execute("SELECT id FROM leads WHERE address_key = ? LIMIT 1", (address_key,)).fetchone()
    return None if row is None else row[0]


def insert_lead(conn: sqlite3.Connection, fields: dict[str, Any]) -> int:
    cols = [c for c in LEAD_COLUMNS if c in fields]
    cur = conn.execute(
        f"INSERT INTO leads({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [fields[c] for c in cols],
    )
    return inserted_id(cur)


def insert_phones(conn: sqlite3.Connection, rows: Iterable[tuple]) -> None:
    conn.executemany(
        f"INSERT INTO phones({', '.join(PHONE_COLUMNS)}) VALUES ({', '.join('?' * len(PHONE_COLUMNS))})", rows
    )


def update_lead(conn: sqlite3.Connection, lead_id: int, fields: dict[str, Any], now: str) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f"UPDATE leads SET {sets}, updated_at = ? WHERE id = ?", (*fields.values(), now, lead_id))


def update_phone(conn: sqlite3.Connection, phone_id: int, fields: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = ?" for k in fields)
    conn.execute(f"UPDATE phones SET {sets} WHERE id = ?", (*fields.values(), phone_id))


def claim(conn: sqlite3.Connection, lead_id: int, rep_name: str, now: str) -> bool:
    """The atomic claim: wins only if the lead is alive and in the pool (or already this rep's)."""
    row = conn.execute(
        "UPDATE leads SET owner = ?, hold_until = NULL, updated_at = ? "
        "WHERE id = ? AND dead = 0 AND (owner IS NULL OR owner = ?) RETURNING id",
        (rep_name, now, lead_id, rep_name),
    ).fetchone()
    return row is not None


def other_properties(
    conn: sqlite3.Connection, lead_row: sqlite3.Row, numbers: list[str]
) -> list[sqlite3.Row]:
    """Leads of the same owner (owner key) or sharing a phone, alive, other than this one."""
    marks = ",".join("?" * len(numbers)) or "NULL"
    return conn.execute(
        f"SELECT * FROM leads WHERE dead = 0 AND id != ? AND ("
        f" (owner_key IS NOT NULL AND owner_key = ?)"
        f" OR id IN (SELECT lead_id FROM phones WHERE number IN ({marks}))) ORDER BY id",
        (lead_row["id"], lead_row["owner_key"], *numbers),
    ).fetchall()


def held_properties(conn: sqlite3.Connection, lead_row: sqlite3.Row, numbers: list[str]) -> list[sqlite3.Row]:
    """W11 on a server: the owner's other properties row security hides from this connection (another
    rep's), as the list shows them (id, status, owner name, address, who holds it); none on SQLite."""
    if not on_server(conn):
        return []
    return conn.execute(
        "SELECT * FROM leadtui_other_properties(?, ?, ?) o"
        " WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = o.id) ORDER BY o.id",
        (lead_row["id"], lead_row["owner_key"], numbers),
    ).fetchall()


def search(
    conn: sqlite3.Connection,
    *,
    visible_to: str | None,
    status: str | None,
    pool: bool,
    owner: str | None,
    text: str | None,
    dead: bool,
    limit: int | None,
    after: int = 0,
    statuses: Iterable[str] = (),
    facts: Iterable[tuple[str, str, Any]] = (),
) -> list[sqlite3.Row]:
    """Leads by id after `after`; `facts`: (fact column, op, value) conditions (core.facts.Filter)."""
    where = ["dead = ?", "id > ?"]
    args: list[Any] = [1 if dead else 0, after]
    for column, op, value in facts:
        if column not in FACT_COLUMNS or op not in _FACT_OPS:
            raise ValueError(f"not a fact filter: {column} {op}")
        # SQLite's LIKE ignores case (ASCII); PostgreSQL's doesn't: ILIKE there
        sql_op = "ILIKE" if op == "like" and on_server(conn) else _FACT_OPS[op]
        where.append(f"{column} {sql_op} ?")
        args.append(value)
    statuses = list(statuses)
    if statuses:
        where.append(_in("status", statuses))
        args += statuses
    if visible_to is not None:
        where.append("(owner IS NULL OR owner = ?)")
        args.append(visible_to)
    if status:
        where.append("status = ?")
        args.append(status)
    if pool:
        where.append("owner IS NULL")
    if owner:
        where.append("owner = ?")
        args.append(owner)
    if text:
        words_args: list[Any]
        if not on_server(conn):
            words, words_args = (
                "id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?)",
                [fts_query(text)],
            )
        elif ts_query(text):  # no FTS5 there: lead_words, lead_doc's words (pg_schema), the same words
            words = (  # (accents removed from the words too, as FTS5 removes them from both)
                "id IN (SELECT lead_id FROM lead_words WHERE doc"
                " @@ to_tsquery('simple', public.unaccent('public.unaccent'::regdictionary, ?)))"
            )
            words_args = [ts_query(text)]
        else:  # no words (an empty tsquery is refused): found by none, as FTS5's ""
            words, words_args = "FALSE", []
        digits = "".join(ch for ch in text if ch.isdigit())
        if _PHONEISH.fullmatch(text.strip()) and len(digits) >= 4:
            where.append(f"({words} OR id IN (SELECT lead_id FROM phones WHERE number LIKE ?))")
            args += [*words_args, f"%{digits}%"]
        else:
            where.append(words)
            args += words_args
    sql = f"SELECT * FROM leads WHERE {' AND '.join(where)} ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return conn.execute(sql, args).fetchall()


_FACT_OPS = {"=": "=", "like": "LIKE", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_PHONEISH = re.compile(r"[\d\s()+.-]+")
_TOKEN = re.compile(r"[^\W_]+").findall  # as FTS5's unicode61 tokenizer splits text


def fts_query(text: str) -> str:
    """Each word of the search as a prefix, all of them required: `smi 12` -> `"smi"* "12"*`.
    Words are split as the index splits them (`o'brien` is `o` and `brien`): it keeps no
    positions, so a phrase can't be asked for."""
    return " ".join(f'"{w}"*' for w in _TOKEN(text)) or '""'


def ts_query(text: str) -> str:
    """`fts_query` for PostgreSQL's `to_tsquery('simple', ...)`: the same words, each a prefix,
    all required (`smi 12` -> `'smi':* & '12':*`); "" for no words."""
    return " & ".join(f"'{w}':*" for w in _TOKEN(text))


# --- the queue (a window over SQL: pages by id, never every lead) ------------------------------

_DIALABLE = (
    "EXISTS (SELECT 1 FROM phones g WHERE g.lead_id = l.id AND g.bad = 0 AND g.dnc = 0 AND g.litigator = 0)"
)


# A cool-off (core.cooloff) keeps a released lead out of every queue until then; binds `now`.
_NOT_COOLING = "(l.cooloff_until IS NULL OR l.cooloff_until <= ?)"

# zone_open(phone_zone, state): the caller's `is_open`, registered for the query that uses it.
_OPEN = (
    "zone_open((SELECT p.tz FROM phones p WHERE p.lead_id = l.id AND p.tz IS NOT NULL"
    " ORDER BY p.position LIMIT 1), l.state)"
)
# PostgreSQL can't call Python inside SQL: `_OPEN` there compares the same zone (first phone by
# position with a tz, else the state's) with the zones and states `is_open` says are open now
# (binds open zones, then the state list of `_open_lists`).
_OPEN_PG = (
    "coalesce((SELECT nullif(p.tz, '') FROM phones p WHERE p.lead_id = l.id AND p.tz IS NOT NULL"
    " ORDER BY p.position LIMIT 1) = ANY(?), {states})"
)
# A lead's state as core.calling._state_key reads it (trimmed, upper case).
_STATE_KEY = "upper(btrim(coalesce(l.state, ''), ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)))"
_OPEN_LISTS: weakref.WeakKeyDictionary[Any, tuple[str, list]] = weakref.WeakKeyDictionary()


@lru_cache(maxsize=1)
def _zone_domain() -> dict[str, ZoneInfo]:
    """Every zone a phone's tz may hold (the IANA zones, which include phonenumbers' and the
    states'), loaded once and kept: ZoneInfo's own cache keeps only a few."""
    names = set(available_timezones()) | set(STATE_TZ.values())
    return {name: ZoneInfo(name) for name in sorted(names)}


def _open_lists(is_open: IsOpen) -> tuple[str, list]:
    """`_OPEN_PG` for this `is_open` and its parameters: `is_open` asked once per zone and state."""
    with suppress(KeyError, TypeError):
        return _OPEN_LISTS[is_open]
    zones = [z for z in _zone_domain() if is_open(z, None)]
    unknown = is_open(None, None)  # a state with no zone of its own (or none): the fallback zones
    states = [k for k in STATE_TZ if is_open(None, k) != unknown]  # the states that differ from it
    if unknown:
        clause = _OPEN_PG.format(states=f"NOT {_STATE_KEY} = ANY(?)")
    else:
        clause = _OPEN_PG.format(states=f"{_STATE_KEY} = ANY(?)")
    got = (clause, [zones, states])
    with suppress(TypeError):  # (an `is_open` that can't be weakly referenced is asked every time)
        _OPEN_LISTS[is_open] = got
    return got


def _open(conn: sqlite3.Connection, is_open: IsOpen) -> tuple[str, list]:
    """The calling-window filter's SQL and its parameters for this engine."""
    if on_server(conn):
        return _open_lists(is_open)
    conn.create_function("zone_open", 2, is_open)
    return _OPEN, []


def queue_due(
    conn: sqlite3.Connection,
    rep_name: str,
    now: str,
    day: tuple[str, str],
    limit: int,
    is_open: IsOpen,
    elsewhere: Elsewhere,
) -> list[sqlite3.Row]:
    """The rep's follow-ups due now, today's appointments and the pool's callbacks due now (anyone's
    to make), soonest first."""
    is_open_sql, open_args = _open(conn, is_open)
    # INDEXED BY is SQLite's planner hint (the callback index); PostgreSQL picks it by itself
    hint = "" if on_server(conn) else "INDEXED BY leads_callback_owner"
    sql = f"""SELECT l.* FROM leads l WHERE l.id IN (
            SELECT id FROM leads WHERE dead = 0 AND owner = ? AND next_call_at <= ?
            UNION SELECT id FROM leads WHERE dead = 0 AND owner = ? AND appointment_at >= ? AND appointment_at < ?
            UNION SELECT id FROM leads {hint}
                WHERE callback IS NOT NULL AND dead = 0 AND owner IS NULL AND next_call_at <= ?)
          AND {_DIALABLE} AND {is_open_sql} AND NOT {RESERVED_ELSEWHERE}
        ORDER BY coalesce(next_call_at, appointment_at), id LIMIT ?"""
    return conn.execute(sql, [rep_name, now, rep_name, *day, now, *open_args, *elsewhere, limit]).fetchall()


def queue_mine(
    conn: sqlite3.Connection,
    rep_name: str,
    day: tuple[str, str],
    after: int,
    limit: int,
    is_open: IsOpen,
    elsewhere: Elsewhere,
) -> list[sqlite3.Row]:
    """The rep's other leads with no call scheduled, by id after `after` (the owner index gives that order)."""
    is_open_sql, open_args = _open(conn, is_open)
    sql = f"""SELECT l.* FROM leads l WHERE l.dead = 0 AND l.owner = ? AND l.next_call_at IS NULL AND l.id > ?
          AND NOT coalesce(appointment_at >= ? AND appointment_at < ?, FALSE) AND {_DIALABLE} AND {is_open_sql}
          AND NOT {RESERVED_ELSEWHERE} ORDER BY id LIMIT ?"""
    return conn.execute(sql, [rep_name, after, *day, *open_args, *elsewhere, limit]).fetchall()


def queue_pool(
    conn: sqlite3.Connection, now: str, after: int, limit: int, is_open: IsOpen, elsewhere: Elsewhere
) -> list[sqlite3.Row]:
    """Pool leads that may be dialled now, by id after `after` (a callback due is in `queue_due`)."""
    is_open_sql, open_args = _open(conn, is_open)
    # unary + keeps SQLite's planner off the owner index (the pool index serves); not PostgreSQL syntax
    owner = "l.owner" if on_server(conn) else "+l.owner"
    sql = f"""SELECT l.* FROM leads l WHERE l.dead = 0 AND {owner} IS NULL AND l.id > ?
          AND (next_call_at IS NULL OR next_call_at <= ?) AND {_NOT_COOLING} AND l.callback IS NULL AND {_DIALABLE} AND {is_open_sql} AND NOT {RESERVED_ELSEWHERE}
        ORDER BY id LIMIT ?"""
    return conn.execute(sql, [after, now, now, *open_args, *elsewhere, limit]).fetchall()


def queue_left_out(
    conn: sqlite3.Connection, rep_name: str, now: str, after: int, limit: int, is_open: IsOpen
) -> list[sqlite3.Row]:
    """Leads that may be out of the rep's queue (dead, another rep's, not callable now, cooling off), by id."""
    is_open_sql, open_args = _open(conn, is_open)
    sql = f"""SELECT l.* FROM leads l WHERE l.id > ? AND (dead = 1 OR (owner IS NOT NULL AND owner != ?) OR next_call_at > ? OR NOT {_DIALABLE}
           OR NOT {is_open_sql} OR NOT {_NOT_COOLING}) ORDER BY id LIMIT ?"""
    return conn.execute(sql, [after, rep_name, now, *open_args, now, limit]).fetchall()


def data_version(conn: sqlite3.Connection) -> int:
    """Changes when another connection commits: the cheap check for other stations' work. On a
    server, the newest commit's transaction id (any database of the server's: at worst a re-read)."""
    if on_server(conn):
        return conn.execute("SELECT (pg_last_committed_xact()).xid::text::bigint").fetchone()[0] or 0
    return conn.execute("PRAGMA data_version").fetchone()[0]


def counts_by_status(
    conn: sqlite3.Connection, visible_to: str | None, include_dead: bool = False
) -> dict[str, int]:
    """Live leads per status (as `visible_to` may see them); with `include_dead`, killed ones too.
    On a server, from the counters its triggers keep (a few rows, not a scan of every lead)."""
    if on_server(conn):
        sql = "SELECT status, sum(n) FROM lead_counts WHERE (dead = 0" + (
            " AND (owner = '' OR owner = ?))" if visible_to is not None else ")"
        )
        sql += " OR dead = 1" if include_dead else ""
        rows = conn.execute(sql + " GROUP BY status HAVING sum(n) > 0", [visible_to] if visible_to else [])
        return dict(rows.fetchall())
    where, args = "dead = 0", []
    if visible_to is not None:
        where, args = "dead = 0 AND (owner IS NULL OR owner = ?)", [visible_to]
    counts = dict(
        conn.execute(f"SELECT status, count(*) FROM leads WHERE {where} GROUP BY status", args).fetchall()
    )
    if include_dead:  # a killed lead has no owner: everyone may see it
        for status, n in conn.execute("SELECT status, count(*) FROM leads WHERE dead = 1 GROUP BY status"):
            counts[status] = counts.get(status, 0) + n
    return counts


def expired_holds(conn: sqlite3.Connection, now: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM leads WHERE hold_until IS NOT NULL AND hold_until <= ? AND dead = 0", (now,)
    ).fetchall()


def agenda(conn: sqlite3.Connection, rep_name: str, since: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM leads WHERE owner = ? AND dead = 0 AND appointment_at >= ? ORDER BY appointment_at",
        (rep_name, since),
    ).fetchall()


def with_source_status(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT id, status, source_status FROM leads WHERE source_status IS NOT NULL AND dead = 0"
    ).fetchall()


# --- events -----------------------------------------------------------------------------------


def insert_event(
    conn: sqlite3.Connection,
    *,
    lead_id: int | None,
    at: str,
    day: str,
    rep: str | None,
    kind: str,
    status: str | None = None,
    phone_id: int | None = None,
    dial: bool = False,
    kpi: Iterable[str] = (),
    undoes: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
) -> int:
    """Log an event; its id. On a server a lead's write drew the id with its locks
    (store.postgres.EVENT_ID): the INSERT then goes with the COMMIT, no round trip waits for it."""
    values: tuple[Any, ...] = (
        lead_id,
        at,
        day,
        rep,
        kind,
        status,
        phone_id,
        int(dial),
        ",".join(kpi) or None,
        undoes,
        dumps(before),
        dumps(after),
        dumps(data),
    )
    columns = "lead_id, at, day, rep, kind, status, phone_id, dial, kpi, undoes, before, after, data"
    drawn = conn.drawn_event_id() if on_server(conn) else None  # type: ignore[attr-defined]
    if drawn is not None:
        columns, values = f"id, {columns}", (drawn, *values)
    cur = conn.execute(f"INSERT INTO events({columns}) VALUES ({', '.join('?' * len(values))})", values)
    return inserted_id(cur) if drawn is None else drawn


def events(conn: sqlite3.Connection, lead_id: int, limit: int | None = None) -> list[sqlite3.Row]:
    """A lead's timeline, oldest first (the last `limit` when given)."""
    if limit is None:
        return conn.execute("SELECT * FROM events WHERE lead_id = ? ORDER BY id", (lead_id,)).fetchall()
    rows = conn.execute(
        "SELECT * FROM events WHERE lead_id = ? ORDER BY id DESC LIMIT ?", (lead_id, limit)
    ).fetchall()
    return rows[::-1]


def changed_by(conn: sqlite3.Connection, lead_id: int, kinds: list[str]) -> str | None:
    """Who made the lead's last event of these kinds (None: the floor itself, or no such event)."""
    row = conn.execute(
        f"SELECT rep FROM events WHERE lead_id = ? AND {_in('kind', kinds)} ORDER BY id DESC LIMIT 1",
        (lead_id, *kinds),
    ).fetchone()
    return row["rep"] if row else None


def last_event_at(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT max(at) FROM events").fetchone()[0]


def undone_ids(conn: sqlite3.Connection, lead_id: int) -> set[int]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT undoes FROM events WHERE lead_id = ? AND undoes IS NOT NULL", (lead_id,)
        )
    }


# --- outbox -----------------------------------------------------------------------------------


def insert_action(
    conn: sqlite3.Connection,
    *,
    lead_id: int,
    event_id: int,
    action: str,
    payload: dict,
    now: str,
    due: str,
) -> None:
    """Queue an action (its id not read: on a server the INSERT goes with the COMMIT)."""
    conn.execute(
        "INSERT INTO outbox(lead_id, event_id, action, idempotency_key, created_at, due_at, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (lead_id, event_id, action, f"leadtui-{lead_id}-{event_id}-{action}", now, due, dumps(payload)),
    )


def cancel_actions(
    conn: sqlite3.Connection,
    now: str,
    *,
    lead_id: int | None = None,
    event_id: int | None = None,
) -> tuple[list[sqlite3.Row], list[Any]]:
    """Cancel a lead's (or an event's) actions that have not gone out: (cancelled, already went).

    One being delivered right now (a live lease) is cancelled too, so it is never retried, but it
    may still arrive: it is also reported with the ones that went, as "in flight"."""
    column, value = ("lead_id", lead_id) if lead_id is not None else ("event_id", event_id)
    rows = conn.execute(
        f"UPDATE outbox SET state = 'cancelled', done_at = ? WHERE {column} = ?"
        " AND state IN ('pending', 'failed', 'dead') RETURNING *",
        (now, value),
    ).fetchall()
    flying = [r for r in rows if r["lease_until"] and r["lease_until"] > now]
    went = conn.execute(
        f"SELECT * FROM outbox WHERE {column} = ? AND state IN ('sent', 'logged')", (value,)
    ).fetchall()
    return rows, [*went, *({**dict(r), "state": "in flight", "done_at": None} for r in flying)]


def actions(
    conn: sqlite3.Connection,
    states: Iterable[str] = (),
    lead_id: int | None = None,
    visible_to: str | None = None,
) -> list[sqlite3.Row]:
    where: list[str] = []
    args: list[Any] = []
    if visible_to is not None:
        where.append("lead_id IN (SELECT id FROM leads WHERE owner IS NULL OR owner = ?)")
        args.append(visible_to)
    states = list(states)
    if states:
        where.append(_in("state", states))
        args += states
    if lead_id is not None:
        where.append("lead_id = ?")
        args.append(lead_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return conn.execute(f"SELECT * FROM outbox {clause} ORDER BY id", args).fetchall()


# --- approvals --------------------------------------------------------------------------------


def insert_approval(
    conn: sqlite3.Connection,
    *,
    lead_id: int,
    rep_name: str,
    status: str,
    now: str,
    event_id: int,
    inputs: dict,
    reason: str | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO approvals(lead_id, rep, status, requested_at, event_id, inputs, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (lead_id, rep_name, status, now, event_id, dumps(inputs), reason),
    )
    return inserted_id(cur)


def pending_approval(conn: sqlite3.Connection, lead_id: int, rep_name: str) -> sqlite3.Row | None:
    """The rep's request on the lead still waiting for a manager, if any."""
    return conn.execute(
        "SELECT * FROM approvals WHERE lead_id = ? AND rep = ? AND state = 'pending'", (lead_id, rep_name)
    ).fetchone()


def events_after(conn: sqlite3.Connection, lead_id: int, event_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM events WHERE lead_id = ? AND id > ? ORDER BY id", (lead_id, event_id)
    ).fetchall()


def approval_of_event(conn: sqlite3.Connection, event_id: int) -> sqlite3.Row:
    """The approval a request event (approval_requested) opened (it always has one)."""
    return conn.execute("SELECT id, state FROM approvals WHERE event_id = ?", (event_id,)).fetchone()


def approval(conn: sqlite3.Connection, approval_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()


def decide_approval(
    conn: sqlite3.Connection, approval_id: int, state: str, by: str | None, now: str, why: str | None = None
) -> None:
    conn.execute(
        "UPDATE approvals SET state = ?, decided_by = ?, decided_at = ?, why = ? WHERE id = ?",
        (state, by, now, why, approval_id),
    )


# --- drip replies -----------------------------------------------------------------------------


def insert_reply(conn: sqlite3.Connection, number: str, body: str, received_at: str) -> int | None:
    row = conn.execute(
        "SELECT lead_id FROM phones p JOIN leads l ON l.id = p.lead_id WHERE p.number = ? ORDER BY l.dead, l.id LIMIT 1",
        (number,),
    ).fetchone()
    cur = conn.execute(
        "INSERT INTO replies(from_number, body, received_at, lead_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (number, body, received_at, row[0] if row else None),
    )
    return cur.lastrowid if cur.rowcount else None


def reply(conn: sqlite3.Connection, reply_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM replies WHERE id = ?", (reply_id,)).fetchone()


def clear_reply(conn: sqlite3.Connection, reply_id: int, rep_name: str, now: str) -> None:
    conn.execute("UPDATE replies SET cleared_by = ?, cleared_at = ? WHERE id = ?", (rep_name, now, reply_id))
