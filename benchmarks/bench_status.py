"""Status changes and claims through the Service on a database of N leads (default 1,000,000).

    python benchmarks/bench_status.py --db /tmp/leadtui-bench/1m.db            # build or reuse
    python benchmarks/bench_status.py --db /tmp/leadtui-bench/1m.db --rebuild  # build afresh
    python benchmarks/bench_status.py --db postgresql://postgres@127.0.0.1:PORT/bench   # on a server
                                      (benchmarks/pg_server.py starts one)

Builds the database with `leadtui.store.bulk.insert_leads` (seeded, so every build is the
same), then times, one call at a time with `time.perf_counter_ns`, what a key press costs:

- status: `Service.set_status` cycling not-contacted / needs-offer / not-interested over
  random pool leads (decision + one BEGIN IMMEDIATE transaction + event + outbox row),
- claim: `Service.claim` of random pool leads.

Prints median and p99 in ms next to the targets (on a file median <= 1 ms and p99 <= 5 ms; on
a server p99 <= 5 ms, issue 18's), the build time, the database size, and the share of CPU time
the host took back (steal) while timing: on a shared VM it moves the p99 from run to run. It
asserts nothing about time: figures are for reading.
Keep the database in a temp folder, never in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

from leadtui.core import phones as phonelib
from leadtui.core.calling import STATE_TZ
from leadtui.core.identity import address_key, owner_key
from leadtui.errors import LeadtuiError
from leadtui.service import Service, init_database
from leadtui.store import bulk, postgres
from leadtui.store.db import connect
from leadtui.store.queries import LEAD_COLUMNS

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("America/New_York"))  # inside 08-21 in every US zone
REPS = ("alice", "bob")
TARGET_MEDIAN_MS, TARGET_P99_MS = 1.0, 5.0
SEED = 20261123
CHUNK = 100_000  # leads per build transaction

FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty "
    "Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua "
    "Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Jose Maria "
    "Luis Carmen Juan Rosa Carlos Ana Wei Mei Hung Linh Ahmed Fatima Olga Ivan"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo"
).split()
STREETS = (
    "Oak Pine Maple Cedar Elm Washington Lake Hill Park Main Sunset Lincoln Jackson Church "
    "Highland Forest Jefferson Ridge Meadow Willow River Spring Walnut Chestnut Franklin Palm "
    "Magnolia Dogwood Hickory Sycamore Cypress Birch Laurel Poplar Orchard Valley Lakeview Mill "
    "Madison Adams Monroe Grant Harrison Cleveland Wilson Kennedy Bay Ocean Bayshore Coral"
).split()
SUFFIXES = ("st", "ave", "dr", "rd", "ln", "ct", "blvd", "pl", "cir", "ter", "wy", "trl")
DIRS = ("", "", "", "", "n", "s", "e", "w")
# city, state, 3-digit zip prefix, county, area codes
PLACES = (
    ("Miami", "FL", "331", "Miami-Dade", (305, 786)),
    ("Orlando", "FL", "328", "Orange", (407, 321)),
    ("Tampa", "FL", "336", "Hillsborough", (813,)),
    ("Jacksonville", "FL", "322", "Duval", (904,)),
    ("Atlanta", "GA", "303", "Fulton", (404, 678, 470)),
    ("Houston", "TX", "770", "Harris", (713, 281, 832)),
    ("Dallas", "TX", "752", "Dallas", (214, 469, 972)),
    ("San Antonio", "TX", "782", "Bexar", (210,)),
    ("Phoenix", "AZ", "850", "Maricopa", (602, 480, 623)),
    ("Los Angeles", "CA", "900", "Los Angeles", (213, 323, 310)),
    ("San Diego", "CA", "921", "San Diego", (619, 858)),
    ("Chicago", "IL", "606", "Cook", (312, 773)),
    ("Detroit", "MI", "482", "Wayne", (313,)),
    ("Cleveland", "OH", "441", "Cuyahoga", (216,)),
    ("Columbus", "OH", "432", "Franklin", (614,)),
    ("Charlotte", "NC", "282", "Mecklenburg", (704, 980)),
    ("Memphis", "TN", "381", "Shelby", (901,)),
    ("Nashville", "TN", "372", "Davidson", (615,)),
    ("Denver", "CO", "802", "Denver", (303, 720)),
    ("Las Vegas", "NV", "891", "Clark", (702,)),
    ("Philadelphia", "PA", "191", "Philadelphia", (215, 267)),
    ("Pittsburgh", "PA", "152", "Allegheny", (412,)),
    ("Baltimore", "MD", "212", "Baltimore City", (410, 443)),
    ("Birmingham", "AL", "352", "Jefferson", (205,)),
    ("Indianapolis", "IN", "462", "Marion", (317,)),
    ("Kansas City", "MO", "641", "Jackson", (816,)),
    ("St. Louis", "MO", "631", "St. Louis City", (314,)),
    ("Seattle", "WA", "981", "King", (206,)),
    ("Portland", "OR", "972", "Multnomah", (503,)),
    ("New Orleans", "LA", "701", "Orleans", (504,)),
    ("Oklahoma City", "OK", "731", "Oklahoma", (405,)),
    ("Louisville", "KY", "402", "Jefferson", (502,)),
    ("Milwaukee", "WI", "532", "Milwaukee", (414,)),
    ("Albuquerque", "NM", "871", "Bernalillo", (505,)),
    ("Salt Lake City", "UT", "841", "Salt Lake", (801,)),
    ("Boise", "ID", "837", "Ada", (208,)),
)
# (status, weight, owned by a rep)
STATUSES = (
    ("new", 55, False),
    ("not-contacted", 28, False),
    ("not-interested", 9, False),
    ("listed-with-agent", 2, False),
    ("needs-offer", 2, True),
    ("offer-made", 1.5, True),
    ("appointment-booked", 1, True),
    ("under-contract", 0.5, True),
    ("dead-deal", 1, False),
)
LISTS = (
    "Probate Oct 2026",
    "Tax Delinquent Q3",
    "Absentee Owners",
    "Code Violations",
    "Pre-Foreclosure",
    "Vacant Homes",
    "Tired Landlords",
    "Expired Listings",
)
LEGACY = (None, None, None, None, "new", "followed up", "hot", "exclude")
PHONE_TYPES = ("mobile", "mobile", "mobile", "landline", "landline", "voip")


def _phone_plan() -> tuple[dict[int, list[int]], dict[int, str | None]]:
    """Per area code: exchanges that pass normalize, and the one zone the code has (None if several)."""
    exchanges, zone = {}, {}
    for *_, areas in PLACES:
        for area in areas:
            if area in exchanges:
                continue
            exchanges[area] = [
                x
                for x in range(201, 1000)
                if x % 100 != 11 and phonelib.normalize(f"+1{area}{x}4567") == f"+1{area}{x}4567"
            ]
            zones = phonelib.time_zones(f"+1{area}5554567")
            zone[area] = zones[0] if len(zones) == 1 else None
    return exchanges, zone


def generate(n: int, seed: int = SEED):
    """Yield n lead dicts (with a "phones" key) from a seeded Random; same seed, same leads."""
    rng = random.Random(seed)
    exchanges, area_zone = _phone_plan()
    all_areas = sorted(exchanges)
    statuses = [s for s, _, _ in STATUSES]
    weights = [w for _, w, _ in STATUSES]
    owned = {s for s, _, o in STATUSES if o}
    base = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    stamps = [(base + timedelta(days=d)).isoformat() for d in range(300)]
    choice, randrange, random_ = rng.choice, rng.randrange, rng.random
    status_of = rng.choices(statuses, weights, k=n)
    for i in range(n):
        city, state, zip3, county, areas = choice(PLACES)
        first, last = choice(FIRST), choice(LAST)
        owner = f"{first} {last}" if random_() < 0.85 else f"{first} & {choice(FIRST)} {last}"
        d = choice(DIRS)
        street = f"{randrange(1, 20000)} {d.upper() + ' ' if d else ''}{choice(STREETS)} {choice(SUFFIXES).capitalize()}"
        zip_code = f"{zip3}{randrange(100):02d}"
        if random_() < 0.7:
            m_street, m_city, m_state, m_zip = street, city, state, zip_code
        else:
            m_city, m_state, m_zip3, _, _ = choice(PLACES)
            m_street, m_zip = (
                f"{randrange(1, 20000)} {choice(STREETS)} {choice(SUFFIXES).capitalize()}",
                f"{m_zip3}{randrange(100):02d}",
            )
        status = status_of[i]
        created = stamps[randrange(300)]
        phones = []
        for pos in range(1, 1 + (1 if random_() < 0.4 else 2 if random_() < 0.6 else 3)):
            area = choice(areas) if random_() < 0.85 else choice(all_areas)
            number = f"+1{area}{choice(exchanges[area])}{randrange(10000):04d}"
            if any(number == p[1] for p in phones):
                continue
            r = random_()
            phones.append(
                (
                    pos,
                    number,
                    choice(PHONE_TYPES),
                    int(r < 0.03),
                    int(0.03 <= r < 0.033),
                    area_zone[area] or STATE_TZ[state],
                )
            )
        # address and owner keys in identity's form, built without its regexes (checked in build())
        street_key = street.lower()
        yield {
            "owner_name": owner,
            "address": street,
            "city": city,
            "state": state,
            "zip": zip_code,
            "mailing_address": m_street,
            "mailing_city": m_city,
            "mailing_state": m_state,
            "mailing_zip": m_zip,
            "apn": f"{randrange(10**9):09d}",
            "county": county,
            "emails": "[]"
            if random_() < 0.8
            else json.dumps([f"{first}.{last}{randrange(100)}@example.com".lower()]),
            "source_list": choice(LISTS),
            "source_status": choice(LEGACY),
            "owner_key": f"{owner.lower().replace(' & ', ' ')}@{m_street.lower()}|{m_zip}",
            "address_key": f"{street_key}|{zip_code}",
            "notes": "",
            "status": status,
            "owner": choice(REPS) if status in owned else None,
            "dead": int(status == "dead-deal"),
            "created_at": created,
            "updated_at": created,
            "phones": phones,
        }


def build(path: Path | str, n: int, seed: int = SEED, *, quiet: bool = False) -> tuple[float, float, float]:
    """Make a fresh database of n leads at `path`; return seconds generating, loading, checkpointing
    (on a server: analysing, so its planner knows the tables' sizes)."""
    clear(path)
    init_database(path, test_clock=True)  # a bench floor: the benches set its clock (LEADTUI_NOW)
    db = connect(path)
    service = Service(db, now=lambda: NOW)
    for name in REPS:
        service.add_rep(name, started=date(2025, 1, 6))
    # spot-check the generator against the real normaliser and key functions
    for lead in generate(2000, seed + 1):
        assert lead["address_key"] == address_key(lead["address"], lead["zip"]), lead
        assert lead["owner_key"] == owner_key(
            lead["owner_name"], lead["mailing_address"], lead["mailing_zip"]
        ), lead
        for p in lead["phones"]:
            assert phonelib.normalize(p[1]) == p[1], p
    columns = (*LEAD_COLUMNS, "owner", "dead")
    leads = generate(n, seed)
    made = loaded = 0.0
    done = 0
    while done < n:
        t0 = time.perf_counter()
        chunk = list(islice(leads, CHUNK))
        t1 = time.perf_counter()
        with db.write() as conn:
            ids = bulk.insert_leads(conn, chunk, lambda lead: lead["phones"], columns=columns)
        t2 = time.perf_counter()
        made, loaded, done = made + t1 - t0, loaded + t2 - t1, done + len(ids)
        if not quiet:
            print(
                f"\r  built {done:>9,} / {n:,} leads ({done / loaded:,.0f} leads/s loading)",
                end="",
                file=sys.stderr,
                flush=True,
            )
    if not quiet:
        print(file=sys.stderr)
    t0 = time.perf_counter()
    if postgres.is_address(path):
        db.conn.execute("ANALYZE")
        db.conn.execute("CHECKPOINT")  # the build's ~1.3 GB written now, not spread under the timed keys
    else:
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoint = time.perf_counter() - t0
    db.close()
    return made, loaded, checkpoint


def _pct(sorted_ns: list[int], p: float) -> float:
    """Nearest-rank percentile, in ms."""
    k = max(0, min(len(sorted_ns) - 1, round(p / 100 * len(sorted_ns) + 0.5) - 1))
    return sorted_ns[k] / 1e6


def _cpu_times() -> list[int]:
    """The host's CPU time so far by kind (/proc/stat's first line; empty where there is none)."""
    try:
        return [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return []


def _steal(before: list[int], after: list[int]) -> str:
    """The share of CPU time the hypervisor took between two `_cpu_times`."""
    spent = [b - a for a, b in zip(before, after, strict=False)]
    return f"steal {100 * spent[7] / sum(spent):.1f}%" if len(spent) == 8 and sum(spent) else "steal unknown"


def _report(name: str, samples: list[int], refused: Counter, server: bool, steal: str) -> None:
    s = sorted(samples)
    med, p99 = _pct(s, 50), _pct(s, 99)
    ok = "ok" if (server or med <= TARGET_MEDIAN_MS) and p99 <= TARGET_P99_MS else "OVER TARGET"
    median = f"median {med:6.3f} ms" + ("" if server else f" (target <= {TARGET_MEDIAN_MS:g})")
    extra = f", {refused.total()} refused by a rule (not timed)" if refused else ""
    print(
        f"{name:<8} n={len(s):>5}  {median}  p99 {p99:6.3f} ms (target <= {TARGET_P99_MS:g})"
        f"  max {s[-1] / 1e6:7.3f} ms  [{ok}]; {steal}{extra}"
    )
    for reason, count in refused.most_common(3):
        print(f"{'':<10}{count} x {reason}")


def clear(path: Path | str) -> None:
    """No floor at `path`: the files deleted, or on a server the bench database's tables dropped."""
    if not postgres.is_address(path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if not str(path).rsplit("/", 1)[-1].startswith("bench"):
        sys.exit(f"{postgres.shown(str(path))}: a bench builds only in a database named bench...")
    import psycopg

    with psycopg.connect(str(path), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def exists(path: Path | str) -> bool:
    """Whether a floor is at `path`."""
    if not postgres.is_address(path):
        return Path(path).exists()
    try:
        connect(path).close()
    except LeadtuiError:
        return False
    return True


def _size(path: Path | str) -> int:
    if postgres.is_address(path):
        db = connect(path)
        try:
            return db.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        finally:
            db.close()
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal", "-shm") if os.path.exists(f"{path}{s}"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--db",
        default=str(Path(tempfile.gettempdir()) / "leadtui-bench" / "leads.db"),
        help="database file, or a postgresql:// address of a database named bench... (built if missing)",
    )
    ap.add_argument("--leads", type=int, default=1_000_000, help="leads to build (default 1,000,000)")
    ap.add_argument("--rebuild", action="store_true", help="delete --db and build it afresh")
    ap.add_argument("--ops", type=int, default=3000, help="timed operations per kind (default 3000)")
    ap.add_argument("--warmup", type=int, default=100, help="untimed operations per kind first (default 100)")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    server = postgres.is_address(args.db)
    if not server:
        args.db = Path(args.db)
        if Path(__file__).resolve().parents[1] in args.db.resolve().parents:
            ap.error("keep the benchmark database out of the repository (use a temp folder)")
        args.db.parent.mkdir(parents=True, exist_ok=True)

    print(f"database: {postgres.shown(args.db) if server else args.db}")
    if args.rebuild or not exists(args.db):
        made, loaded, checkpoint = build(args.db, args.leads, args.seed)
        print(
            f"build:    {args.leads:,} leads in {made + loaded + checkpoint:.1f} s: load {loaded:.1f} s "
            f"({args.leads / loaded:,.0f} leads/s with phones, FTS and indexes, bulk.insert_leads, "
            f"{CHUNK:,} per transaction), generate {made:.1f} s, {'analyse and checkpoint' if server else 'checkpoint'} {checkpoint:.1f} s"
        )
    else:
        print("build:    reused (pass --rebuild to time a build)")

    db = connect(args.db)
    service = Service(db, now=lambda: NOW)
    conn = db.conn
    total = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
    phones = conn.execute("SELECT count(*) FROM phones").fetchone()[0]
    pool = [r[0] for r in conn.execute("SELECT id FROM leads WHERE owner IS NULL AND dead = 0")]
    print(
        f"leads:    {total:,} ({phones:,} phones, {len(pool):,} in the pool); size {_size(args.db) / 2**20:,.0f} MiB"
    )
    need = 2 * (args.ops + args.warmup)
    if len(pool) < need:
        sys.exit(f"only {len(pool)} pool leads; need {need}: use more --leads or --rebuild")
    rng = random.Random(args.seed + 7)
    picked = rng.sample(pool, need)
    status_ids, claim_ids = picked[: need // 2], picked[need // 2 :]
    cycle = ("not-contacted", "needs-offer", "not-interested")

    def run(name: str, ids: list[int], op) -> None:
        samples, refused = [], Counter()
        cpu = _cpu_times()
        for i, lead_id in enumerate(ids):
            t0 = time.perf_counter_ns()
            try:
                op(i, lead_id)
            except (
                LeadtuiError
            ) as exc:  # e.g. every phone DNC, or a dial cap hit by an earlier run on this db
                refused[re.sub(r"\d+", "N", str(exc))[:90]] += 1
                continue
            if i >= args.warmup:
                samples.append(time.perf_counter_ns() - t0)
        _report(name, samples, refused, server, _steal(cpu, _cpu_times()))

    print(
        f"clock:    {NOW.isoformat()} (fixed); "
        f"{'PostgreSQL, synchronous commit' if server else 'synchronous=FULL, WAL'}; {args.warmup} untimed warm-up ops each"
    )
    run("status", status_ids, lambda i, lead_id: service.set_status(lead_id, cycle[i % 3], "alice"))
    run("claim", claim_ids, lambda i, lead_id: service.claim(lead_id, "bob"))
    print(f"size:     {_size(args.db) / 2**20:,.0f} MiB after the run (db + wal)")
    db.close()


if __name__ == "__main__":
    main()
