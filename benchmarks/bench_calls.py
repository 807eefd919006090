"""The call log's cost on a station's key (D1, D2): how long `place_call` (the gate and the call's
row, one write transaction: what stands between the dial key and the phone system) and the
outcome that follows (`set_status(..., call_id=)`) take, on a floor whose log already holds many
calls.

    python benchmarks/bench_calls.py                      # 5,000 leads, 300,000 logged calls
    python benchmarks/bench_calls.py --leads 20000 --history 1000000 --calls 2000

The floor is built in a temp folder (removed at the end): leads through the Service, the history
straight into the log (store.calls.insert, spread over the last 30 days, a fiftieth of it still
inside the 24 h the cap looks at). Then alice claims `--calls` leads and, for each, places a call
and records Not Contacted for it, the test clock moving 30 seconds between calls. Printed: p50, p99
and max in ms of each step. It asserts nothing about time: figures are for reading.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent.parent))
from leadtui import clock as clocklib
from leadtui.errors import Refused
from leadtui.service import Service, init_database
from leadtui.store import calls as calllog
from leadtui.store.db import connect

START = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--history", type=int, default=300_000, help="calls already in the log")
    parser.add_argument("--calls", type=int, default=1000, help="calls placed and recorded, timed")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_calls-"))
    now = [START]
    try:
        path = folder / "floor.db"
        init_database(path, "wholesale", test_clock=True)
        svc = Service(connect(path), now=lambda: now[0])
        svc.add_rep("alice", started=date(2025, 1, 1))
        svc.add_rep("bob", started=date(2025, 1, 1))
        began = time.perf_counter()
        for n in range(args.leads):
            svc.add_lead(
                owner_name=f"Owner {n}",
                address=f"{n} Ocean Dr",
                city="Miami",
                state="FL",
                zip_code="33139",
                phones=[f"+1305{5550000 + n:07d}"[:12]],
            )
        phones = svc.db.conn.execute("SELECT id, lead_id, number FROM phones").fetchall()
        rng = random.Random(15)
        with svc.db.write() as conn:
            for i in range(args.history):
                phone = rng.choice(phones)
                back = (
                    timedelta(hours=rng.uniform(0, 24)) if i % 50 == 0 else timedelta(days=rng.uniform(1, 30))
                )
                at = START - back
                calllog.insert(
                    conn,
                    lead_id=phone["lead_id"],
                    phone_id=phone["id"],
                    number=phone["number"],
                    rep="bob",
                    station="history",
                    system="baresip",
                    placed_at=clocklib.stamp(at),
                    day=at.date().isoformat(),
                    outcome_status="not-contacted",
                    outcome_event_id=1,
                )
        print(
            f"floor: {args.leads:,} leads, {args.history:,} calls in the log ({time.perf_counter() - began:.1f} s)"
        )
        capped = {
            r[0]
            for r in svc.db.conn.execute(
                "SELECT lead_id FROM calls WHERE placed_at > ? GROUP BY phone_id HAVING count(*) >= 3",
                (clocklib.stamp(START - timedelta(hours=24)),),
            )
        }
        targets = [
            lead_id for (lead_id,) in svc.db.conn.execute("SELECT id FROM leads") if lead_id not in capped
        ]
        place, outcome, refused = [], [], 0
        for lead_id in targets[: args.calls]:
            svc.claim(lead_id, "alice")
            t0 = time.perf_counter()
            try:
                call = svc.place_call(lead_id, "alice", system="baresip")
            except Refused:  # a refusal (the history's gap or cap): timed all the same
                refused += 1
                place.append((time.perf_counter() - t0) * 1000)
                continue
            place.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            svc.set_status(lead_id, "not-contacted", "alice", call_id=call["id"])
            outcome.append((time.perf_counter() - t0) * 1000)
            now[0] += timedelta(seconds=30)
        for name, values in (("place_call (gate + row)", place), ("outcome (set_status call_id=)", outcome)):
            print(
                f"{name:<30} n={len(values):>5}  p50 {pct(values, 50):6.2f} ms  p99 {pct(values, 99):6.2f} ms"
                f"  max {max(values):6.2f} ms  mean {statistics.fmean(values):6.2f} ms"
            )
        print(f"refused by the gate: {refused}")
        svc.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
