"""The PIN check costs no write-lock time (issue 17, F4): a station's key -> commit while two
processes guess manager PINs as fast as they can, next to the same station with no guessers.

    python benchmarks/bench_pin.py                                   # bench_status's 1M-lead floor
    python benchmarks/bench_pin.py --db PATH --seconds 30 --rounds 2

`--db` (default: bench_status's database, as bench_floor) is only read: the run works on one
copy of it in a temp folder (bench_floor's `copy_db`), removed at the end. On it, a manager
`boss` and, for each guesser, two managers of its own (PINs set through the Service), a new
rep's pending Dead Deal approval and a killed lead. Then, `--rounds` times, two runs of
`--seconds` each:

- no guessers: one station process (bench_floor's `station`: rep alice, a status key on a pool
  lead of its own every `--every` ms, typed ahead) and nothing else;
- guessers: the same station while GUESSERS processes each call `Service.approve` and
  `Service.revive` in turn, with a wrong PIN, for its own managers in turn, as fast as they
  return. Each wrong PIN is the whole path: scrypt with no transaction open (`_manager_first`),
  then one short write transaction (the failure count and its event). A fifth wrong PIN in a
  row locks that manager for 15 minutes: the guesser's clock then moves on 16 minutes (and
  starts the next run where it ended), so the next guess is a whole one again (with a real
  clock an attacker would be down to refusals that read one row and write nothing).

Printed per run: the station's keys, p50, p99 and max in ms next to the target (F4: p99 <= 100
ms, max <= 250 ms), by bench_floor's own report, and how much of that was its wait for the
write lock (timed at the gate, `leadtui.store.db.Gate`, in the station's process); for the
guessers, guesses per second, how long a guess took and how long each held the write lock
(from the gate letting it in to its release after COMMIT). Then a summary of every run. It
asserts nothing about time: figures are for reading. The guessers keep both cores busy with
scrypt, so the station competes for CPU as well: that is in its key -> commit, not its wait.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_floor import (  # same folder: the floor, its station, its report
    NOW_ISO,
    READY_TIMEOUT,
    TARGET_MAX_MS,
    TARGET_P99_MS,
    Floor,
    _git,
    _pct,
    copy_db,
    remove_db,
    station,
)
from bench_status import NOW

GUESSERS = 2
MANAGERS_EACH = 2  # managers a guesser takes in turn
PIN = "482916"  # every manager's real PIN (never guessed: the guessers skip it)
ROUNDS_LEADS = 6000  # bench_floor's plan gives the station (alice) this many leads, shared by the runs


def time_the_gate() -> tuple[list[float], list[float]]:
    """In this child process: every write's wait at the gate for the write lock (from asking to
    being let in) and its hold (from being let in to its release after COMMIT or ROLLBACK), in ms."""
    from leadtui.store.db import Gate

    waits: list[float] = []
    holds: list[float] = []
    enter, leave = Gate.enter, Gate.leave
    let_in = [0.0]

    def timed_enter(self: Gate, timeout: float, background: bool = False) -> bool:
        asked = time.perf_counter()
        ok = enter(self, timeout, background)
        let_in[0] = time.perf_counter()
        waits.append((let_in[0] - asked) * 1000)
        return ok

    def timed_leave(self: Gate) -> None:
        leave(self)
        holds.append((time.perf_counter() - let_in[0]) * 1000)

    Gate.enter, Gate.leave = timed_enter, timed_leave  # type: ignore[method-assign]
    return waits, holds


class _WithWaits:
    """The results queue, as a station sees it: its figures go with its waits at the gate."""

    def __init__(self, results, waits: list[float]):
        self.results, self.waits = results, waits

    def put(self, item: dict) -> None:
        self.results.put({**item, "waits": self.waits})


def timed_station(spec: dict, ready, start, stop, results) -> None:
    """bench_floor's station, with its waits at the gate for the write lock handed in too."""
    waits, _ = time_the_gate()
    station(spec, ready, start, stop, _WithWaits(results, waits))


