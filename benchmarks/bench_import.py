"""`leadtui import` of a 1,000,000-row PropStream-style CSV, next to raw loaders, and the status report.

    python benchmarks/bench_import.py                         # 1M rows in a temp folder
    python benchmarks/bench_import.py --rows 100000 --out /tmp/leadtui-bench --skip-sqlite-utils
    python benchmarks/bench_import.py --postgresql postgresql://postgres@127.0.0.1:PORT/bench  # both engines
    python benchmarks/bench_import.py --rows 100000 --more 100000 --skip-sqlite-utils --postgresql URL

Generates (seeded) a PropStream property export of `--rows` rows: 1-5 phones a row in the
formats vendors ship (`(305) 555-0101`, `305.555.0101`, `+1 305 555 0101`, `13055550101`),
Yes/No DNC and litigator flags, and 2% of rows repeating an earlier property with new phones
(so de-duplication works). Then, in the same run, one after another:

- leadtui: `leadtui import FILE --json` as a fresh process on a fresh database: rows/s and
  its peak RSS (with its reading processes), next to the targets (>= 50,000 rows/s, <= 300 MB); meanwhile a
  station writes every 50 ms, and the time its writes took (the import's batches hold the
  write lock) is printed. A first load builds its lookup indexes at its end (included
  in the time); the run checks that the database then has every index and trigger a fresh
  one has, and that search finds a generated owner;
- with `--postgresql URL` (an empty database: benchmarks/pg_server.py makes one): the same
  `leadtui import FILE --json` into a floor made there by `leadtui init`, timed the same way,
  next to the SQLite figure (the server's own memory is not counted), while a station presses a
  key on lead 1 every 50 ms (its key -> commit times printed);
- the sqlite3 shell's `.import --csv` of the same file into a bare table (C, no normalising);
- `sqlite-utils insert DB leads FILE --csv` (for reference; about 5 minutes at 1M rows);
- `leadtui report status --json` on the imported database: median of 5 fresh processes, and
  the report function alone in-process (target <= 0.5 s);
- a second list, a tenth the size (or `--more` rows) with other properties, imported into that
  database (and with `--postgresql`, into the server's floor too): the daily case, where every
  batch lands in big indexes.

Prints figures; asserts nothing about time. Files go to --out (default: a temp folder).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_status import FIRST, LAST, PLACES, STREETS, SUFFIXES, _phone_plan

from leadtui.store.queries import fts_query

SEED = 20261124
TARGET_ROWS_S, TARGET_RSS_MB, TARGET_REPORT_S = 50_000, 300, 0.5
PROBE_EVERY = 0.05
SAMPLE_EVERY = 0.1  # s between samples of the import's memory
HEADER = (
    [
        "Address",
        "Unit #",
        "City",
        "State",
        "Zip",
        "County",
        "APN",
        "Property Type",
        "Bedrooms",
        "Total Bathrooms",
        "Building Sqft",
        "Year Built",
        "Owner 1 First Name",
        "Owner 1 Last Name",
        "Owner 2 First Name",
        "Owner 2 Last Name",
        "Owner Occupied",
        "Vacant",
        "Mailing Care of Name",
        "Mailing Address",
        "Mailing Unit #",
        "Mailing City",
        "Mailing State",
        "Mailing Zip",
        "Do Not Mail",
        "Total Assessed Value",
        "Last Sale Date",
        "Last Sale Recording Date",
        "Last Sale Amount",
        "Est. Value",
        "Est. Equity",
        "MLS Status",
    ]
    + [h.format(n) for n in range(1, 6) for h in ("Phone {}", "Phone {} Type", "Phone {} DNC")]
    + ["Litigator", "Email 1", "Email 2"]
)
FORMATS = ("({a}) {x}-{l}", "{a}-{x}-{l}", "{a}.{x}.{l}", "+1 {a} {x} {l}", "1{a}{x}{l}", "{a}{x}{l}")
TYPES = ("Mobile", "Landline", "Residential", "Wireless", "")


def generate(path: Path, rows: int, seed: int = SEED) -> None:
    """Write the CSV: one property per row, 2% repeats of an earlier one."""
    rng = random.Random(seed)
    exchanges, _ = _phone_plan()
    choice, randrange, random_ = rng.choice, rng.randrange, rng.random
    earlier: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            if earlier and random_() < 0.02:
                row = list(choice(earlier))
            else:
                city, state, zip3, county, _areas = choice(PLACES)
                street = f"{randrange(1, 20000)} {choice(STREETS)} {choice(SUFFIXES).capitalize()}"
                zip_code = f"{zip3}{randrange(100):02d}"
                first, last = choice(FIRST), choice(LAST)
                absentee = random_() < 0.3
                mailing = f"{randrange(1, 20000)} {choice(STREETS)} St" if absentee else street
                row = [
                    street,
                    "",
                    city,
                    state,
                    zip_code,
                    county,
                    f"{randrange(100):02d}-{randrange(10**4):04d}-{randrange(1000):03d}",
                    "Single Family",
                    str(randrange(1, 6)),
                    str(randrange(1, 4)),
                    str(randrange(600, 4000)),
                    str(randrange(1920, 2020)),
                    first,
                    last,
                    "",
                    "",
                    "No" if absentee else "Yes",
                    "Yes" if random_() < 0.3 else "No",
                    "",
                    mailing,
                    "",
                    city,
                    state,
                    zip_code,
                    "No",
                    str(randrange(50, 900) * 1000),
                    "01/20/2011",
                    "01/20/2011",
                    str(randrange(40, 800) * 1000),
                    str(randrange(60, 990) * 1000),
                    str(randrange(0, 500) * 1000),
                    choice(("", "Active", "Sold")),
                ]
                row += [""] * 15 + ["No", f"{last.lower()}{i}@example.com", ""]
                earlier.append(row) if len(earlier) < 10_000 else None
            row = list(row)
            for n in range(randrange(1, 6)):
                area = choice(choice(PLACES)[4])
                number = choice(FORMATS).format(
                    a=area, x=choice(exchanges[area]), l=f"{randrange(10000):04d}"
                )
                row[32 + 3 * n : 35 + 3 * n] = [number, choice(TYPES), "Yes" if random_() < 0.15 else "No"]
            row[47] = "Yes" if random_() < 0.03 else "No"
            out.writerow(row)


class StationProbe(threading.Thread):
    """A station writing during the import: one small write transaction every PROBE_EVERY
    seconds; records how long each took, waiting for the import's batches included."""

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.conn = sqlite3.connect(db, isolation_level=None, timeout=60, check_same_thread=False)
        self.stop = threading.Event()
        self.waits: list[float] = []

    def run(self) -> None:
        while not self.stop.wait(PROBE_EVERY):
            t0 = time.perf_counter()
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('bench_probe', ?)", (str(t0),))
            self.conn.execute("COMMIT")
            self.waits.append(time.perf_counter() - t0)

    def finish(self) -> list[float]:
        self.stop.set()
        self.join()
        self.conn.close()
        return self.waits or [0.0]


