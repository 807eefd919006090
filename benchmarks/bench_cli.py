"""Wall time of `leadtui show ID --json` as a fresh process, and what its imports cost.

    python benchmarks/bench_cli.py                                  # builds a small db in a temp dir
    python benchmarks/bench_cli.py --db /tmp/leadtui-bench/leads.db  # e.g. bench_status's 1M db

Runs the installed `leadtui` script (else `python -m leadtui`) --runs times after one
untimed warm-up and prints median and p90 against the target (median <= 250 ms), next to
the bare interpreter start for scale. Then runs it with PYTHONPROFILEIMPORTTIME=1 and
prints the costliest imports (median of several runs), cumulative and grouped by top-level
package. Config and data dirs point at an empty temp dir, so no user config is read.
It asserts nothing about time: figures are for reading.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TARGET_MEDIAN_MS = 250.0


def leadtui_command() -> list[str]:
    """The installed console script next to this interpreter, else on PATH, else `python -m leadtui`."""
    for candidate in (Path(sys.executable).parent / "leadtui", shutil.which("leadtui")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    return [sys.executable, "-m", "leadtui"]


def pick_lead(db: Path) -> int:
    """A lead with a timeline if there is one (show prints it), else one from the middle."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT lead_id FROM events WHERE lead_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT id FROM leads ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM leads)"
            ).fetchone()
        if row is None:
            sys.exit(f"{db} has no leads")
        return row[0]
    finally:
        conn.close()


