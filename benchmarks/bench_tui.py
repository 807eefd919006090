"""The screen on a big floor: first paint, key press to committed and repainted row, peak RSS.

    python benchmarks/bench_tui.py --db /tmp/leadtui-bench/leads-1m.db   # bench_status's database

Builds the database with bench_status's builder when `--db` does not exist (`--leads N`).
Each figure comes from a fresh process running the real app headless (Textual's own
compositor, a 120x40 screen) with the clock fixed at 2026-11-23 15:00 New York:

- first paint: from the process's start (the parent's clock just before it spawns the
  child) to the first frame that shows the queue's rows; the median of 5 runs, once with the
  environment as it is and once with bytecode cached in a temp dir (this machine sets
  PYTHONDONTWRITEBYTECODE=1, so an editable install compiles leadtui on every start);
- key to commit and repaint: `--presses` (default 400) Not Contacted keys posted as key events
  on the queue, each timed from posting the event to the end of the first screen refresh
  after the row was committed and repainted (a hook on the floor's `written`, called when the
  station's writer is done with the key), one key at a
  time. Pilot's `press` is not used: its idle waits add ~80 ms;
- peak RSS of that process (ru_maxrss).

Prints the figures next to the targets (first paint <= 400 ms, key median <= 20 ms and
p99 <= 50 ms, RSS <= 150 MB). It asserts nothing: figures are for reading. The presses
write dial events into the database like a rep would.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

NOW = "2026-11-23T15:00:00-05:00"
RUNS = 5  # fresh processes for the first-paint median
TARGETS = {"first_paint_ms": 400, "key_median_ms": 20, "key_p99_ms": 50, "rss_mb": 150}


def child(db: str, rep: str, presses: int, t0: float) -> None:
    """Run the app headless and print one JSON line of figures (imports kept to what the app needs)."""
    import asyncio
    import importlib
    import resource

    from leadtui import config
    from leadtui.ui.app import Leadtui  # before Textual: the UI sets its frame rate, as in the app
    from leadtui.ui.floor import Floor

    events = importlib.import_module("textual.events")

    app = Leadtui(Path(db), config.load(None), rep)
    out: dict = {}

    async def run() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            while not (isinstance(app.screen, Floor) and app.screen.list.rows):
                await asyncio.sleep(0.001)
            painted = asyncio.Event()
            app.call_after_refresh(painted.set)
            await painted.wait()
            out["first_paint_ms"] = (time.time() - t0) * 1000
            if not presses:
                return
            floor = app.screen
            await pilot.pause(0.3)
            samples, done = [], asyncio.Event()
            original = floor.written

            def written(lead_id, after) -> None:  # the station's writer is done with the key
                original(lead_id, after)
                if after is not None:
                    app.call_after_refresh(done.set)

            floor.written = written
            refused = 0
            for _ in range(presses):
                done.clear()
                start = time.perf_counter()
                app.post_message(events.Key("n", "n"))
                try:
                    await asyncio.wait_for(done.wait(), 2)
                except TimeoutError:
                    refused += 1  # a rule said no (a notice, no commit): not a sample
                    floor.list.move(1)
                    continue
                samples.append((time.perf_counter() - start) * 1000)
            samples.sort()
            if not samples:
                return
            out.update(
                presses=len(samples),
                refused=refused,
                key_median_ms=samples[len(samples) // 2],
                key_p99_ms=samples[min(len(samples) - 1, round(0.99 * len(samples)))],
                key_max_ms=samples[-1],
            )
        out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(run())
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> None:
    if argv is None and "--child" in sys.argv:
        i = sys.argv.index
        os.environ["LEADTUI_NOW"] = NOW
        child(
            sys.argv[i("--db") + 1],
            sys.argv[i("--rep") + 1],
            int(sys.argv[i("--presses") + 1]),
            float(sys.argv[i("--t0") + 1]),
        )
        return
    import argparse
    import statistics
    import subprocess
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database (built with bench_status's builder if missing)")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rep", default="bob")
    parser.add_argument("--presses", type=int, default=400)
    args = parser.parse_args(argv)
    os.environ["LEADTUI_NOW"] = NOW
    db = Path(args.db)
    if not db.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_status import build

        print(f"building {args.leads:,} leads in {db} ...", flush=True)
        build(db, args.leads)
    import sqlite3

    with sqlite3.connect(
        db
    ) as conn:  # a bench floor: LEADTUI_NOW sets its clock (honoured only on test floors)
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('test_clock', '1')")

    def run(presses: int, env: dict) -> dict:
        t0 = time.time()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--db",
                str(db),
                "--rep",
                args.rep,
                "--presses",
                str(presses),
                "--t0",
                repr(t0),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode:
            lines = proc.stderr.strip().splitlines()
            sys.exit(f"the app failed: {lines[-1] if lines else proc.returncode}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    with tempfile.TemporaryDirectory() as cache:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
            "PYTHONPYCACHEPREFIX": cache
        }
        run(0, cached)  # compile once into the cache
        paints = {
            name: statistics.median(run(0, env)["first_paint_ms"] for _ in range(RUNS))
            for name, env in (("as is", dict(os.environ)), ("bytecode cached", cached))
        }
        figures = run(args.presses, cached)
    from leadtui.service import Service

    svc = Service.open(db)
    leads = svc.db.conn.execute("SELECT max(id) FROM leads").fetchone()[0]
    svc.close()
    print(f"database: {db} ({leads:,} leads), rep {args.rep}, screen 120x40, headless")
    for name, ms in paints.items():
        print(
            f"  {'first paint, median of ' + str(RUNS) + ', ' + name:<48} {ms:8.1f} ms   (target <= 400 ms)"
        )
    for key, label in (
        ("key_median_ms", f"key -> commit + repaint, median of {figures['presses']}"),
        ("key_p99_ms", "key -> commit + repaint, p99"),
        ("rss_mb", "peak RSS"),
    ):
        unit = "MB" if key == "rss_mb" else "ms"
        print(f"  {label:<48} {figures[key]:8.1f} {unit}   (target <= {TARGETS[key]} {unit})")
    print(
        f"  slowest key {figures['key_max_ms']:.1f} ms; keys a rule refused (not timed): {figures['refused']}"
    )


if __name__ == "__main__":
    main()
