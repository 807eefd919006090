"""The manager's reads on a big floor (issue 16): the leaderboard, the 14-day chart and `report kpi`.

    python benchmarks/bench_manager.py --db /tmp/leadtui-bench/manager.db            # copy, fill, time
    python benchmarks/bench_manager.py --db /tmp/leadtui-bench/manager.db --rebuild  # copy and fill afresh

It copies bench_status's 1,000,000-lead database (`--source`, read only: SQLite's backup API; built
first with bench_status's builder when it is missing) to `--db`, opens the copy (bringing its schema
up to date), and gives it `--days` (30) floor days of history for `--reps` (20) reps through
`leadtui.store.bulk`: per rep per day a shift of key presses on random leads (no answers, the
outcomes of conversations, wrong numbers, follow-ups, an undo now and then) with their call-log rows,
some placed through a phone system with their answer and talk time. Then it times, through the
Service with the clock fixed at bench_status's NOW and the floor's day in New York:

- the leaderboard: `Service.board()`, today's figures per rep and per hour (target < 100 ms),
- the 14-day chart: `Service.chart()` for the floor and for one rep (target < 100 ms),
- `report kpi` for 30 days: `Service.kpis(since=...)` in process, and `leadtui report kpi --since
  ... --json` as a fresh process (target < 0.5 s), and per hour (no target).

It prints median, p99 and max in ms next to each target, and asserts nothing about time.

Each figure is a phase: a function of the Bench (the copy, its service, reps and days) returning
Figures, listed in PHASES. Another read gets timed by writing its function and adding it there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_status  # its builder and its NOW

from leadtui import clock
from leadtui.service import Service
from leadtui.store import bulk
from leadtui.store import queries as q
from leadtui.store.db import connect

FLOOR = ZoneInfo("America/New_York")
NOW = bench_status.NOW  # Monday 2026-11-23 15:00 New York
SOURCE = Path("/tmp/leadtui-f4b/leads-1m.db")
SEED = 20261116
SHIFT = (9, 17)  # each rep's hours, New York
# what a rep presses, how often, and how long it takes before the next press (seconds)
PRESSES = (
    ("not-contacted", 70, (35, 110)),
    ("needs-offer", 5, (180, 480)),
    ("appointment-booked", 2, (240, 600)),
    ("offer-made", 2, (240, 600)),
    ("offer-rejected", 1, (120, 300)),
    ("not-interested", 6, (60, 180)),
    ("listed-with-agent", 2, (60, 150)),
    ("wrong-number", 4, (30, 60)),
    ("followup", 4, (90, 240)),
    ("send-contract", 0.6, (120, 240)),
    ("under-contract", 0.3, (120, 240)),
)
UNDO = 0.01  # a press undone at once
PLACED = 0.6  # calls through the phone system (the rest dialled by hand, reported)


@dataclass
class Figure:
    """One timed read: its samples (ms) against a target."""

    name: str
    samples: list[float]
    target_ms: float | None
    note: str = ""

    def line(self) -> str:
        s = sorted(self.samples)
        p99 = s[min(len(s) - 1, round(0.99 * len(s) + 0.5) - 1)]
        med = statistics.median(s)
        verdict = "" if self.target_ms is None else ("  [ok]" if p99 < self.target_ms else "  [OVER TARGET]")
        target = "no target" if self.target_ms is None else f"target < {self.target_ms:g} ms"
        note = f"  ({self.note})" if self.note else ""
        return (
            f"{self.name:<34} n={len(s):>3}  median {med:8.1f} ms  p99 {p99:8.1f} ms  max {s[-1]:8.1f} ms"
            f"  {target}{verdict}{note}"
        )


@dataclass
class Bench:
    """What a phase reads: the copy, a Service on it (clock fixed at NOW, the floor's day in New
    York), the reps, the floor days filled (oldest first), and how many times to run each read."""

    db: Path
    svc: Service
    reps: list[str]
    days: list[date]
    runs: int


def open_service(db: Path) -> Service:
    """A Service on the copy as a station has it: the clock fixed at NOW, the floor's day in New York."""
    return Service(connect(db), now=lambda: NOW, zone=FLOOR)


