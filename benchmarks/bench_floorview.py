"""The manager's live floor view on a big floor (issue 16): what one refresh of the view costs, the
read its worker thread makes every half second (`Service.floor`: every station's row, the lead each
is on, the reps' KPIs for today and their last outcome).

    python benchmarks/bench_floorview.py --db /tmp/leadtui-bench/leads-1m.db
    python benchmarks/bench_floorview.py --db ... --stations 20 --days 30 --reads 500

`--db` is bench_status's database (1,000,000 leads). It is never written: the bench works on a copy
in a temp folder (SQLite's backup API), removed at the end. On the copy, `--days` days of history
for `--stations` reps go straight into the tables (`history`: ~250 status presses a rep a day with
their KPI credit, from the floor's playbook, and a logged call for each dial, answered for the
contacts), so today's figures and the last outcome read what a month-old floor holds. Then
`floor_view_samples` (bench_manager.py's floor view phase calls it on its own floor) puts one
station per rep on the floor through the Service as a station's writer does (online, a lead
reserved; some dialling, in a call, wrapping up, paused, one closed) and times `--reads` reads of the
view as a manager: quiet, then while every station writes at a station's pace in another process
(a heartbeat every 5 s, a new lead every ~10 s). Printed: p50, p99 and max in ms against the target
(a refresh under 100 ms). It asserts nothing about time: figures are for reading.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from bench_floor import copy_db, remove_db  # same folder: the consistent copy every bench uses
from bench_status import NOW  # 2026-11-23 15:00 New York

from leadtui import clock as clocklib
from leadtui.core.stations import HEARTBEAT_SECONDS
from leadtui.errors import Refused
from leadtui.service import Service
from leadtui.store.db import connect

TARGET_MS = 100.0
NY = ZoneInfo("America/New_York")
PRESSES_A_DAY = 250  # status keys a rep presses in a day
MANAGER, PIN = "floorboss", "482916"
STATUS_WEIGHTS = {"not-contacted": 70, "not-interested": 10, "needs-offer": 6, "wrong-number": 5}
MOVE_SECONDS = 10.0  # a station moves to another lead about this often while the view is read


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, ms: list[float]) -> str:
    p50, p99 = pct(ms, 50), pct(ms, 99)
    verdict = "ok" if p99 <= TARGET_MS else "OVER TARGET"
    return (
        f"{name:<32} n={len(ms):<5} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  max {max(ms):7.2f} ms"
        f"  (target <= {TARGET_MS:g} ms) [{verdict}]"
    )


def history(path: Path, reps: list[str], days: int, seed: int = 16) -> tuple[int, int]:
    """`days` days (today's up to NOW) of status presses and calls for `reps`, inserted straight into
    events and calls as the service would have left them. Returns (events, calls)."""
    svc = Service(connect(path), now=lambda: NOW)
    rng = random.Random(seed)
    statuses = {s.id: s for s in svc.playbook.statuses}
    weights = {s: w for s, w in STATUS_WEIGHTS.items() if s in statuses} or {svc.playbook.initial: 1}
    phones = svc.db.conn.execute(
        "SELECT lead_id, id, number FROM phones WHERE position = 1 AND lead_id < 500000 ORDER BY lead_id LIMIT 200000"
    ).fetchall()
    events = calls = 0
    try:
        for back in range(days - 1, -1, -1):
            day = (NOW - timedelta(days=back)).date()
            start = datetime.combine(day, datetime.min.time(), tzinfo=NY) + timedelta(hours=9)
            end = NOW if back == 0 else start + timedelta(hours=8)
            with svc.db.write() as conn:
                for rep in reps:
                    for _ in range(int(PRESSES_A_DAY * ((end - start) / timedelta(hours=8)))):
                        at = start + (end - start) * rng.random()
                        status = statuses[rng.choices(list(weights), list(weights.values()))[0]]
                        lead_id, phone_id, number = rng.choice(phones)
                        event_id = conn.execute(
                            "INSERT INTO events (lead_id, at, day, rep, kind, status, phone_id, dial, kpi)"
                            " VALUES (?, ?, ?, ?, 'status', ?, ?, ?, ?) RETURNING id",
                            (
                                lead_id,
                                clocklib.stamp(at),
                                day.isoformat(),
                                rep,
                                status.id,
                                phone_id,
                                int(status.dial),
                                ",".join(status.kpi) or None,
                            ),
                        ).fetchone()[0]
                        events += 1
                        if "dials" not in status.kpi:
                            continue
                        placed = at - timedelta(seconds=rng.uniform(20, 300))
                        answered = placed + timedelta(seconds=12) if "contacts" in status.kpi else None
                        conn.execute(
                            "INSERT INTO calls (lead_id, phone_id, number, rep, station, system, placed_at,"
                            " day, answered_at, ended_at, end_reason, outcome_status, outcome_event_id)"
                            " VALUES (?, ?, ?, ?, 'history', 'baresip', ?, ?, ?, ?, ?, ?, ?)",
                            (
                                lead_id,
                                phone_id,
                                number,
                                rep,
                                clocklib.stamp(placed),
                                day.isoformat(),
                                answered and clocklib.stamp(answered),
                                clocklib.stamp(at - timedelta(seconds=5)),
                                "completed" if answered else "no-answer",
                                status.id,
                                event_id,
                            ),
                        )
                        calls += 1
    finally:
        svc.close()
    return events, calls


def pool(path: Path, skip: int, limit: int) -> list[int]:
    """Pool leads from the newest down (the history's leads are the oldest)."""
    db = connect(path)
    try:
        return [
            r[0]
            for r in db.conn.execute(
                "SELECT id FROM leads WHERE owner IS NULL AND dead = 0 ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, skip),
            )
        ]
    finally:
        db.close()


def put_on_floor(path: Path, reps: list[str]) -> dict[str, bool]:
    """One station per rep, as each station's writer leaves it: online with a pool lead reserved;
    of every ten, two dialling, two in a call, one wrapping up, one paused, and the last one closed.
    Returns the live stations, each with whether it is paused."""
    leads = iter(pool(path, 0, 5000))
    live = {}
    for i, rep in enumerate(reps):
        svc = Service(connect(path), now=lambda: NOW, station=f"bench-{rep}", reserve_seconds=3600)
        try:
            svc.station_online(rep)
            role = (
                "lead",
                "dialling",
                "dialling",
                "call",
                "call",
                "wrapup",
                "paused",
                "lead",
                "lead",
                "lead",
            )[i % 10]
            while True:  # a lead this rep may call now (some have only DNC phones)
                lead = svc.reserve(rep, [next(leads)])
                if lead is None:
                    continue
                try:
                    call = (
                        svc.place_call(lead, rep, system="baresip")
                        if role in ("dialling", "call", "wrapup") and not svc.open_calls(rep=rep)
                        else None
                    )
                except Refused:
                    continue
                break
            if call is not None and role != "dialling":
                svc.call_event(call["id"], "answered")
            if call is not None and role == "wrapup":
                svc.call_event(call["id"], "ended", reason="completed")
            if role == "paused":
                svc.pause(rep, "lunch")
            if i == len(reps) - 1:
                svc.station_closed()
            else:
                live[svc.station] = role == "paused"
        finally:
            svc.close()
    return live


def _stations_at_work(path: Path, live: dict[str, bool], stop, ready) -> None:
    """Another process: every live station beats every HEARTBEAT_SECONDS and (unless paused) moves to
    a new lead about every MOVE_SECONDS, each write its own short transaction, as the TUI's writers do."""
    svcs = [Service(connect(path), now=lambda: NOW, station=s, reserve_seconds=3600) for s in live]
    rep_of = {svc.station: svc.station.removeprefix("bench-") for svc in svcs}
    leads = pool(path, 5000, 15000)
    rng = random.Random(7)
    beats, moves = len(svcs) / HEARTBEAT_SECONDS, len(svcs) / MOVE_SECONDS
    ready.set()
    while not stop.is_set():
        svc = rng.choice(svcs)
        if rng.random() < beats / (beats + moves) or live[svc.station]:
            svc.station_beat()
        else:
            svc.reserve(rep_of[svc.station], [rng.choice(leads)])
        time.sleep(rng.expovariate(beats + moves))
    for svc in svcs:
        svc.close()


def floor_view_samples(
    path: Path, reps: list[str], viewer: str | None, reads: int
) -> list[tuple[str, list[float], str]]:
    """The phase, for this script and bench_manager.py: `reps` stations on the floor at `path` (a
    copy with its history in place; `viewer` a manager there, or None for the admin view), then the
    view's read `reads` times, quiet and while the stations write: (name, samples in ms, note) each."""
    live = put_on_floor(path, reps)
    viewer_svc = Service(connect(path), now=lambda: NOW, station="bench-view")
    out = []
    try:
        shown = viewer_svc.floor(viewer)
        states: dict[str, int] = {}
        for s in shown:
            states[s["state"]] = states.get(s["state"], 0) + 1
        note = f"{len(shown)} stations: " + ", ".join(f"{n} {k}" for k, n in sorted(states.items()))

        def timed() -> list[float]:
            for _ in range(20):  # warm the page cache and the statement cache
                viewer_svc.floor(viewer)
            ms = []
            for _ in range(reads):
                began = time.perf_counter()
                viewer_svc.floor(viewer)
                ms.append((time.perf_counter() - began) * 1000)
            return ms

        out.append(("floor view: Service.floor()", timed(), note))
        stop, ready = mp.Event(), mp.Event()
        writer = mp.Process(target=_stations_at_work, args=(path, live, stop, ready), daemon=True)
        writer.start()
        ready.wait(60)
        try:
            out.append(
                ("floor view, the stations writing", timed(), "heartbeats and lead moves, another process")
            )
        finally:
            stop.set()
            writer.join(30)
    finally:
        viewer_svc.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="bench_status's database (only read)")
    parser.add_argument("--stations", type=int, default=20, help="stations (one rep each) on the floor")
    parser.add_argument("--days", type=int, default=30, help="days of history for each rep")
    parser.add_argument("--reads", type=int, default=500, help="timed reads of the view per phase")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_floorview-"))
    path = folder / "floor.db"
    try:
        began = time.perf_counter()
        copy_db(args.db, path)
        svc = Service(connect(path), now=lambda: NOW)  # migrates the copy to this schema
        reps = [f"rep{n:02d}" for n in range(1, args.stations + 1)]
        for rep in reps:
            svc.add_rep(rep, started=date(2025, 1, 6))
        svc.add_rep(MANAGER, manager=True, pin=PIN)
        leads = svc.db.conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        svc.close()
        events, calls = history(path, reps, args.days)
        print(
            f"floor: {leads:,} leads, {args.stations} reps with {args.days} days of history "
            f"({events:,} status events, {calls:,} calls) ready in {time.perf_counter() - began:.1f} s"
        )
        for name, ms, note in floor_view_samples(path, reps, MANAGER, args.reads):
            print(line(name, ms), f"({note})")
    finally:
        remove_db(path)
        folder.rmdir()


if __name__ == "__main__":
    main()
