"""The manager's inbox on a big floor (issue 16): what the station's badge read costs every 2 s, the
callbacks view, the call queue's first page with the pool's due callbacks at its top, the sweep's
minute (anyone's callbacks back to the pool), a hand-over of a rep's desk, and migration 7 itself.

    python benchmarks/bench_inbox.py --db /tmp/leadtui-bench/leads-1m.db
    python benchmarks/bench_inbox.py --db ... --callbacks 20000 --pool 2000 --reads 50

`--db` is bench_status's database (1,000,000 leads). It is never written: the bench works on a copy
in a temp folder (SQLite's backup API), removed at the end. On the copy, `--callbacks` leads are
followed up by 20 reps before migration 7 runs (so its backfill has work), half of them due, the
rest over the next 14 days; then `--pool` anyone's callbacks due are put back in the pool, and as
many more still held are due for the sweep. Printed: p50, p99 and max in ms; for the sweep and the
hand-over, the longest write transaction (F4: a station's commit waits for one at most). It
asserts nothing about time: figures are for reading.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from bench_floor import copy_db, remove_db  # same folder: the consistent copy every bench uses
from bench_status import NOW  # 2026-11-23 15:00 New York

from leadtui import clock
from leadtui.core.pins import hash_pin
from leadtui.service import Service
from leadtui.store.db import _statements, connect
from leadtui.store.schema import MIGRATIONS

REPS = [f"rep{i}" for i in range(20)]
MANAGER, PIN = "inboxboss", "482916"
INBOX_MIGRATION = 7  # the one this bench times alone (its comment says "# 7")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(name: str, fn, reads: int) -> None:
    ms = []
    for _ in range(reads):
        began = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - began) * 1000)
    print(f"{name:<44} p50 {pct(ms, 50):7.2f} ms  p99 {pct(ms, 99):7.2f} ms  max {max(ms):7.2f} ms")


def migrate_up_to_inbox(path: Path, callbacks: int) -> float:
    """The copy's earlier migrations, follow-ups made the W18 way (no scope yet), then migration 7
    alone, timed. Returns its seconds."""
    conn = sqlite3.connect(path, isolation_level=None)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number in range(version, INBOX_MIGRATION - 1):
        conn.execute("BEGIN")
        for statement in _statements(MIGRATIONS[number]):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number + 1}")
        conn.execute("COMMIT")
    every = max(1, 1_000_000 // callbacks)
    conn.execute("BEGIN")
    for rep in REPS:
        conn.execute(
            "INSERT OR IGNORE INTO reps(name, role, started, created_at) VALUES (?, 'rep', '2025-01-01', 'x')",
            (rep,),
        )
    conn.execute(
        "INSERT OR IGNORE INTO reps(name, role, started, pin_hash, created_at) VALUES (?, 'manager', '2024-01-01', ?, 'x')",
        (MANAGER, hash_pin(PIN)),
    )
    for k in range(14):  # half due (the last 7 days), half over the next 7
        at = clock.stamp(NOW + timedelta(days=k - 7))
        conn.execute(
            "UPDATE leads SET owner = 'rep' || (id / ? % 20), next_call_at = ?, followup_requested_at = ?"
            " WHERE id % ? = 0 AND id / ? % 14 = ? AND dead = 0",
            (every, at, clock.stamp(NOW + timedelta(days=60)), every, every, k),
        )
    conn.execute("COMMIT")
    began = time.perf_counter()
    conn.execute("BEGIN")
    for statement in _statements(MIGRATIONS[INBOX_MIGRATION - 1]):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {INBOX_MIGRATION}")
    conn.execute("COMMIT")
    seconds = time.perf_counter() - began
    conn.close()
    return seconds


@contextlib.contextmanager
def holds(svc: Service):
    """The write transactions `svc` opens meanwhile, each one's milliseconds from lock to commit."""
    seen: list[float] = []
    write = svc.db.write

    @contextlib.contextmanager
    def timed_write(background: bool = False):
        with write(background) as conn:
            began = time.perf_counter()
            yield conn
        seen.append((time.perf_counter() - began) * 1000)

    svc.db.write = timed_write  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        svc.db.write = write  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, type=Path, help="bench_status's 1M-lead database (read only)")
    parser.add_argument("--callbacks", type=int, default=20_000, help="reps' follow-ups on the floor")
    parser.add_argument("--pool", type=int, default=2_000, help="anyone's callbacks due in the pool")
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inbox.db"
        copy_db(args.db, path)
        try:
            print(
                f"migration {INBOX_MIGRATION} on the copy: {migrate_up_to_inbox(path, args.callbacks):.2f} s"
            )
            svc = Service(connect(path), now=lambda: NOW)
            with svc.db.write() as conn:
                backfilled = conn.execute("SELECT count(*) FROM leads WHERE callback = 'mine'").fetchone()[0]
                every = max(1, 1_000_000 // args.pool)
                conn.execute(  # anyone's callbacks, due: half back in the pool, half still held (the sweep's)
                    "UPDATE leads SET callback = 'anyone', next_call_at = ?,"
                    " owner = CASE WHEN id / ? % 2 = 0 THEN NULL ELSE 'rep' || (id % 20) END"
                    " WHERE id % ? = 7 AND dead = 0",
                    (clock.stamp(NOW - timedelta(hours=1)), every, every),
                )
            counts = dict(
                svc.db.conn.execute(
                    "SELECT CASE WHEN owner IS NULL THEN 'pool ' ELSE 'held ' END || callback, count(*) FROM leads"
                    " WHERE callback IS NOT NULL AND dead = 0 GROUP BY 1"
                ).fetchall()
            )
            print(f"follow-ups backfilled as the rep's own: {backfilled:,}; callbacks now {counts}")
            rep = REPS[3]
            timed(f"badges, a rep ({rep})", lambda: svc.badges(rep), args.reads)
            timed("badges, a manager", lambda: svc.badges(MANAGER), args.reads)
            timed("callbacks view, a rep", lambda: svc.callbacks(rep), max(5, args.reads // 5))
            timed("callbacks view, a manager", lambda: svc.callbacks(MANAGER), max(5, args.reads // 5))
            timed(
                "queue, first page (due, pool's due first)", lambda: svc.queue(rep), max(5, args.reads // 5)
            )
            with holds(svc) as seen:
                began = time.perf_counter()
                released = svc.sweep()
                total = (time.perf_counter() - began) * 1000
            print(
                f"sweep releasing {len(released):,} anyone's callbacks due: {total:.0f} ms in {len(seen)}"
                f" transactions, longest {max(seen, default=0):.0f} ms"
            )
            timed("sweep, nothing due", svc.sweep, args.reads)
            held = svc.db.conn.execute(
                "SELECT count(*) FROM leads WHERE owner = ? AND dead = 0", (REPS[5],)
            ).fetchone()[0]
            with holds(svc) as seen:
                began = time.perf_counter()
                done = svc.hand_over(REPS[5], REPS[6], MANAGER, PIN)
                total = (time.perf_counter() - began) * 1000
            print(
                f"hand-over of {REPS[5]}'s {held:,} leads ({done['callbacks']:,} callbacks): {total:.0f} ms"
                f" (a manager's PIN check ~100 ms of it) in {len(seen)} transactions,"
                f" longest {max(seen):.0f} ms, median {pct(seen, 50):.0f} ms"
            )
            svc.close()
        finally:
            remove_db(path)


if __name__ == "__main__":
    main()