class ServerProbe(StationProbe):
    """A station on the server's floor during its import: every PROBE_EVERY seconds a key on lead 1
    (`write(lead=1)`, as a status key takes it: the floor's lock shared and the lead's row), its
    time from the key to the commit, waiting for the import's batches included (a batch locks only
    the leads it merges into: lead 1 when a repeated row names it)."""

    def __init__(self, url: str):
        threading.Thread.__init__(self, daemon=True)
        from leadtui.store.db import connect

        self.conn = connect(url)  # (a Database: StationProbe.finish closes it)
        self.stop = threading.Event()
        self.waits: list[float] = []

    def run(self) -> None:
        while not self.stop.wait(PROBE_EVERY):
            t0 = time.perf_counter()
            with self.conn.write(lead=1) as conn:
                conn.execute("UPDATE leads SET updated_at = updated_at WHERE id = 1")
            self.waits.append(time.perf_counter() - t0)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def leadtui_cmd() -> list[str]:
    script = shutil.which("leadtui", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "leadtui"]


def descendants(root: int) -> set[int]:
    """Process `root` and all its descendants, now (from /proc: this kernel has no children files)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                pass  # gone meanwhile
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def resident(pids: set[int]) -> int:
    """Bytes resident in `pids` together, now."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            pass  # gone meanwhile
    return total