def guesser(spec: dict, ready, start, stop, results) -> None:
    """Wrong PINs through the Service until `stop`: approve and revive in turn, its managers in turn.
    Hands in each guess's time, each hold of the write lock, and how far its clock moved."""
    name = spec["name"]
    try:
        from leadtui.core import pins
        from leadtui.errors import Refused
        from leadtui.service import Service

        ahead = [timedelta(minutes=spec["ahead_minutes"])]  # the clock, moved past each lock
        svc = Service.open(spec["path"], now=lambda: NOW + ahead[0])
        _, holds = time_the_gate()
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, never a hang
        ready.put((name, False, f"{type(exc).__name__}: {exc}"))
        return
    ready.put((name, True, ""))
    rng = random.Random(spec["seed"])
    guesses: list[float] = []
    kinds: Counter = Counter()
    if not start.wait(READY_TIMEOUT + 60):
        results.put({"name": name, "error": "never started"})
        return
    began = time.perf_counter()
    hard_end = began + spec["hard_seconds"]
    number = 0
    while not stop.is_set() and time.perf_counter() < hard_end:
        manager = spec["managers"][number // 2 % len(spec["managers"])]
        pin = PIN
        while pin == PIN:
            pin = f"{rng.randrange(10**6):06d}"
        t0 = time.perf_counter()
        try:
            if number % 2:
                svc.approve(spec["approval"], manager, pin)
            else:
                svc.revive(spec["dead"], manager, pin)
            kinds["let in (a bug)"] += 1
        except Refused as exc:
            text = str(exc)
            if "wrong PIN" in text:
                kinds["wrong PIN"] += 1
            else:
                kinds[re.sub(r"[0-9]+", "N", text)[:80]] += 1
            if "locked" in text:  # locked now (or found locked): on to when it is over
                kinds["locks"] += 1
                ahead[0] += pins.LOCK + timedelta(minutes=1)
        except Exception as exc:  # noqa: BLE001 - every outcome is a figure
            kinds[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
        guesses.append((time.perf_counter() - t0) * 1000)
        number += 1
    seconds = time.perf_counter() - began
    svc.close()
    results.put(
        {
            "name": name,
            "guesses": guesses,
            "holds": holds,
            "kinds": dict(kinds),
            "seconds": seconds,
            "ahead_minutes": ahead[0].total_seconds() / 60,
        }
    )


class Bench(Floor):
    """bench_floor's Floor (children, the plan, the key report) with the guessers' setup and runs."""

    def __init__(self, args: argparse.Namespace, work: Path):
        super().__init__(args, work)
        self.ahead: dict[str, float] = {}  # a guesser's clock after its last run, in minutes past NOW

    def setup_managers(self, path: Path) -> dict:
        """Managers (boss, then each guesser's own), a pending approval and a killed lead to guess on."""
        from leadtui.service import Service

        t0 = time.perf_counter()
        svc = Service.open(path, now=lambda: NOW)
        try:
            have = {r["name"] for r in svc.reps()}
            if "boss" not in have:
                svc.add_rep(
                    "boss", manager=True, started=date(2024, 1, 1), pin=PIN, acting="boss", acting_pin=PIN
                )
            managers = {}
            for g in range(1, GUESSERS + 1):
                managers[f"guesser{g}"] = [f"mgr{g}{chr(96 + m)}" for m in range(1, MANAGERS_EACH + 1)]
                for name in managers[f"guesser{g}"]:
                    if name not in have:
                        svc.add_rep(
                            name,
                            manager=True,
                            started=date(2024, 1, 1),
                            pin=PIN,
                            acting="boss",
                            acting_pin=PIN,
                        )
            if "newbie" not in have:
                svc.add_rep("newbie", started=NOW.date() - timedelta(days=1), acting="boss", acting_pin=PIN)
            asked, killed = self.plan["dispatch"][:2]
            approval = svc.set_status(asked, "dead-deal", "newbie").approval_id
            svc.set_status(killed, "dead-deal", "alice")
        finally:
            svc.close()
        print(
            f"  setup: managers boss and {', '.join(m for ms in managers.values() for m in ms)}; approval #{approval} "
            f"(newbie's Dead Deal on lead {asked}); lead {killed} killed ({time.perf_counter() - t0:.1f} s)"
        )
        return {"managers": managers, "approval": approval, "dead": killed}

    def run(self, label: str, path: Path, leads: list[int], targets: dict | None) -> tuple[dict, dict]:
        """One run: the station, and the guessers unless `targets` is None. Returns (station, guessers)."""
        args = self.args
        ready, results = self.ctx.Queue(), self.ctx.Queue()
        start, stop = self.ctx.Event(), self.ctx.Event()
        hard = args.seconds + 30
        spec = {
            "name": "station",
            "rep": "alice",
            "path": str(path),
            "leads": leads,
            "burst": True,
            "every": (args.every / 1000, args.every / 1000),
            "seed": args.seed,
            "max_keys": 2 * len(leads),
            "hard_seconds": hard,
        }
        self.spawn(timed_station, spec, ready, start, stop, results)
        names = {"station"}
        for g, (name, managers) in enumerate((targets or {}).get("managers", {}).items()):
            guess = {
                "name": name,
                "path": str(path),
                "managers": managers,
                "approval": targets["approval"],
                "dead": targets["dead"],
                "seed": args.seed + 1 + g,
                "hard_seconds": hard,
                "ahead_minutes": self.ahead.get(name, 0.0),  # past the locks of the runs before
            }
            self.spawn(guesser, guess, ready, start, stop, results)
            names.add(name)
        print(f"\n== {label}")
        failed = self.wait_ready(ready, names)
        for name, reason in failed.items():
            print(f"  {name} did not start: {reason}")
        t0 = time.perf_counter()
        start.set()
        time.sleep(args.seconds)
        stop.set()
        got = self.collect(results, names - set(failed))
        self.reap()
        print(f"  ran {time.perf_counter() - t0:.1f} s; load {os.getloadavg()[0]:.1f}")
        keys = {n: r for n, r in got.items() if n == "station"}
        self.report_keys(label, keys)
        if waits := keys.get("station", {}).get("waits"):
            print(
                f"  its wait for the write lock (at the gate): p50 {_pct(waits, 50):.2f} ms, "
                f"p99 {_pct(waits, 99):.2f} ms, max {max(waits):.2f} ms"
            )
        guessers = {n: r for n, r in got.items() if n != "station"}
        for name, r in guessers.items():
            self.ahead[name] = r.get("ahead_minutes", 0.0)
        if guessers:
            self.report_guessers(guessers)
        return keys.get("station", {}), guessers

    def report_guessers(self, got: dict[str, dict]) -> None:
        print(
            f"  {'guesser':<9} {'guesses':>7} {'per s':>6} {'locks':>6} {'guess p50':>10} "
            f"{'lock held p50':>14} {'p99':>6} {'max':>6}   (ms; the lock held per guess)"
        )
        for name in sorted(got):
            r = got[name]
            if "error" in r:
                print(f"  {name:<9} {r['error']}")
                continue
            g, h, k = r["guesses"], r["holds"], r["kinds"]
            held = f"{_pct(h, 50):>14.2f} {_pct(h, 99):>6.2f} {max(h):>6.2f}" if h else f"{'-':>14}"
            print(
                f"  {name:<9} {len(g):>7} {len(g) / r['seconds']:>6.1f} {k.get('locks', 0):>6} "
                f"{_pct(g, 50) if g else 0:>10.1f} {held}"
            )
            others = {kind: n for kind, n in k.items() if kind not in ("wrong PIN", "locks")}
            if others:
                print(f"    also: {others}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--db",
        type=Path,
        default=Path(tempfile.gettempdir()) / "leadtui-bench" / "leads-1m.db",
        help="bench_status's database (only read: the run works on a copy)",
    )
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds a run lasts (default 30)")
    ap.add_argument(
        "--rounds", type=int, default=1, help="pairs of runs, without then with guessers (default 1)"
    )
    ap.add_argument("--every", type=float, default=50.0, help="ms between the station's keys (default 50)")
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args(argv)
    if not args.db.exists():
        ap.error(f"no database at {args.db}: build it with benchmarks/bench_status.py --db {args.db}")
    if Path(__file__).resolve().parents[1] in args.db.resolve().parents:
        ap.error("keep the benchmark database out of the repository (use a temp folder)")
    per_run = int(args.seconds * 1000 / args.every) // 2 + 10  # leads a run: two keys each
    if args.rounds < 1 or 2 * args.rounds * per_run > ROUNDS_LEADS:
        ap.error(f"--rounds x --seconds / --every: the station has {ROUNDS_LEADS:,} leads for every run")
    args.stations, args.actions, args.holds = 1, 2, 0  # for bench_floor's plan: alice's leads, 2 spare

    def terminate(signum, frame):  # cleanup runs in the finally below
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    work = Path(tempfile.mkdtemp(prefix="leadtui-bench-pin-"))
    bench = Bench(args, work)
    for key in ("LEADTUI_DB", "LEADTUI_REP", "LEADTUI_CONFIG", "LEADTUI_NOW"):
        os.environ.pop(key, None)
    path = work / "floor.db"
    try:
        with sqlite3.connect(f"file:{args.db}?mode=ro", uri=True) as conn:
            leads = conn.execute("SELECT max(id) FROM leads").fetchone()[0] or 0
        print(
            f"bench_pin: database {args.db.name} ({leads:,} leads), one copy; code {_git()}; "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        )
        print(
            f"a station (alice) presses a status key every {args.every:g} ms for {args.seconds:g} s, alone, then "
            f"while {GUESSERS} processes guess manager PINs; {args.rounds} round(s); clock {NOW_ISO}"
        )
        print(f"target (F4): key -> commit p99 <= {TARGET_P99_MS:g} ms, max <= {TARGET_MAX_MS:g} ms")
        t0 = time.perf_counter()
        copy_db(args.db, path)
        print(f"  copy: {time.perf_counter() - t0:.1f} s")
        bench.prepare(path)
        targets = bench.setup_managers(path)
        own = bench.plan["stations"]["alice"]
        figures: list[tuple[str, dict, dict]] = []
        for round_ in range(args.rounds):
            for with_guessers in (False, True):
                run = 2 * round_ + with_guessers
                label = f"{'with ' + str(GUESSERS) + ' guessers' if with_guessers else 'no guessers'}"
                label += f", round {round_ + 1}" if args.rounds > 1 else ""
                got = bench.run(
                    label, path, own[run * per_run : (run + 1) * per_run], targets if with_guessers else None
                )
                figures.append((label, *got))
        summarize(figures)
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
    finally:
        bench.close()
        remove_db(path)
        shutil.rmtree(work, ignore_errors=True)


def summarize(figures: list[tuple[str, dict, dict]]) -> None:
    print(
        f"\nsummary: the station's key -> commit (ms)   target p99 <= {TARGET_P99_MS:g}, max <= {TARGET_MAX_MS:g}"
    )
    print(
        f"  {'run':<28} {'keys':>5} {'p50':>7} {'p99':>7} {'max':>7}        "
        f"of which waiting for the write lock: p50, p99, max"
    )
    for label, keys, guessers in figures:
        s = keys.get("samples") or []
        if not s:
            print(f"  {label:<28} no keys ({keys.get('error', 'nothing handed in')})")
            continue
        ok = _pct(s, 99) <= TARGET_P99_MS and max(s) <= TARGET_MAX_MS
        w = keys.get("waits") or [0.0]
        print(
            f"  {label:<28} {len(s):>5} {_pct(s, 50):>7.1f} {_pct(s, 99):>7.1f} {max(s):>7.1f}   "
            f"[{'ok' if ok else 'OVER'}]{'':>4}{_pct(w, 50):>7.2f} {_pct(w, 99):>7.2f} {max(w):>7.2f}"
        )
        guesses = [g for r in guessers.values() for g in r.get("guesses", [])]
        holds = [h for r in guessers.values() for h in r.get("holds", [])]
        if guesses:
            seconds = max(r.get("seconds", 0) for r in guessers.values()) or 1
            print(
                f"    {len(guesses):,} wrong PINs ({len(guesses) / seconds:.1f}/s), a guess p50 {_pct(guesses, 50):.1f} ms; "
                f"write lock held per guess p50 {_pct(holds, 50):.2f} ms, p99 {_pct(holds, 99):.2f} ms, "
                f"max {max(holds):.2f} ms"
            )


if __name__ == "__main__":
    main()