def timed(runs: int, fn: Callable[[], Any], warmup: int = 2) -> list[float]:
    """`fn` run `warmup` times untimed, then `runs` times: ms each."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


# --- the phases ------------------------------------------------------------------------------------


def phase_leaderboard(b: Bench) -> list[Figure]:
    board = b.svc.board()
    note = f"{len(board['reps'])} reps, {board['floor']['dials']:,} dials today"
    return [Figure("leaderboard: Service.board()", timed(b.runs, b.svc.board), 100, note)]


def phase_chart(b: Bench) -> list[Figure]:
    days = b.svc.chart()["days"]
    note = f"{len(days)} days, {sum(d['dials'] for d in days):,} dials"
    return [
        Figure("14-day chart, the floor", timed(b.runs, b.svc.chart), 100, note),
        Figure("14-day chart, one rep", timed(b.runs, lambda: b.svc.chart(rep=b.reps[0])), 100),
    ]


def phase_report_kpi(b: Bench) -> list[Figure]:
    since = b.days[0].isoformat()
    rows = b.svc.kpis(since=since)
    hours = b.svc.kpis(since=since, by="hour")
    for counter in (
        "dials",
        "contacts",
        "offers",
        "calls",
        "connects",
        "talk_seconds",
    ):  # kpi_days vs a recount
        assert sum(r[counter] for r in rows) == sum(h[counter] for h in hours), counter
    note = f"{len(rows)} rep-days since {since}, the same totals as a recount of the events and calls"
    figures = [
        Figure("report kpi, 30 days (in process)", timed(b.runs, lambda: b.svc.kpis(since=since)), 500, note),
        Figure(
            "report kpi --by hour (in process)", timed(5, lambda: b.svc.kpis(since=since, by="hour"), 1), None
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text('[floor]\ntimezone = "America/New_York"\n')
        env = {
            **os.environ,
            "LEADTUI_DB": str(b.db),
            "LEADTUI_NOW": NOW.isoformat(),
            "LEADTUI_CONFIG": str(config),
            "LEADTUI_DATA_DIR": tmp,
        }
        # as bench_cli: with PYTHONDONTWRITEBYTECODE set, an editable install compiles leadtui's
        # modules at every start; an installed one has its bytecode
        cached = {**env, "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        argv = [sys.executable, "-m", "leadtui", "report", "kpi", "--since", since, "--json"]

        def run(environ: dict[str, str]) -> None:
            out = subprocess.run(argv, env=environ, capture_output=True, check=True)
            assert len(json.loads(out.stdout)) == len(rows)

        for name, environ, target, note in (
            ("process", cached, 500, "start-up included, bytecode cached"),
            (
                "process, as is",
                env,
                None,
                f"PYTHONDONTWRITEBYTECODE={env.get('PYTHONDONTWRITEBYTECODE', '')}",
            ),
        ):
            samples = timed(5, lambda e=environ: run(e), 1)
            figures.append(Figure(f"leadtui report kpi, 30 days ({name})", samples, target, note))
    return figures


def phase_floor_view(b: Bench) -> list[Figure]:
    """The live floor view's refresh (FLOOR): a station per rep put on the floor as their writers
    leave it, then the read the view's worker makes twice a second, quiet and while the stations
    write (bench_floorview.floor_view_samples; the admin view: this floor has no manager)."""
    import bench_floorview

    runs = max(b.runs, 200)  # a p99 of its own
    return [
        Figure(name, ms, 100, note)
        for name, ms, note in bench_floorview.floor_view_samples(b.db, b.reps, None, runs)
    ]


PHASES: list[Callable[[Bench], list[Figure]]] = [
    phase_leaderboard,
    phase_chart,
    phase_report_kpi,
    phase_floor_view,
]


# --- the floor's history ---------------------------------------------------------------------------


def copy_source(source: Path, target: Path) -> float:
    """An online copy of `source`, opened read only; seconds taken."""
    t0 = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return time.perf_counter() - t0


def fill(svc: Service, reps: list[str], days: list[date], seed: int) -> tuple[int, int]:
    """`days` of presses for `reps` (added), with their call-log rows, through store.bulk in one
    transaction. Returns (events, calls)."""
    rng = random.Random(seed)
    for name in reps:
        svc.add_rep(name, started=date(2025, 1, 6))
    conn = svc.db.conn
    top = conn.execute("SELECT max(id) FROM phones").fetchone()[0]
    sample = rng.sample(range(1, top + 1), 60_000)
    phones = [
        tuple(r)
        for i in range(0, len(sample), 900)
        for r in conn.execute(
            f"SELECT id, lead_id, number FROM phones WHERE id IN ({','.join('?' * len(sample[i : i + 900]))})",
            sample[i : i + 900],
        )
    ]
    statuses = {s.id: s for s in svc.playbook.statuses}
    names = [p[0] for p in PRESSES]
    weights = [p[1] for p in PRESSES]
    gaps = {p[0]: p[2] for p in PRESSES}
    events: list[tuple] = []
    calls: list[tuple] = []
    next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM events").fetchone()[0]
    for day in days:
        for rep in reps:
            moment = datetime.combine(day, datetime.min.time(), FLOOR).replace(hour=SHIFT[0])
            moment += timedelta(seconds=rng.uniform(0, 1200))
            end = moment.replace(hour=SHIFT[1])
            while moment < end:
                press = rng.choices(names, weights)[0]
                phone_id, lead_id, number = rng.choice(phones)
                at = clock.stamp(moment)
                if press == "followup":
                    kind, status, kpi, dial = "followup", None, "dials,contacts", 0
                elif press == "wrong-number":
                    kind, status, kpi, dial = "wrong_report", None, "dials", 0
                else:
                    st = statuses[press]
                    kind, status, kpi, dial = "status", press, ",".join(st.kpi) or None, int(st.dial)
                data = json.dumps({"press": press}) if kind == "wrong_report" else None
                event_id = next_id
                events.append(
                    (
                        event_id,
                        lead_id,
                        at,
                        day.isoformat(),
                        rep,
                        kind,
                        status,
                        phone_id,
                        dial,
                        kpi,
                        None,
                        data,
                    )
                )
                next_id += 1
                if kpi and "dials" in kpi:
                    calls.append(
                        _call(
                            rng,
                            moment,
                            day,
                            rep,
                            lead_id,
                            phone_id,
                            number,
                            press,
                            event_id,
                            "contacts" in kpi,
                        )
                    )
                if rng.random() < UNDO:
                    events.append(
                        (
                            next_id,
                            lead_id,
                            at,
                            day.isoformat(),
                            rep,
                            "undo",
                            None,
                            None,
                            0,
                            None,
                            event_id,
                            None,
                        )
                    )
                    next_id += 1
                moment += timedelta(seconds=rng.uniform(*gaps[press]))
    with svc.db.write() as conn:
        bulk.insert_events(conn, events)
        bulk.insert_calls(conn, calls)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(events), len(calls)


def _call(
    rng: random.Random,
    moment: datetime,
    day: date,
    rep: str,
    lead_id: int,
    phone_id: int,
    number: str,
    outcome: str,
    event_id: int,
    talked: bool,
) -> tuple:
    """The call-log row of a press that was a dial: placed through the phone system (ringing, and
    with a conversation answered and its talk time) or reported (dialled by hand)."""
    day_text = day.isoformat()
    if rng.random() >= PLACED:
        at = clock.stamp(moment)
        return (
            lead_id,
            phone_id,
            number,
            rep,
            "bench",
            "manual",
            at,
            day_text,
            None,
            None,
            None,
            "",
            outcome,
            event_id,
            1,
        )
    placed = moment - timedelta(seconds=rng.uniform(30, 90 if not talked else 600))
    ringing = placed + timedelta(seconds=2)
    answered = ringing + timedelta(seconds=rng.uniform(5, 20)) if talked else None
    ended = (
        (answered + timedelta(seconds=rng.uniform(60, 480))) if answered else ringing + timedelta(seconds=25)
    )
    return (
        lead_id,
        phone_id,
        number,
        rep,
        "bench",
        "baresip",
        clock.stamp(placed),
        day_text,
        clock.stamp(ringing),
        clock.stamp(answered) if answered else None,
        clock.stamp(ended),
        "completed" if answered else "no-answer",
        outcome,
        event_id,
        0,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "leadtui-bench" / "manager.db")
    ap.add_argument("--source", type=Path, default=SOURCE, help="bench_status's 1M-lead database (only read)")
    ap.add_argument("--rebuild", action="store_true", help="copy and fill --db afresh")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--runs", type=int, default=20, help="timed runs of each in-process read")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    if Path(__file__).resolve().parents[1] in args.db.resolve().parents:
        ap.error("keep the benchmark database out of the repository (use a temp folder)")
    if args.db.resolve() == args.source.resolve():
        ap.error("--db is the source: the source is only ever read")
    reps = [f"rep{n:02d}" for n in range(1, args.reps + 1)]
    days = [NOW.date() - timedelta(days=args.days - 1 - i) for i in range(args.days)]
    print(f"database: {args.db} (a copy of {args.source})")
    fresh = args.rebuild or not args.db.exists()
    if fresh:
        if not args.source.exists():
            print(f"source:   missing; building it with bench_status's builder at {args.source}")
            args.source.parent.mkdir(parents=True, exist_ok=True)
            bench_status.build(args.source, 1_000_000)
        args.db.parent.mkdir(parents=True, exist_ok=True)
        print(f"copy:     {copy_source(args.source, args.db):.1f} s")
    t0 = time.perf_counter()
    svc = open_service(args.db)
    opened = time.perf_counter() - t0
    try:
        if fresh:
            with svc.db.write() as conn:  # a bench floor, as bench_status builds them now: `report kpi`
                q.set_meta(conn, "test_clock", "1")  # as a process runs at NOW (LEADTUI_NOW)
            t0 = time.perf_counter()
            made, logged = fill(svc, reps, days, args.seed)
            print(
                f"history:  {made:,} events and {logged:,} calls for {len(reps)} reps over {len(days)} days "
                f"in {time.perf_counter() - t0:.1f} s (store.bulk); opening (schema brought up to date) {opened:.1f} s"
            )
        else:
            print("history:  reused (pass --rebuild to copy and fill afresh)")
        leads = svc.db.conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        events = svc.db.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        print(
            f"floor:    {leads:,} leads, {events:,} events; clock {NOW.isoformat()} (fixed), day in {FLOOR}"
        )
        bench = Bench(args.db, svc, reps, days, args.runs)
        for phase in PHASES:
            for figure in phase(bench):
                print(figure.line())
    finally:
        svc.close()


if __name__ == "__main__":
    main()