def run_measured(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Run cmd to completion; wall seconds, peak RSS in MB (the process and its children
    together, sampled every SAMPLE_EVERY s, or the process's own peak if higher), stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, text=True)
        peak, done = [0], threading.Event()

        def sample() -> None:  # the tree is looked for every second only: a scan of /proc costs CPU
            tree, ticks = {proc.pid}, 0
            while not done.wait(SAMPLE_EVERY):
                if ticks % 10 == 0:
                    tree = descendants(proc.pid)
                ticks += 1
                peak[0] = max(peak[0], resident(tree))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {err.read().strip()[-500:]}")
        return wall, max(usage.ru_maxrss * 1024, peak[0]) / 2**20, out.read()


def probed_import(csv_path: Path, env: dict, probe_of) -> tuple[float, float, dict, list[float]]:
    """`leadtui init`, then `leadtui import CSV` timed while a station's probe writes beside it:
    wall seconds, peak MiB, the import's summary and the probe's waits."""
    cmd = leadtui_cmd()
    run_measured([*cmd, "init"], env)
    probe = probe_of()
    probe.start()
    wall, rss, out = run_measured([*cmd, "import", str(csv_path), "--json"], env)
    return wall, rss, json.loads(out), probe.finish()


def import_into_server(url: str, csv_path: Path, rows: int, sqlite_wall: float, env: dict) -> None:
    """The same import into a floor on a PostgreSQL server, timed as the SQLite one."""
    from leadtui.store.db import connect

    served = {**env, "LEADTUI_DB": url}
    wall, rss, summary, waits = probed_import(csv_path, served, lambda: ServerProbe(url))
    db = connect(url)
    try:
        stored = db.conn.execute("SELECT count(*) FROM leads").fetchone()[0]
    finally:
        db.close()
    print(
        f"leadtui import (pg)   {rows / wall:>9,.0f} rows/s  ({wall:.1f} s, {rows:,} rows: {summary['inserted']:,} new, "
        f"{summary['merged']:,} merged; {wall / sqlite_wall:.1f}x the SQLite import's time)"
    )
    print(
        f"leadtui peak RSS (pg) {rss:>9,.0f} MB (the importing process and its readers; {stored:,} leads on the server)"
    )
    print(
        f"a station's key (pg)  median {statistics.median(waits):.3f} s, p99 {quantile(waits, 0.99):.3f} s, "
        f"max {max(waits):.3f} s while the import ran ({len(waits)} keys on lead 1, one every {PROBE_EVERY} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, help="Folder for the CSV and databases (default: a temp folder).")
    parser.add_argument(
        "--skip-sqlite-utils", action="store_true", help="Leave out the slowest reference loader."
    )
    parser.add_argument("--more", type=int, help="Rows of the second list (default: a tenth of --rows).")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="Also import into a floor made at this postgresql:// address (an empty database).",
    )
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="leadtui-bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"propstream-{args.rows}.csv"
    if not csv_path.exists():
        t0 = time.perf_counter()
        generate(csv_path, args.rows)
        print(
            f"generated {csv_path} ({csv_path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )
    rows = args.rows
    db = folder / "import.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {
        **os.environ,
        "LEADTUI_DB": str(db),
        "LEADTUI_CONFIG_DIR": str(folder / "config"),
        "LEADTUI_DATA_DIR": str(folder / "data"),
    }
    cmd = leadtui_cmd()
    wall, rss, summary, waits = probed_import(csv_path, env, lambda: StationProbe(db))
    print(
        f"leadtui import        {rows / wall:>9,.0f} rows/s  ({wall:.1f} s, {rows:,} rows: {summary['inserted']:,} new, "
        f"{summary['merged']:,} merged, {summary['rejected']:,} rejected)  target >= {TARGET_ROWS_S:,}"
    )
    print(
        f"leadtui peak RSS      {rss:>9,.0f} MB (with its reading processes)        target <= {TARGET_RSS_MB}"
    )
    if args.postgresql:
        import_into_server(args.postgresql, csv_path, rows, wall, env)
    fresh = folder / "fresh.db"
    fresh.unlink(missing_ok=True)
    run_measured([*cmd, "init", "--db", str(fresh)], env)
    with sqlite3.connect(db) as conn, sqlite3.connect(fresh) as empty:
        objects = "SELECT type, name FROM sqlite_schema WHERE type IN ('index', 'trigger')"
        missing = set(empty.execute(objects)) - set(conn.execute(objects))
        owner = conn.execute("SELECT id, owner_name FROM leads ORDER BY id DESC LIMIT 1").fetchone()
        found = owner[0] in {
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?", (fts_query(owner[1]),)
            )
        }
    print(
        f"after the import      {'every index and trigger' if not missing else f'MISSING {sorted(missing)}'}; "
        f"search {'finds' if found else 'DOES NOT find'} the last lead's owner"
    )
    print(
        f"a station's write     median {statistics.median(waits):.3f} s, p99 {quantile(waits, 0.99):.3f} s, "
        f"max {max(waits):.3f} s while the import ran ({len(waits)} writes, one every {PROBE_EVERY} s)"
    )

    raw = folder / "raw.db"
    raw.unlink(missing_ok=True)
    sqlite = shutil.which("sqlite3")
    if sqlite:
        wall_raw, _, _ = run_measured(
            [sqlite, str(raw), "-cmd", f".import --csv {csv_path} leads", ".quit"], env
        )
        print(
            f"sqlite3 .import       {rows / wall_raw:>9,.0f} rows/s  ({wall_raw:.1f} s; leadtui is "
            f"{wall / wall_raw:.1f}x its time, target <= 4x)"
        )
    else:
        print("sqlite3 .import       (no sqlite3 shell on PATH)")
    if not args.skip_sqlite_utils:
        utils = shutil.which("sqlite-utils", path=str(Path(sys.executable).parent)) or shutil.which(
            "sqlite-utils"
        )
        target = folder / "sqlite-utils.db"
        target.unlink(missing_ok=True)
        wall_su, _, _ = run_measured([utils, "insert", str(target), "leads", str(csv_path), "--csv"], env)
        print(f"sqlite-utils insert   {rows / wall_su:>9,.0f} rows/s  ({wall_su:.1f} s)")

    walls = [run_measured([*cmd, "report", "status", "--json"], env)[0] for _ in range(5)]
    from leadtui.reports import status_report
    from leadtui.service import Service

    svc = Service.open(db)
    t0 = time.perf_counter()
    report = status_report(svc)
    inner = time.perf_counter() - t0
    svc.close()
    print(
        f"report status --json  {statistics.median(walls):>9.3f} s median of 5 processes "
        f"({inner:.3f} s in-process, {sum(e['count'] for e in report):,} leads)  target <= {TARGET_REPORT_S}"
    )
    extra = args.more or rows // 10
    more = folder / f"propstream-{extra}-more.csv"
    if not more.exists():
        generate(more, extra, seed=SEED + 1)
    wall_more, _, out = run_measured([*cmd, "import", str(more), "--json"], env)
    second = json.loads(out)
    print(
        f"a second list         {extra / wall_more:>9,.0f} rows/s  ({wall_more:.1f} s, {extra:,} rows into "
        f"{summary['inserted']:,} leads: {second['inserted']:,} new, {second['merged']:,} merged)"
    )
    if args.postgresql:  # the same list into the server's floor, which has the first file's leads
        served = {**env, "LEADTUI_DB": args.postgresql}
        wall_pg, _, out = run_measured([*cmd, "import", str(more), "--json"], served)
        second = json.loads(out)
        print(
            f"a second list (pg)    {extra / wall_pg:>9,.0f} rows/s  ({wall_pg:.1f} s: {second['inserted']:,} new, "
            f"{second['merged']:,} merged; {wall_pg / wall_more:.1f}x the SQLite import's time)"
        )
    print(f"files in {folder}")


if __name__ == "__main__":
    main()