def small_db(folder: Path, n: int) -> Path:
    """A database of n leads built like bench_status's, with a few events on one lead."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_status

    from leadtui.errors import LeadtuiError
    from leadtui.service import Service
    from leadtui.store.db import connect

    path = folder / "leads.db"
    bench_status.build(path, n, quiet=True)
    db = connect(path)
    service = Service(db, now=lambda: bench_status.NOW)
    lead_id = db.conn.execute(
        "SELECT id FROM leads WHERE owner IS NULL AND dead = 0 ORDER BY id LIMIT 1 OFFSET ?", (n // 3,)
    ).fetchone()[0]
    for status in ("not-contacted", "not-contacted", "needs-offer"):
        with contextlib.suppress(LeadtuiError):  # a lead with only DNC phones: keep whatever events went in
            service.set_status(lead_id, status, "alice")
    db.close()
    return path


def timed(cmd: list[str], env: dict, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def p90(values: list[float]) -> float:
    s = sorted(values)
    return s[max(0, -(-9 * len(s) // 10) - 1)]


def import_costs(cmd: list[str], env: dict, runs: int) -> tuple[dict[str, float], dict[str, float], set[str]]:
    """Median over runs of cumulative and self microseconds per module, and the depth-0 modules."""
    cumulative, own, top = defaultdict(list), defaultdict(list), set()
    for _ in range(runs):
        done = subprocess.run(
            cmd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True, check=False
        )
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cum_us, raw = line[len("import time:") :].split("|")
            name = raw.strip()
            cumulative[name].append(int(cum_us))
            own[name].append(int(self_us))
            if not raw.startswith("  "):  # " name" is depth 0, "   name" is imported by the line below it
                top.add(name)
    return (
        {k: statistics.median(v) for k, v in cumulative.items()},
        {k: statistics.median(v) for k, v in own.items()},
        top,
    )


def package(name: str) -> str:
    """leadtui.core.phones -> leadtui.core; phonenumbers.data.region_US -> phonenumbers."""
    parts = name.split(".")
    return ".".join(parts[:2]) if parts[0] == "leadtui" and len(parts) > 1 else parts[0]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, help="database to show a lead from (default: build a small one)")
    ap.add_argument("--leads", type=int, default=2000, help="leads in the small database (default 2000)")
    ap.add_argument("--id", type=int, help="lead to show (default: the last one with events)")
    ap.add_argument("--runs", type=int, default=20, help="timed runs (default 20)")
    ap.add_argument("--import-runs", type=int, default=5, help="PYTHONPROFILEIMPORTTIME runs (default 5)")
    ap.add_argument("--top", type=int, default=15, help="imports to list (default 15)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="leadtui-bench-cli-") as tmp:
        home = Path(tmp)
        env = {
            **os.environ,
            "LEADTUI_CONFIG_DIR": str(home / "config"),
            "LEADTUI_DATA_DIR": str(home / "data"),
        }
        for key in ("LEADTUI_CONFIG", "LEADTUI_DB", "LEADTUI_REP", "LEADTUI_NOW", "PYTHONPROFILEIMPORTTIME"):
            env.pop(key, None)
        db = args.db or small_db(home, args.leads)
        if not db.exists():
            sys.exit(f"no database at {db}")
        lead_id = args.id or pick_lead(db)
        cmd = [*leadtui_command(), "--db", str(db), "show", str(lead_id), "--json"]
        shown = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # also the warm-up
        if shown.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({shown.returncode}): {shown.stderr.strip()}")
        data = json.loads(shown.stdout)
        print(f"command:  {' '.join(cmd)}")
        print(
            f"database: {db} ({os.path.getsize(db) / 2**20:,.0f} MiB); lead {lead_id}: "
            f"{len(data['phones'])} phones, {len(data.get('events', []))} events"
        )

        # As this environment runs it, and with bytecode cached the way an installed wheel has it:
        # with PYTHONDONTWRITEBYTECODE set and an editable install, leadtui's own modules are
        # compiled from source on every start. The cache goes to a temp dir, never the repo.
        cached = {**env, "PYTHONPYCACHEPREFIX": str(home / "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(cmd, env=cached, stdout=subprocess.DEVNULL, check=True)  # fills the cache
        modes = [
            ("as is", env, f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!s}"),
            ("cached", cached, "bytecode cached (PYTHONPYCACHEPREFIX)"),
        ]
        medians = {}
        for label, mode_env, note in modes:
            walls = timed(cmd, mode_env, args.runs)
            med = medians[label] = statistics.median(walls)
            verdict = "ok" if med <= TARGET_MEDIAN_MS else "OVER TARGET"
            print(
                f"show:     median {med:6.1f} ms  p90 {p90(walls):6.1f} ms  over {args.runs} runs  "
                f"(target median <= {TARGET_MEDIAN_MS:g} ms) [{verdict}]  {label}: {note}"
            )
        bare = timed([sys.executable, "-c", "pass"], cached, args.runs)
        bare_s = timed([sys.executable, "-S", "-c", "pass"], cached, args.runs)
        print(
            f"python:   `python -c pass` median {statistics.median(bare):5.1f} ms, "
            f"with -S (no site, no editable-install hook) {statistics.median(bare_s):5.1f} ms"
        )

        cum, _own, top = import_costs(cmd, env, args.import_runs)
        as_is = sum(cum[n] for n in top) / 1000
        cum, own, top = import_costs(cmd, cached, args.import_runs)
        warm = sum(cum[n] for n in top) / 1000
        print(
            f"imports:  {as_is:.1f} ms as is, {warm:.1f} ms cached; what is left for the command's own work "
            f"(cached median - python -c pass - imports): {medians['cached'] - statistics.median(bare) - warm + cum.get('site', 0) / 1000:.1f} ms"
        )
        by_package: dict[str, float] = defaultdict(float)
        for name, us in own.items():
            by_package[package(name)] += us
        print(
            f"\nimports, bytecode cached (PYTHONPROFILEIMPORTTIME, median of {args.import_runs} runs): "
            f"{sum(cum[n] for n in top) / 1000:.1f} ms in all, {sum(cum[n] for n in top if n.startswith('leadtui')) / 1000:.1f} ms "
            f"under leadtui's own top-level imports"
        )
        print(f"  {'cumulative':>10}  {'self':>8}  module (costliest, nested ones included)")
        for name in sorted(cum, key=lambda n: -cum[n])[: args.top]:
            print(f"  {cum[name] / 1000:8.1f}ms  {own[name] / 1000:6.1f}ms  {name}")
        print(f"\n  self time by package (top {args.top}):")
        for name, us in sorted(by_package.items(), key=lambda kv: -kv[1])[: args.top]:
            print(f"  {us / 1000:8.1f}ms  {name}")


if __name__ == "__main__":
    main()
