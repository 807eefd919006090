"""Many stations on one big floor: key -> commit per station while other writers run, the
longest repaint gap of a real app, claim contention, and commits/s while hundreds of stations
poll for changes.

    python benchmarks/bench_floor.py --db /tmp/leadtui-bench/leads-1m.db       # every phase
    python benchmarks/bench_floor.py --db ... --phases quiet,claims --seconds 10
    python benchmarks/bench_floor.py --db postgresql://postgres@127.0.0.1:PORT/bench --stations 64

`--db` is bench_status's database (1,000,000 leads; build it with bench_status.py first): a
SQLite file, or a `postgresql://` address of a database on a server (benchmarks/pg_server.py
starts a durable one). It is never written: each phase works on a fresh copy, removed after the
phase. A file is copied into a temp folder through SQLite's backup API (so a database another
process is writing still copies consistently); a server's database is copied on that server by
`CREATE DATABASE <name>_floor_<phase> TEMPLATE <name>` (which needs the source to have no other
connections) and dropped after the phase (`DROP DATABASE ... WITH (FORCE)`). Stations are
separate processes, each with its own `Service.open(copy, now=...)`, the clock fixed at
2026-11-23 15:00 New York (inside the calling window everywhere). Phases, in order:

- quiet:    `--stations` rep stations (rep1..repN, a status key every 1-2 s, randomised) and one
            burst station (alice, 10 keys/s), with nothing else running, for `--seconds`;
- import:   the same while `leadtui import` loads a generated `--import-rows` list
            (bench_import's PropStream generator, another seed) into the copy; meanwhile a real
            headless app (rep bob) gets cursor keys every 25 ms and a Not Contacted key every
            second, and the longest gap between its screen updates is printed (`--repaint
            quiet,import` measures it in the quiet phase too, as a baseline);
- sweep:    the same while `leadtui sweep` then `leadtui migrate-statuses --map FILE` run over
            every lead (set up first: `--holds` pool leads get an expired Offer Rejected hold by
            SQL; about half the leads carry a legacy source status from the build);
- dispatch: the same while `leadtui dispatch --watch` drains `--actions` Needs Offer actions
            (queued first through the Service, delay 0) to a webhook sink on 127.0.0.1;
- claims:   `--claimers` (8) processes claim pool leads as fast as they can for
            `--claim-seconds`, each taking the next lead of its own `Service.queue` page (so
            they race for the same leads): claims won per station, and the worst wait for one;
- poll:     `--writers` (4) processes press status keys on leads of their own as fast as they
            can (`Service.set_status`, as a station does) for `--seconds`/2 alone, after a 1 s
            warm-up: the baseline commits/s. Then `--pollers` (500) stations, each on its own
            connection (threads in `--poll-procs` processes: connections, not processes, are
            what counts), open their connections (not counted) and poll the change signal every
            `--poll-every` seconds (0.8, the app's; `store.queries.data_version`: `pg_last_committed_xact()` on a server,
            `PRAGMA data_version` on a file),
            each first at a random moment of the first interval; from the end of that interval
            on, `--seconds`/2 more are counted; then, the connections open throughout, POLL_TURNS
            turns of not polling and polling (`--seconds`/2 each in all); then the pollers go and
            the writers run alone `--seconds`/2 again. Printed: commits/s alone before and after,
            with the pollers, and its ratio to the mean alone; polling against not polling in
            turns, the figure judged (the alone windows drift between runs by more than the
            target's margin; turns share a drift and the connections' own cost); the poll's p50/p99;
            and how long after a key's commit returned each station's next poll saw a change
            (sampled commits x every station), next to the bound a poll gives: the poll
            interval + the poll's p99.

A key is one `Service.set_status` on a pool lead only that station presses (not-contacted, then
needs-offer / not-interested / offer-rejected), timed from just before the call to its return:
p50, p99 and max per station, next to the targets. Each station first presses the keys of its
first 3 leads as it opens (every kind of key once), timed apart as the warm-up: a connection's
first keys pay once for what a station at work doesn't (on a server its backend's catalog caches
and trigger functions, ~8 ms for the first key), and at a rep's pace they would be 1 in 13
of a 20 s phase's keys. SQLite: p99 <= 100 ms, max <= 250 ms in
every phase. PostgreSQL (issue 18): p99 <= 20 ms in `quiet` (64 simulated stations at a rep's
pace on a server reached over loopback), p99 <= 100 ms with a job running, max <= 250 ms.
Both: repaint gap <= 50 ms; every station wins claims, worst claim wait <= 250 ms; `poll`: a
change visible on other stations within 1 s, commits/s held (with/without >= 0.9, this
bench's reading of "held"). A key a rule refused still counts (it waited for the write lock
too); a key lost because the database stayed locked counts with the time it waited. The phase
lasts `--seconds`, or until its background job ends if that is later (at most
`--job-timeout`). On a server, `import`, `sweep` and `dispatch` run the same commands with
LEADTUI_DB set to the copy's address; a command that fails there is reported in one line and
the phase goes on. It asserts nothing about time: figures are for reading. Loopback network
only; every child process, temp file and copied database is removed at the end.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import queue as queue_mod
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).parent))
from bench_status import NOW  # same folder; the clock every station uses

PHASES = ("quiet", "import", "sweep", "dispatch", "claims", "poll")
TARGET_P99_MS, TARGET_MAX_MS, TARGET_GAP_MS, TARGET_CLAIM_MS = 100.0, 250.0, 50.0, 250.0
PG_TARGET_QUIET_P99_MS = 20.0  # issue 18: key -> commit p99 on a server, stations at a rep's pace
TARGET_VISIBLE_MS, TARGET_HELD = 1000.0, 0.9  # poll: a change seen within 1 s; commits/s with/without
POLL_WARMUP = 1.0  # s the poll phase's writers run before the baseline is counted (a copy's cold caches)
POLL_TURNS = 4  # the poll phase's turns of not polling and polling, --seconds/2 in all for each
POLL_SAMPLE = 200  # commits of the polled window whose visibility is measured at every station
POLL_READY_TIMEOUT = 600.0  # s for every poller to open its connections
REP_PACE = (1.0, 2.0)  # seconds between a rep station's keys, uniform
BURST_EVERY = 0.1  # the burst station: 10 keys/s
SECOND_KEYS = ("needs-offer", "not-interested", "offer-rejected")  # after one not-contacted on a lead
LEADS_PER_REP, LEADS_BURST = 600, 6000  # leads handed to each station (2 keys a lead)
WARM_LEADS = len(SECOND_KEYS)  # a station's first leads, pressed before the start (every kind of key once)
MAX_KEYS_REP, MAX_KEYS_BURST = 2 * LEADS_PER_REP, 2 * LEADS_BURST
MAX_CLAIM_TRIES = 200_000  # per claiming station
READY_TIMEOUT = 240.0  # s for every child to open the database (and the app to paint)
COLLECT_TIMEOUT = 60.0  # s for children to hand in their figures after the stop
APP_KEY_EVERY = 0.025  # the headless app: a cursor key this often ...
APP_STATUS_EVERY = 40  # ... and every 40th key a Not Contacted (one a second)
APP_FIRST_PAINT_TIMEOUT = 120.0
NOW_ISO = NOW.isoformat()
MIGRATION_MAP = """\
# bench_floor: the build's legacy source statuses onto the wholesale playbook
[map]
"new" = "new"
"followed up" = "not-contacted"
"hot" = "not-contacted"
"exclude" = "not-interested"
"""


def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def _db_errors() -> tuple[type[BaseException], ...]:
    """The drivers' own errors: a key that ends in one of them is lost, as a locked database's."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def is_server(address: object) -> bool:
    """Whether `--db` names a PostgreSQL server's database rather than a SQLite file."""
    return isinstance(address, str) and address.startswith(("postgresql://", "postgres://"))


def _kind(exc: BaseException) -> str:
    """'lost' when the database stayed locked (the key is gone), else 'refused' (a rule said no)."""
    from leadtui.errors import LeadtuiError, Refused

    if isinstance(exc, Refused):
        return "refused"
    text = str(exc)
    if isinstance(exc, _db_errors()) or (
        isinstance(exc, LeadtuiError) and ("locked" in text or "busy" in text)
    ):
        return "lost"
    return "refused" if isinstance(exc, LeadtuiError) else "error"


# --- child processes (spawned: each imports leadtui afresh and opens its own connection) ----------


def station(spec: dict, ready, start, stop, results) -> None:
    """One station: status keys on its own leads at its pace until `stop`; hands in every key's time.
    Its first WARM_LEADS leads' keys are pressed as it opens, timed apart: a new connection's first
    keys pay once what a station working a shift doesn't (on a server, ~8 ms: the backend's catalog
    caches and trigger functions)."""
    name = spec["name"]
    try:
        from leadtui.service import Service

        svc = Service.open(spec["path"], now=lambda: NOW)
        keys = [
            (lead, status)
            for i, lead in enumerate(spec["leads"])
            for status in ("not-contacted", SECOND_KEYS[i % len(SECOND_KEYS)])
        ][: spec["max_keys"]]
        warm: list[float] = []  # a new connection's first keys: the server's caches, psycopg's
        for lead_id, status in keys[: 2 * WARM_LEADS]:
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):  # (a refusal warms as well)
                svc.set_status(lead_id, status, spec["rep"])
            warm.append((time.perf_counter() - t0) * 1000)
        keys = keys[2 * WARM_LEADS :]
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, never a hang
        ready.put((name, False, f"{type(exc).__name__}: {exc}"))
        return
    ready.put((name, True, ""))
    rng = random.Random(spec["seed"])
    samples: list[float] = []
    kinds: Counter = Counter()
    reasons: Counter = Counter()
    late_max = 0.0
    if not start.wait(READY_TIMEOUT + 60):
        results.put({"name": name, "error": "never started"})
        return
    hard_end = time.perf_counter() + spec["hard_seconds"]
    due = time.perf_counter() + rng.uniform(0, spec["every"][1])  # stations don't start in step
    for lead_id, status in keys:
        delay = due - time.perf_counter()
        if delay > 0 and stop.wait(delay):
            break
        if stop.is_set() or time.perf_counter() > hard_end:
            break
        late_max = max(late_max, -delay)
        t0 = time.perf_counter()
        try:
            svc.set_status(lead_id, status, spec["rep"])
            kind = "committed"
        except Exception as exc:  # noqa: BLE001 - every outcome is a figure
            kind = _kind(exc)
            reasons[f"{kind}: {re.sub(r'[0-9]+', 'N', str(exc))[:100]}"] += 1
        samples.append((time.perf_counter() - t0) * 1000)
        kinds[kind] += 1
        if spec["burst"]:
            due += spec["every"][0]  # typed ahead: keys held up by a slow one follow at once
        else:
            due = max(due + rng.uniform(*spec["every"]), time.perf_counter())  # a rep waits for the screen
    svc.close()
    results.put(
        {
            "name": name,
            "rep": spec["rep"],
            "samples": samples,
            "warm": warm,
            "kinds": dict(kinds),
            "reasons": reasons.most_common(3),
            "late_max_ms": late_max * 1000,
            "ran_out": len(samples) >= len(keys),
        }
    )


def claimer(spec: dict, ready, start, stop, results) -> None:
    """One station claiming the next pool lead of its queue as fast as it can until `stop`."""
    name = spec["name"]
    try:
        from leadtui.service import Service

        svc = Service.open(spec["path"], now=lambda: NOW)
        svc.queue(spec["rep"], ("pool", 0), 10)  # warm: the queue's query once
    except BaseException as exc:  # noqa: BLE001
        ready.put((name, False, f"{type(exc).__name__}: {exc}"))
        return
    ready.put((name, True, ""))
    waits: list[float] = []
    reads: list[float] = []
    kinds: Counter = Counter()
    reasons: Counter = Counter()
    if not start.wait(READY_TIMEOUT + 60):
        results.put({"name": name, "error": "never started"})
        return
    hard_end = time.perf_counter() + spec["hard_seconds"]
    tries = 0
    while not stop.is_set() and time.perf_counter() < hard_end and tries < MAX_CLAIM_TRIES:
        t0 = time.perf_counter()
        try:
            rows, _ = svc.queue(spec["rep"], ("pool", 0), 10)
        except Exception as exc:  # noqa: BLE001
            kinds["queue failed"] += 1
            reasons[f"queue: {str(exc)[:100]}"] += 1
            tries += 1
            continue
        reads.append((time.perf_counter() - t0) * 1000)
        if not rows:
            break
        for row in rows:
            if stop.is_set() or tries >= MAX_CLAIM_TRIES:
                break
            tries += 1
            t0 = time.perf_counter()
            try:
                svc.claim(row["id"], spec["rep"])
                kind = "won"
            except Exception as exc:  # noqa: BLE001
                kind = _kind(exc)
                kind = "taken" if kind == "refused" else kind
                reasons[f"{kind}: {re.sub(r'[0-9]+', 'N', str(exc))[:100]}"] += 1
            waits.append((time.perf_counter() - t0) * 1000)
            kinds[kind] += 1
            if kind == "won":
                break  # back to the queue: the next lead it shows
    svc.close()
    results.put(
        {
            "name": name,
            "rep": spec["rep"],
            "samples": waits,
            "reads": reads,
            "kinds": dict(kinds),
            "reasons": reasons.most_common(3),
        }
    )


def writer(spec: dict, ready, start, stop, results) -> None:
    """One writer of the poll phase: status keys on its own leads back to back until `stop`; hands
    in each committed key's end (time.monotonic: one clock for every process of the host) and
    its time."""
    name = spec["name"]
    try:
        from leadtui.service import Service

        svc = Service.open(spec["path"], now=lambda: NOW)
        svc.reps()
    except BaseException as exc:  # noqa: BLE001
        ready.put((name, False, f"{type(exc).__name__}: {exc}"))
        return
    ready.put((name, True, ""))
    keys = [
        (lead, status)
        for i, lead in enumerate(spec["leads"])
        for status in ("not-contacted", SECOND_KEYS[i % len(SECOND_KEYS)])
    ]
    commits: list[float] = []
    samples: list[float] = []
    kinds: Counter = Counter()
    reasons: Counter = Counter()
    if not start.wait(READY_TIMEOUT + 60):
        results.put({"name": name, "error": "never started"})
        return
    hard_end = time.monotonic() + spec["hard_seconds"]
    for lead_id, status in keys:
        if stop.is_set() or time.monotonic() > hard_end:
            break
        t0 = time.monotonic()
        try:
            svc.set_status(lead_id, status, spec["rep"])
            kind = "committed"
        except Exception as exc:  # noqa: BLE001
            kind = _kind(exc)
            reasons[f"{kind}: {re.sub(r'[0-9]+', 'N', str(exc))[:100]}"] += 1
        t1 = time.monotonic()
        samples.append((t1 - t0) * 1000)
        kinds[kind] += 1
        if kind == "committed":
            commits.append(t1)
    svc.close()
    results.put(
        {
            "name": name,
            "commits": commits,
            "samples": samples,
            "kinds": dict(kinds),
            "reasons": reasons.most_common(3),
            "ran_out": len(samples) >= len(keys),
        }
    )


def poller(spec: dict, ready, start, stop, results) -> None:
    """`spec["threads"]` stations of the poll phase in one process: each thread opens its own
    connection (`store.db.connect`, as a station does) and from `start` on reads the change signal
    every `spec["every"]` s (first at a random moment within one interval, so stations don't poll
    in step), until `stop`. Hands in every poll's start and end (time.monotonic) per station."""
    name = spec["name"]
    dbs: list = []
    try:
        from leadtui.store.db import connect
        from leadtui.store.queries import data_version

        for _ in range(spec["threads"]):
            dbs.append(connect(spec["path"]))
            data_version(dbs[-1].conn)  # warm: the query once on each connection
    except BaseException as exc:  # noqa: BLE001
        for db in dbs:
            with contextlib.suppress(Exception):
                db.close()
        ready.put(
            (
                name,
                False,
                f"{len(dbs)} of {spec['threads']} connections open, then {type(exc).__name__}: {exc}",
            )
        )
        return
    ready.put((name, True, ""))
    if not start.wait(POLL_READY_TIMEOUT + 60):
        results.put({"name": name, "error": "never started"})
        return
    done = threading.Event()  # one local event the threads wait on (not the cross-process one)
    polls: list[list[tuple[float, float, bool]]] = [[] for _ in dbs]
    errors: Counter = Counter()
    every = spec["every"]
    pause = spec["pause"]  # while set, the stations keep their connections and skip their polls

    def run(i: int) -> None:
        rng = random.Random(spec["seed"] + i)
        conn = dbs[i].conn
        due = time.monotonic() + rng.uniform(0, every)
        last = None
        while True:
            delay = due - time.monotonic()
            if (delay > 0 and done.wait(delay)) or done.is_set():
                return
            t0 = time.monotonic()
            if pause.is_set():
                due = max(due + every, t0)
                continue
            try:
                version = data_version(conn)
            except Exception as exc:  # noqa: BLE001 - a failed poll is a figure
                errors[re.sub(r"[0-9]+", "N", str(exc))[:100]] += 1
                version = last
            t1 = time.monotonic()
            polls[i].append((t0, t1, version != last))
            last = version
            due = max(due + every, t1)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(dbs))]
    for t in threads:
        t.start()
    stop.wait(spec["hard_seconds"])
    done.set()
    for t in threads:
        t.join(10)
    for db in dbs:
        with contextlib.suppress(Exception):
            db.close()
    results.put({"name": name, "polls": polls, "errors": errors.most_common(3)})


# --- repaint gap: a real headless app, kept apart -------------------------------------------------
# The UI is being reworked: everything it needs from leadtui.ui is here, and any failure (an import,
# the constructor, no first paint) comes back as a reason, printed as "repaint gap: not measured".


def repaint_probe(spec: dict, ready, start, stop, results) -> None:
    """Run `leadtui.ui.app.Leadtui` headless (run_test, 120x40) on the copy; while the phase runs,
    post a cursor key every APP_KEY_EVERY s (j/k in turn; every APP_STATUS_EVERY-th key a Not
    Contacted `n`, a write) and note the time of every screen update (`App._display` with an
    update: what a terminal would be sent). Hands in the longest interval between updates."""
    name = "repaint"
    os.environ["LEADTUI_NOW"] = NOW_ISO
    try:
        import asyncio
        import importlib

        from leadtui import config
        from leadtui.ui.app import Leadtui  # before Textual: the UI sets its frame rate, as in the app

        events = importlib.import_module("textual.events")
    except BaseException as exc:  # noqa: BLE001
        ready.put((name, False, f"import failed: {type(exc).__name__}: {exc}"))
        return

    handed_in: list[bool] = []

    async def run() -> dict:
        try:
            where = spec["path"] if is_server(spec["path"]) else Path(spec["path"])
            app = Leadtui(where, config.load(None), spec["rep"])
        except BaseException as exc:  # noqa: BLE001
            return {"error": f"the app did not start: {type(exc).__name__}: {exc}"}
        updates: list[float] = []
        original = app._display

        def display(screen, renderable):
            if renderable is not None:
                updates.append(time.perf_counter())
            return original(screen, renderable)

        app._display = display
        out: dict = {}
        async with app.run_test(size=(120, 40)):
            until = time.perf_counter() + APP_FIRST_PAINT_TIMEOUT
            while len(updates) < 2 and time.perf_counter() < until:
                await asyncio.sleep(0.05)
            if len(updates) < 2:
                return {"error": f"no screen update within {APP_FIRST_PAINT_TIMEOUT:.0f} s of the start"}
            await asyncio.sleep(1.0)  # the first page and panel settle
            ready.put((name, True, ""))
            until = time.perf_counter() + READY_TIMEOUT + 60
            while not start.is_set() and time.perf_counter() < until:
                await asyncio.sleep(0.01)
            began, keys = time.perf_counter(), 0
            hard_end = began + spec["hard_seconds"]
            posted: list[float] = []
            names: list[str] = []
            while not stop.is_set() and time.perf_counter() < hard_end:
                keys += 1
                key = "n" if keys % APP_STATUS_EVERY == 0 else ("j" if keys % 2 else "k")
                posted.append(time.perf_counter())
                names.append(key)
                app.post_message(events.Key(key, key))
                await asyncio.sleep(APP_KEY_EVERY)
            ended = time.perf_counter()
            seen = [began] + [t for t in updates if began <= t <= ended] + [ended]
            pairs = sorted(itertools.pairwise(seen), key=lambda p: p[0] - p[1])
            gaps = [(b - a) * 1000 for a, b in pairs]
            # the three longest, each with the last key posted before it began: 'n' is a write
            worst = [
                ((b - a) * 1000, a - began, names[i - 1] if (i := bisect.bisect_right(posted, a)) else "-")
                for a, b in pairs[:3]
            ]
            out = {
                "gap_max_ms": max(gaps),
                "gap_p99_ms": _pct(gaps, 99),
                "updates": len(seen) - 2,
                "keys": keys,
                "seconds": ended - began,
                "worst": worst,
            }
            results.put({"name": name, **out})  # before the app closes: a slow close loses no figures
            handed_in.append(True)
        return out

    try:
        out = asyncio.run(run())
    except BaseException as exc:  # noqa: BLE001
        out = {"error": f"the app failed: {type(exc).__name__}: {exc}"}
    if handed_in:
        return
    if "error" in out:
        ready.put((name, False, out["error"]))  # harmless if it was already reported ready
    results.put({"name": name, **out})


# --- the parent: copies, setup, background jobs, reports ----------------------------------------


def leadtui_cmd() -> list[str]:
    script = shutil.which("leadtui", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "leadtui"]


def copy_db(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the source may be in use elsewhere)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # a bench floor: LEADTUI_NOW sets its clock (honoured only on test floors)
        dst.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('test_clock', '1')")
        dst.commit()
    finally:
        dst.close()
        src.close()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _server_db(address: str, name: str) -> str:
    """The address of database `name` on `address`'s server."""
    return urlunsplit(urlsplit(address)._replace(path=f"/{name}"))


def _db_name(address: str) -> str:
    return urlsplit(address).path.lstrip("/")


@contextlib.contextmanager
def _admin(address: str):
    """A connection to the `postgres` database of `address`'s server (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(_server_db(address, "postgres"), autocommit=True, connect_timeout=10) as conn:
        yield conn


def copy_server_db(source: str, phase: str) -> str:
    """A copy of the source database on its own server (`CREATE DATABASE ... TEMPLATE`, which
    refuses while anyone else is connected to the source: retried for 10 s, then one line
    naming who is); returns its address. Its clock set by LEADTUI_NOW, as copy_db does."""
    import psycopg
    from psycopg import sql

    name = f"{_db_name(source)}_floor_{phase}"
    target = _server_db(source, name)
    with _admin(source) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        until = time.monotonic() + 10
        while True:
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY file_copy").format(
                        sql.Identifier(name), sql.Identifier(_db_name(source))
                    )
                )
                break
            except psycopg.errors.ObjectInUse:
                if time.monotonic() < until:
                    time.sleep(0.5)
                    continue
                who = admin.execute(
                    "SELECT count(*), string_agg(DISTINCT coalesce(nullif(application_name, ''), '?')"
                    " || '@' || coalesce(client_addr::text, 'socket'), ', ') FROM pg_stat_activity"
                    " WHERE datname = %s",
                    (_db_name(source),),
                ).fetchone()
                raise RuntimeError(
                    f"can't copy {_db_name(source)}: {who[0]} other connection(s) to it ({who[1]}); "
                    "CREATE DATABASE ... TEMPLATE needs it unused"
                ) from None
    from leadtui.store.db import connect

    try:
        db = connect(target)
        try:
            with (
                db.write() as conn
            ):  # a bench floor: LEADTUI_NOW sets its clock (honoured only on test floors)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('test_clock', '1')"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                )
        finally:
            db.close()
    except BaseException:
        drop_server_db(target)
        raise
    return target


def drop_server_db(address: str) -> None:
    from psycopg import sql

    with _admin(address) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_db_name(address)))
        )


class Job:
    """Background commands run one after another in their own process groups (so an import's
    reading processes go with it); each one's wall time, exit code and output tail are kept."""

    def __init__(self, label: str, commands: list[tuple[str, list[str]]], env: dict):
        self.label, self.commands, self.env = label, commands, env
        self.done = threading.Event()
        self.proc: subprocess.Popen | None = None
        self.ran: list[dict] = []
        self.killed = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            for name, cmd in self.commands:
                if self.killed:
                    break
                t0 = time.perf_counter()
                self.proc = subprocess.Popen(
                    cmd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
                out, err = self.proc.communicate()
                self.ran.append(
                    {
                        "name": name,
                        "seconds": time.perf_counter() - t0,
                        "rc": self.proc.returncode,
                        "out": out,
                        "err": err.strip()[-300:],
                    }
                )
        finally:
            self.done.set()

    def kill(self) -> None:
        self.killed = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.killpg(proc.pid, signal.SIGKILL)  # the group this job started
        self.thread.join(30)


class Watcher:
    """`leadtui dispatch --watch` until the sink has `count` deliveries (then SIGTERM)."""

    def __init__(self, cmd: list[str], env: dict, sink, count: int):
        self.cmd, self.env, self.sink, self.count = cmd, env, sink, count
        self.proc: subprocess.Popen | None = None
        self.started = self.drained_at = 0.0
        self.ran: list[dict] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.err_file = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in kill()

    def start(self) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.err_file,
            text=True,
            start_new_session=True,
        )
        self.thread.start()

    def _wait(self) -> None:
        while self.proc.poll() is None and not self.done.is_set():
            if self.sink.wait_for(self.count, 0.2):
                self.drained_at = time.perf_counter()
                break
        self.done.set()

    def kill(self) -> None:
        self.done.set()
        self.thread.join(5)
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the delivery in flight finishes
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.err_file.seek(0)
        err = self.err_file.read().strip()
        self.err_file.close()
        took = (self.drained_at or time.perf_counter()) - self.started
        self.ran.append(
            {
                "name": "dispatch --watch",
                "seconds": took,
                "rc": proc.returncode,
                "out": "",
                "err": "" if self.drained_at else err[-300:],
                "drained": bool(self.drained_at),
            }
        )


class Floor:
    """Everything one run starts, so that it all goes at the end."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args, self.work = args, work
        self.ctx = mp.get_context("spawn")
        self.children: list = []
        self.stops: list = []  # the stop events children watch
        self.jobs: list = []
        self.plan: dict | None = None
        self.summary: list[tuple[str, str]] = []
        self.csv: Path | None = None
        self.server = is_server(args.db)
        self.env = {
            **os.environ,
            "LEADTUI_CONFIG_DIR": str(work / "config"),
            "LEADTUI_DATA_DIR": str(work / "data"),
            "LEADTUI_NOW": NOW_ISO,
        }
        for key in ("LEADTUI_DB", "LEADTUI_REP", "LEADTUI_CONFIG"):
            self.env.pop(key, None)

    # setup ------------------------------------------------------------------------------------

    def prepare(self, path: Path | str) -> None:
        """Reps on the copy, and (once) which leads each station presses keys on."""
        from leadtui.service import Service

        svc = Service.open(path, now=lambda: NOW)
        try:
            have = {r["name"].lower() for r in svc.reps()}
            count = max(self.args.stations, self.args.claimers, self.args.writers)
            for name in ["alice", "bob"] + [f"rep{i}" for i in range(1, count + 1)]:
                if name not in have:
                    svc.add_rep(name, started=date(2025, 1, 6))  # past the new-rep approval days
            if self.plan is None:
                self.plan = self._plan(svc.db.conn)
        finally:
            svc.close()

    def _plan(self, conn) -> dict:
        """Disjoint sets of pool leads with a dialable phone, no legacy status and no hold:
        each station's own, the dispatch phase's and the sweep's. Ids past the first 50,000 so
        the headless app's and the claimers' queues (pool, by id) stay off them."""
        t0 = time.perf_counter()
        skip = min(50_000, (conn.execute("SELECT max(id) FROM leads").fetchone()[0] or 0) // 20)
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT id FROM leads WHERE id > {skip} AND owner IS NULL AND dead = 0 AND status = 'new'"
                " AND source_status IS NULL AND hold_until IS NULL AND next_call_at IS NULL AND EXISTS"
                " (SELECT 1 FROM phones p WHERE p.lead_id = leads.id AND p.bad = 0 AND p.dnc = 0 AND p.litigator = 0)"
            )
        ]
        rng = random.Random(self.args.seed)
        rng.shuffle(ids)
        stations = {
            f"rep{i}": ids[(i - 1) * LEADS_PER_REP : i * LEADS_PER_REP]
            for i in range(1, self.args.stations + 1)
        }
        used = self.args.stations * LEADS_PER_REP
        stations["alice"] = ids[used : used + LEADS_BURST]
        used += LEADS_BURST
        dispatch = ids[used : used + self.args.actions]
        used += self.args.actions
        holds = ids[used : used + self.args.holds]
        if len(holds) < self.args.holds:
            print(f"  note: only {len(holds):,} leads left for expired holds (asked {self.args.holds:,})")
        print(
            f"  plan: {len(ids):,} untouched dialable pool leads; {used:,} for stations and dispatch, "
            f"{len(holds):,} for holds ({time.perf_counter() - t0:.1f} s)"
        )
        # the poll phase's writers take any of them: each phase has a fresh copy
        return {"stations": stations, "dispatch": dispatch, "holds": holds, "all": ids}

    def setup_sweep(self, path: Path | str) -> None:
        """Expired Offer Rejected holds on `--holds` pool leads (SQL, one transaction)."""
        from leadtui import clock
        from leadtui.store.db import connect

        t0 = time.perf_counter()
        db = connect(path)
        try:
            with db.write() as conn:  # the same SQL on both engines
                conn.execute("CREATE TEMP TABLE held(id INTEGER PRIMARY KEY)")
                conn.executemany("INSERT INTO held VALUES (?)", [(i,) for i in self.plan["holds"]])
                conn.execute(
                    "UPDATE leads SET owner = CASE id % 2 WHEN 0 THEN 'alice' ELSE 'bob' END,"
                    " status = 'offer-rejected', hold_until = ? WHERE id IN (SELECT id FROM held)",
                    (clock.stamp(NOW - timedelta(days=1)),),
                )
                conn.execute("DROP TABLE held")
            legacy = db.conn.execute(
                "SELECT count(*) FROM leads WHERE source_status IS NOT NULL AND dead = 0 AND status = 'new'"
            ).fetchone()[0]
            if db.engine == "sqlite":
                db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        print(
            f"  setup: {len(self.plan['holds']):,} expired holds; {legacy:,} leads at New with a legacy "
            f"source status for the migration ({time.perf_counter() - t0:.1f} s)"
        )

    def setup_dispatch(self, path: Path | str) -> None:
        """`--actions` Needs Offer presses through the Service (delay 0): one outbox row each."""
        from leadtui.service import Service

        t0 = time.perf_counter()
        svc = Service.open(path, now=lambda: NOW, delay_seconds=0)
        refused = 0
        try:
            for lead_id in self.plan["dispatch"]:
                try:
                    svc.set_status(lead_id, "needs-offer", "bob")
                except Exception:  # noqa: BLE001 - counted; the drain target is what was queued
                    refused += 1
            pending = svc.db.conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        finally:
            svc.close()
        self.queued = pending
        print(
            f"  setup: {len(self.plan['dispatch']) - refused:,} Needs Offer pressed ({refused} refused), "
            f"{pending:,} actions pending ({time.perf_counter() - t0:.1f} s)"
        )

    # processes ----------------------------------------------------------------------------------

    def spawn(self, target, spec: dict, ready, start, stop, results):
        if stop not in self.stops:
            self.stops.append(stop)
        proc = self.ctx.Process(
            target=target,
            args=(spec, ready, start, stop, results),
            daemon=True,
            name=f"bench-floor-{spec['name']}",
        )
        proc.start()
        self.children.append(proc)
        return proc

    def wait_ready(self, ready, names: set[str]) -> dict[str, str]:
        """Until every child reported; returns the failures (name -> reason)."""
        failed, pending = {}, set(names)
        until = time.perf_counter() + READY_TIMEOUT
        while pending and time.perf_counter() < until:
            try:
                name, ok, reason = ready.get(timeout=max(0.1, until - time.perf_counter()))
            except queue_mod.Empty:
                break
            if name in pending:
                pending.discard(name)
                if not ok:
                    failed[name] = reason
        for name in pending:
            failed[name] = f"not ready within {READY_TIMEOUT:.0f} s"
        return failed

    def collect(self, results, names: set[str]) -> dict[str, dict]:
        """Each child's figures (a child that never reported ready hands in none)."""
        got: dict[str, dict] = {}
        until = time.perf_counter() + COLLECT_TIMEOUT
        while not names <= set(got) and time.perf_counter() < until:
            try:
                item = results.get(timeout=max(0.1, until - time.perf_counter()))
            except queue_mod.Empty:
                break
            got[item["name"]] = item
        return got

    def reap(self) -> None:
        """Children end by themselves once stopped; any still there after 5 s are terminated, then killed."""
        for event in self.stops:
            event.set()
        for ending in (None, "terminate", "kill"):
            until = time.perf_counter() + 5
            for proc in self.children:
                if ending and proc.is_alive():
                    getattr(proc, ending)()
                proc.join(timeout=max(0.0, until - time.perf_counter()))
        self.children.clear()
        self.stops.clear()

    def close(self) -> None:
        for job in self.jobs:
            job.kill()
        self.jobs.clear()
        self.reap()

    # phases -------------------------------------------------------------------------------------

    def run_phase(self, phase: str) -> None:
        args = self.args
        t0 = time.perf_counter()
        if self.server:
            path: Path | str = copy_server_db(args.db, phase)
        else:
            path = self.work / f"{phase}.db"
            copy_db(args.db, path)
        app = "; a headless app for the repaint gap" if phase in args.repaint_phases else ""
        print(f"\n== {phase}: {DESCRIBE[phase](args)}{app}")
        print(f"  copy: {time.perf_counter() - t0:.1f} s")
        sink = None
        try:
            self.prepare(path)
            env = {**self.env, "LEADTUI_DB": str(path)}
            job = None
            if phase == "import":
                job = Job(
                    "import", [("leadtui import", [*leadtui_cmd(), "import", str(self.csv), "--json"])], env
                )
            elif phase == "sweep":
                self.setup_sweep(path)
                mapping = self.work / "legacy-map.toml"
                mapping.write_text(MIGRATION_MAP)
                job = Job(
                    "sweep",
                    [
                        ("leadtui sweep", [*leadtui_cmd(), "--json", "sweep"]),
                        (
                            "leadtui migrate-statuses",
                            [*leadtui_cmd(), "--json", "migrate-statuses", "--map", str(mapping)],
                        ),
                    ],
                    env,
                )
            elif phase == "dispatch":
                from bench_dispatch import Sink

                self.setup_dispatch(path)
                sink = Sink()
                config = self.work / "dispatch.toml"
                config.write_text(
                    f'[automation]\nmode = "dispatch"\ndelay_seconds = 0\n[automation.routes]\n'
                    f'text_underwriter = "sink"\n[automation.targets.sink]\nkind = "webhook"\n'
                    f'url = "{sink.url}"\nsecret = "bench-secret"\n'
                )
                denv = {**env, "LEADTUI_CONFIG": str(config)}
                denv.pop("LEADTUI_NOW")  # the worker's leases run on the real clock; the rows are due
                job = Watcher([*leadtui_cmd(), "--json", "dispatch", "--watch"], denv, sink, self.queued)
            if phase == "claims":
                self.claims(path)
            elif phase == "poll":
                self.poll(path)
            else:
                self.keys(phase, path, job)
        finally:
            self.close()
            if sink is not None:
                sink.close()
            if self.server:
                drop_server_db(str(path))
            else:
                remove_db(Path(path))

    def keys(self, phase: str, path: Path | str, job) -> None:
        args = self.args
        ctx = self.ctx
        ready, results = ctx.Queue(), ctx.Queue()
        start, stop = ctx.Event(), ctx.Event()
        hard = args.seconds + args.job_timeout + 30
        names = set()
        for rep, leads in self.plan["stations"].items():
            burst = rep == "alice"
            spec = {
                "name": "burst" if burst else rep,
                "rep": rep,
                "path": str(path),
                "leads": leads,
                "burst": burst,
                "every": (BURST_EVERY, BURST_EVERY) if burst else REP_PACE,
                "seed": args.seed + len(names),
                "max_keys": MAX_KEYS_BURST if burst else MAX_KEYS_REP,
                "hard_seconds": hard,
            }
            self.spawn(station, spec, ready, start, stop, results)
            names.add(spec["name"])
        probe = phase in args.repaint_phases
        if probe:
            self.spawn(
                repaint_probe,
                {"name": "repaint", "rep": "bob", "path": str(path), "hard_seconds": hard},
                ready,
                start,
                stop,
                results,
            )
            names.add("repaint")
        failed = self.wait_ready(ready, names)
        for name, reason in failed.items():
            if name != "repaint":
                print(f"  station {name} did not start: {reason}")
        t0 = time.perf_counter()
        if job is not None:
            self.jobs.append(job)
            job.start()
        start.set()
        deadline = t0 + args.seconds
        limit = t0 + max(args.seconds, args.job_timeout)
        while True:
            now = time.perf_counter()
            if now >= deadline and (job is None or job.done.is_set()):
                break
            if now >= limit:
                print(
                    f"  {job.label if hasattr(job, 'label') else 'the job'} still running after "
                    f"{args.job_timeout:.0f} s: stopped"
                )
                break
            time.sleep(0.1)
        stop.set()
        ran = time.perf_counter() - t0
        if job is not None:
            job.kill()
            self.jobs.remove(job)
        got = self.collect(results, names - set(failed))
        self.reap()
        print(f"  ran {ran:.1f} s")
        if job is not None:
            self.report_job(phase, job)
        self.report_keys(phase, got)
        if probe:
            self.report_repaint(phase, got.get("repaint"), failed.get("repaint"))

    def report_job(self, phase: str, job) -> None:
        for r in job.ran:
            line = f"  {r['name']}: {r['seconds']:.1f} s, exit {r['rc']}"
            try:
                out = json.loads(r["out"]) if r["out"].strip() else {}
            except json.JSONDecodeError:
                out = {}
            if r["name"] == "leadtui import" and out:
                line += (
                    f"; {self.args.import_rows / r['seconds']:,.0f} rows/s ({out.get('inserted', 0):,} new, "
                    f"{out.get('merged', 0):,} merged, {out.get('rejected', 0):,} rejected)"
                )
            elif r["name"] == "leadtui sweep" and out:
                line += f"; {len(out.get('released', [])):,} leads back to the pool"
            elif r["name"] == "leadtui migrate-statuses" and out:
                line += f"; {out.get('changed', 0):,} leads changed"
            elif r["name"] == "dispatch --watch":
                line = (
                    f"  dispatch --watch: {'drained' if r.get('drained') else 'DID NOT drain'} "
                    f"{self.queued:,} actions in {r['seconds']:.1f} s ({self.queued / r['seconds']:,.0f}/s); "
                    f"exit {r['rc']}"
                )
            if r["rc"] and r["err"]:
                line += f"; stderr: {r['err'].splitlines()[-1]}"
            print(line)
        if not job.ran:
            print(f"  {phase}: the job did not run")

    def target_p99(self, phase: str) -> float:
        """Key -> commit p99 target: SQLite's in every phase; a server's own with nothing else running."""
        return PG_TARGET_QUIET_P99_MS if self.server and phase == "quiet" else TARGET_P99_MS

    def report_keys(self, phase: str, got: dict[str, dict]) -> None:
        target = self.target_p99(phase)
        print(
            f"  {'station':<8} {'rep':<6} {'keys':>5} {'refused':>7} {'lost':>5} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8}   target p99 <= {target:g}, max <= {TARGET_MAX_MS:g}"
        )
        order = sorted((n for n in got if n != "repaint"), key=lambda n: (n == "burst", len(n), n))
        every: list[float] = []
        reps: list[float] = []
        worst_p99 = worst_max = 0.0
        over = lost = 0
        notes = Counter()
        for name in order:
            r = got[name]
            if "error" in r:
                print(f"  {name:<8} {r['error']}")
                continue
            s, k = r["samples"], r["kinds"]
            if not s:
                print(f"  {name:<8} {r['rep']:<6} no keys pressed")
                continue
            p50, p99, mx = _pct(s, 50), _pct(s, 99), max(s)
            ok = p99 <= target and mx <= TARGET_MAX_MS
            over += not ok
            lost += k.get("lost", 0)
            worst_p99, worst_max = max(worst_p99, p99), max(worst_max, mx)
            every += s
            if name != "burst":
                reps += s
            extra = (
                f"  (late up to {r['late_max_ms']:.0f} ms)"
                if name == "burst" and r["late_max_ms"] > 50
                else ""
            )
            print(
                f"  {name:<8} {r['rep']:<6} {len(s):>5} {k.get('refused', 0) + k.get('error', 0):>7} "
                f"{k.get('lost', 0):>5} {p50:>8.1f} {p99:>8.1f} {mx:>8.1f}   [{'ok' if ok else 'OVER'}]{extra}"
            )
            for reason, n in r["reasons"]:
                notes[reason] += n
        for label, s in (("all reps", reps), ("all", every)):
            if s:
                print(
                    f"  {label:<15} {len(s):>5} {'':>7} {'':>5} {_pct(s, 50):>8.1f} {_pct(s, 99):>8.1f} {max(s):>8.1f}"
                )
        for reason, n in notes.most_common(3):
            print(f"    {n} x {reason}")
        warm = [t for name in order for t in got[name].get("warm", ())]
        if warm:
            print(
                f"  warm-up (untimed above): each station's first {2 * WARM_LEADS} keys, pressed as the stations "
                f"open: first key p50 {_pct([got[n]['warm'][0] for n in order if got[n].get('warm')], 50):.1f} ms, "
                f"all {len(warm)}: p50 {_pct(warm, 50):.1f} ms, max {max(warm):.1f} ms"
            )
        verdict = (
            "ok" if not over and every else f"OVER in {over} of {len(order)} stations" if every else "no keys"
        )
        text = f"worst station p99 {worst_p99:.0f} ms, max {worst_max:.0f} ms, {lost} lost [{verdict}]"
        self.summary.append((f"keys, {phase}", text))
        if phase == "quiet" and reps:
            p99 = _pct(reps, 99)
            print(
                f"  {self.args.stations} simulated stations at a rep's pace: key -> commit p99 {p99:.1f} ms "
                f"(target <= {target:g} ms{' on a server' if self.server else ''}) [{'ok' if p99 <= target else 'OVER'}]"
            )
            self.summary.append(
                (
                    f"{self.args.stations} reps, quiet",
                    f"key -> commit p99 {p99:.1f} ms, all reps' keys (target <= {target:g}) "
                    f"[{'ok' if p99 <= target else 'OVER'}]",
                )
            )

    def report_repaint(self, phase: str, r: dict | None, failed: str | None) -> None:
        if failed or r is None or "error" in r:
            reason = failed or (r or {}).get("error") or "the app handed in nothing"
            reason = " ".join(reason.split())  # one line (a server's errors carry the statement on a second)
            print(f"  repaint gap: not measured ({reason})")
            self.summary.append((f"repaint gap, {phase}", f"not measured ({reason[:80]})"))
            return
        ok = r["gap_max_ms"] <= TARGET_GAP_MS
        print(
            f"  repaint gap: longest {r['gap_max_ms']:.0f} ms between screen updates, p99 {r['gap_p99_ms']:.0f} ms "
            f"(target <= {TARGET_GAP_MS:g} ms) [{'ok' if ok else 'OVER'}]; {r['updates']:,} updates for "
            f"{r['keys']:,} keys in {r['seconds']:.1f} s (rep bob, 120x40, a key every {APP_KEY_EVERY * 1000:.0f} ms)"
        )
        print(
            "    longest: "
            + "; ".join(f"{ms:.0f} ms at {at:.1f} s after key {key!r}" for ms, at, key in r["worst"])
            + " ('n' is a write; j/k move the cursor)"
        )
        self.summary.append(
            (f"repaint gap, {phase}", f"longest {r['gap_max_ms']:.0f} ms [{'ok' if ok else 'OVER'}]")
        )

    def claims(self, path: Path | str) -> None:
        args = self.args
        ctx = self.ctx
        ready, results = ctx.Queue(), ctx.Queue()
        start, stop = ctx.Event(), ctx.Event()
        names = set()
        for i in range(1, args.claimers + 1):
            spec = {
                "name": f"rep{i}",
                "rep": f"rep{i}",
                "path": str(path),
                "hard_seconds": args.claim_seconds + 30,
            }
            self.spawn(claimer, spec, ready, start, stop, results)
            names.add(spec["name"])
        failed = self.wait_ready(ready, names)
        for name, reason in failed.items():
            print(f"  station {name} did not start: {reason}")
        start.set()
        time.sleep(args.claim_seconds)
        stop.set()
        got = self.collect(results, names - set(failed))
        self.reap()
        print(
            f"  {'station':<8} {'won':>5} {'taken':>6} {'lost':>5} {'p50 ms':>8} {'p99 ms':>8} {'worst ms':>9} "
            f"{'queue p50':>10}   target: every station wins, worst <= {TARGET_CLAIM_MS:g} ms"
        )
        worst, won, notes = 0.0, {}, Counter()
        for name in sorted(got, key=lambda n: (len(n), n)):
            r = got[name]
            if "error" in r:
                print(f"  {name:<8} {r['error']}")
                continue
            s, k = r["samples"], r["kinds"]
            won[name] = k.get("won", 0)
            if not s:
                print(f"  {name:<8} {won[name]:>5} no claim tried")
                continue
            worst = max(worst, *s)
            reads = f"{_pct(r['reads'], 50):>7.1f} ms" if r["reads"] else ""
            print(
                f"  {name:<8} {won[name]:>5} {k.get('taken', 0):>6} {k.get('lost', 0):>5} {_pct(s, 50):>8.1f} "
                f"{_pct(s, 99):>8.1f} {max(s):>9.1f} {reads:>10}"
            )
            for reason, n in r["reasons"]:
                notes[reason] += n
        for reason, n in notes.most_common(3):
            print(f"    {n} x {reason}")
        missing = sorted(names - set(won))
        empty = [n for n, w in won.items() if not w] + missing
        ok = not empty and worst <= TARGET_CLAIM_MS
        print(
            f"  {sum(won.values()):,} claims in {args.claim_seconds:g} s; fewest {min(won.values(), default=0)}, most "
            f"{max(won.values(), default=0)}; {len(empty)} station(s) won nothing; worst wait {worst:.0f} ms "
            f"[{'ok' if ok else 'OVER'}]"
        )
        self.summary.append(
            (
                f"claims, {args.claimers}-way",
                f"{len(empty)} station(s) won nothing, worst wait {worst:.0f} ms [{'ok' if ok else 'OVER'}]",
            )
        )

    def poll(self, path: Path | str) -> None:
        """Writers alone for --seconds/2, then with --pollers stations polling (see the module's notes)."""
        args = self.args
        ctx = self.ctx
        ready, results = ctx.Queue(), ctx.Queue()
        start, stop = ctx.Event(), ctx.Event()
        half = args.seconds / 2
        hard = 2.5 * args.seconds + args.poll_every + POLL_READY_TIMEOUT + 60
        ids = self.plan["all"]
        share = len(ids) // args.writers
        wnames = set()
        for i in range(1, args.writers + 1):
            spec = {
                "name": f"writer{i}",
                "rep": f"rep{i}",
                "path": str(path),
                "leads": ids[(i - 1) * share : i * share],
                "hard_seconds": hard,
            }
            self.spawn(writer, spec, ready, start, stop, results)
            wnames.add(spec["name"])
        failed = self.wait_ready(ready, wnames)
        for name, reason in failed.items():
            print(f"  {name} did not start: {reason}")
        start.set()
        time.sleep(POLL_WARMUP)
        base0 = time.monotonic()
        time.sleep(half)
        base1 = time.monotonic()
        # the pollers: connections opened while the writers go on (that stretch is not counted)
        pready, pstart, pstop, presults = ctx.Queue(), ctx.Event(), ctx.Event(), ctx.Queue()
        pause = ctx.Event()
        procs = max(1, min(args.poll_procs, args.pollers))
        pnames = set()
        for i in range(procs):
            threads = args.pollers // procs + (i < args.pollers % procs)
            spec = {
                "name": f"pollers{i + 1}",
                "path": str(path),
                "threads": threads,
                "every": args.poll_every,
                "pause": pause,
                "seed": args.seed + 1000 * (i + 1),
                "hard_seconds": hard,
            }
            self.spawn(poller, spec, pready, pstart, pstop, presults)
            pnames.add(spec["name"])
        t_conn = time.monotonic()
        pfailed = {}
        pending, until = set(pnames), time.monotonic() + POLL_READY_TIMEOUT
        while pending and time.monotonic() < until:
            try:
                name, ok, reason = pready.get(timeout=max(0.1, until - time.monotonic()))
            except queue_mod.Empty:
                break
            pending.discard(name)
            if not ok:
                pfailed[name] = reason
        for name in pending:
            pfailed[name] = f"not ready within {POLL_READY_TIMEOUT:.0f} s"
        for name, reason in pfailed.items():
            print(f"  {name} did not start: {reason}")
        print(
            f"  {args.pollers} poller connections opened in {time.monotonic() - t_conn:.1f} s ({procs} processes)"
        )
        pstart.set()
        poll0 = time.monotonic()
        time.sleep(args.poll_every + half)  # the first interval: pollers start, each at its own moment
        poll1 = time.monotonic()
        # turns, with every connection still open: not polling, polling, ... (a drift over the run
        # weighs on both alike, and what the connections alone cost is in both)
        turns: list[tuple[bool, float, float]] = []
        for k in range(2 * POLL_TURNS):
            polling = k % 2 == 1
            (pause.clear if polling else pause.set)()
            t0 = time.monotonic()
            time.sleep(half / POLL_TURNS)
            turns.append((polling, t0, time.monotonic()))
        pstop.set()
        got = self.collect(presults, pnames - set(pfailed))  # handed in once their connections closed
        for proc in self.children:
            if proc.name.startswith("bench-floor-pollers"):
                proc.join(10)
        # alone again: a drift over the run (a fresh copy's first writes after its checkpoint carry
        # whole pages into the WAL, caches warm up) shows as a difference between before and after
        after0 = time.monotonic()
        time.sleep(half)
        after1 = time.monotonic()
        stop.set()
        got.update(self.collect(results, wnames - set(failed)))
        self.reap()
        win0 = poll0 + args.poll_every  # every poller is polling from here on

        commits: list[float] = []
        samples: list[float] = []
        kinds: Counter = Counter()
        notes: Counter = Counter()
        ran_out = []
        for name in sorted(wnames):
            r = got.get(name)
            if r is None or "error" in r:
                print(f"  {name}: {'handed in nothing' if r is None else r['error']}")
                continue
            commits += r["commits"]
            samples += r["samples"]
            kinds.update(r["kinds"])
            for reason, n in r["reasons"]:
                notes[reason] += n
            if r["ran_out"]:
                ran_out.append(name)
        commits.sort()

        def rate(a: float, b: float) -> float:
            return (
                (bisect.bisect_left(commits, b) - bisect.bisect_left(commits, a)) / (b - a) if b > a else 0.0
            )

        before, polled, after = rate(base0, base1), rate(win0, poll1), rate(after0, after1)
        alone = (before + after) / 2

        def turn_rate(polling: bool) -> float:
            spans = [(a, b) for p, a, b in turns if p == polling and b > a]
            n = sum(bisect.bisect_left(commits, b) - bisect.bisect_left(commits, a) for a, b in spans)
            return n / sum(b - a for a, b in spans) if spans else 0.0

        on, off = turn_rate(True), turn_rate(False)
        stations = [
            polls
            for name in sorted(pnames)
            if name in got and "error" not in got[name]
            for polls in got[name]["polls"]
        ]
        errors: Counter = Counter()
        for name in pnames:
            for reason, n in got.get(name, {}).get("errors", []):
                errors[reason] += n
        durations = [(t1 - t0) * 1000 for polls in stations for t0, t1, _ in polls if win0 <= t0 <= poll1]
        changed = sum(c for polls in stations for t0, _, c in polls if win0 <= t0 <= poll1)
        # visibility: for sampled commits of the polled window (each a key's commit returning), when
        # each station's next poll that began after it returned
        window = commits[
            bisect.bisect_left(commits, win0) : bisect.bisect_left(commits, poll1 - 2 * args.poll_every)
        ]
        sample = window[:: max(1, len(window) // POLL_SAMPLE)][:POLL_SAMPLE]
        seen: list[float] = []
        for polls in stations:
            starts = [t0 for t0, _, _ in polls]
            for c in sample:
                k = bisect.bisect_left(starts, c)
                if k < len(polls):
                    seen.append((polls[k][1] - c) * 1000)
        print(
            f"  writers: {args.writers} processes, {kinds.get('committed', 0):,} keys committed, "
            f"{sum(kinds.values()) - kinds.get('committed', 0):,} not (refused or lost); key p50 "
            f"{_pct(samples, 50) if samples else 0:.1f} ms, p99 {_pct(samples, 99) if samples else 0:.1f} ms over the run"
        )
        for reason, n in notes.most_common(3):
            print(f"    {n} x {reason}")
        if ran_out:
            print(f"  note: {', '.join(ran_out)} ran out of leads (figures after that are short)")
        ratio = polled / alone if alone else 0.0
        turned = on / off if off else 0.0
        held = turned >= TARGET_HELD
        print(
            f"  commits/s alone {before:,.0f} before and {after:,.0f} after ({base1 - base0:.1f} s each; mean {alone:,.0f}), "
            f"with {args.pollers} pollers {polled:,.0f} ({poll1 - win0:.1f} s): {ratio:.2f} of it alone"
        )
        print(
            f"  in turns, the {args.pollers} connections open throughout ({POLL_TURNS} x {half / POLL_TURNS:g} s each): "
            f"polling {on:,.0f} commits/s, not polling {off:,.0f}: {turned:.2f} "
            f"(target: held, >= {TARGET_HELD:g}) [{'ok' if held else 'FELL'}]"
        )
        if durations:
            p50, p99 = _pct(durations, 50), _pct(durations, 99)
            print(
                f"  poll ({'pg_last_committed_xact()' if self.server else 'PRAGMA data_version'}): {len(durations):,} "
                f"polls from {len(stations)} stations, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(durations):.1f} ms; "
                f"{changed:,} saw a change; {errors.total()} failed"
            )
        else:
            p99 = 0.0
            print(f"  poll: no polls in the window ({len(stations)} stations handed in)")
        for reason, n in errors.most_common(3):
            print(f"    {n} x {reason}")
        bound = args.poll_every * 1000 + p99
        if seen:
            worst = max(seen)
            ok = worst <= TARGET_VISIBLE_MS
            print(
                f"  a change is visible within poll interval + poll p99 = {args.poll_every * 1000:.0f} + {p99:.1f} = "
                f"{bound:.0f} ms; measured, from a key's commit returning to each station's next poll seeing it "
                f"({len(sample)} commits x {len(stations)} stations): p50 {_pct(seen, 50):.0f} ms, p99 "
                f"{_pct(seen, 99):.0f} ms, max {worst:.0f} ms (target within {TARGET_VISIBLE_MS:g} ms) "
                f"[{'ok' if ok else 'OVER'}]"
            )
            visible = f"change seen within {worst:.0f} ms (bound {bound:.0f}) [{'ok' if ok else 'OVER'}]"
            if not ok:
                print(
                    f"    over by {worst - TARGET_VISIBLE_MS:.0f} ms: a station polling every {args.poll_every:g} s "
                    f"sees a change up to {args.poll_every:g} s + one poll after it"
                )
        else:
            print("  visibility: not measured (no commits or polls in the window)")
            visible = "visibility not measured"
        self.summary.append(
            (
                f"poll, {args.pollers} stations",
                f"commits/s {alone:,.0f} alone ({before:,.0f} before, {after:,.0f} after), {polled:,.0f} "
                f"polled ({ratio:.2f}); in turns {on:,.0f} polling, {off:,.0f} not ({turned:.2f}) "
                f"[{'held' if held else 'FELL'}]; poll p99 {p99:.1f} ms; {visible}",
            )
        )


DESCRIBE = {
    "quiet": lambda a: f"{a.stations} rep stations + 1 burst station, nothing else running",
    "import": lambda a: f"the stations while `leadtui import` loads {a.import_rows:,} rows",
    "sweep": lambda a: (
        "the stations while `leadtui sweep` then `leadtui migrate-statuses` run over every lead"
    ),
    "dispatch": lambda a: (
        f"the stations while `leadtui dispatch --watch` drains {a.actions:,} actions to 127.0.0.1"
    ),
    "claims": lambda a: f"{a.claimers} stations claiming from one pool for {a.claim_seconds:g} s",
    "poll": lambda a: (
        f"{a.pollers} stations polling for changes: commits/s held ({a.writers} writers as fast as they can, "
        f"{a.seconds / 2:g} s alone, {a.seconds / 2:g} s with the pollers, {a.seconds:g} s of turns not polling and "
        f"polling, {a.seconds / 2:g} s alone again)"
    ),
}


def _git() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "leadtui"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes in leadtui/' if dirty else ''}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--db",
        default=str(Path(tempfile.gettempdir()) / "leadtui-bench" / "leads-1m.db"),
        help="bench_status's database, a file or a postgresql:// address (only read: each phase works on a copy)",
    )
    ap.add_argument("--stations", type=int, default=8, help="rep stations; default 8 (issue 18: 64)")
    ap.add_argument("--claimers", type=int, default=8, help="claiming stations in phase claims; default 8")
    ap.add_argument("--writers", type=int, default=4, help="writer processes in phase poll; default 4")
    ap.add_argument(
        "--pollers", type=int, default=500, help="polling stations (connections) in phase poll; default 500"
    )
    ap.add_argument(
        "--poll-procs", type=int, default=5, help="processes the pollers' threads run in (default 5)"
    )
    ap.add_argument(
        "--poll-every",
        type=float,
        default=0.8,
        help="seconds between one station's polls (default 0.8, the app's POLL_SECONDS)",
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds a phase lasts at least (default 20)")
    ap.add_argument(
        "--phases", default=",".join(PHASES), help=f"a subset of {','.join(PHASES)} (default: all)"
    )
    ap.add_argument(
        "--import-rows", type=int, default=100_000, help="rows of the list imported in phase import"
    )
    ap.add_argument(
        "--holds", type=int, default=100_000, help="expired holds the sweep releases (default 100,000)"
    )
    ap.add_argument(
        "--actions", type=int, default=10_000, help="actions the dispatcher drains (default 10,000)"
    )
    ap.add_argument("--claim-seconds", type=float, default=5.0, help="seconds of claiming (default 5)")
    ap.add_argument(
        "--job-timeout", type=float, default=300.0, help="a background job is stopped after this (s)"
    )
    ap.add_argument(
        "--repaint",
        default="import",
        metavar="PHASES",
        help="phases with the headless app measuring repaint gaps (default import; e.g. quiet,import "
        "for a baseline; 'none' for none)",
    )
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        ap.error(f"unknown phase(s) {', '.join(unknown)}; choose from {', '.join(PHASES)}")
    server = is_server(args.db)
    if not server:
        args.db = Path(args.db)
        if not args.db.exists():
            ap.error(f"no database at {args.db}: build it with benchmarks/bench_status.py --db {args.db}")
        if Path(__file__).resolve().parents[1] in args.db.resolve().parents:
            ap.error("keep the benchmark database out of the repository (use a temp folder)")
    if not 1 <= args.stations <= 64:
        ap.error("--stations: 1 to 64")
    if not 1 <= args.claimers <= 64 or not 1 <= args.writers <= 64:
        ap.error("--claimers and --writers: 1 to 64")
    if not 1 <= args.pollers <= 2000 or args.poll_procs < 1 or args.poll_every <= 0:
        ap.error("--pollers: 1 to 2000; --poll-procs at least 1; --poll-every above 0")
    phases = [p for p in PHASES if p in phases]
    args.repaint_phases = {p.strip() for p in args.repaint.split(",")} & (set(PHASES) - {"claims", "poll"})

    def terminate(signum, frame):  # cleanup runs in the finally below
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    work = Path(tempfile.mkdtemp(prefix="leadtui-bench-floor-"))
    floor = Floor(args, work)
    os.environ.update(
        {k: floor.env[k] for k in ("LEADTUI_CONFIG_DIR", "LEADTUI_DATA_DIR")}
    )  # for the children
    for key in ("LEADTUI_DB", "LEADTUI_REP", "LEADTUI_CONFIG", "LEADTUI_NOW"):
        os.environ.pop(key, None)
    try:
        if server:
            from leadtui.errors import LeadtuiError
            from leadtui.store.db import connect
            from leadtui.store.postgres import shown

            try:
                db = connect(args.db)
            except LeadtuiError as exc:
                sys.exit(f"{exc} (build it with benchmarks/bench_status.py --db ADDRESS)")
            try:
                leads = db.conn.execute("SELECT max(id) FROM leads").fetchone()[0] or 0
                version = db.conn.execute("SELECT current_setting('server_version')").fetchone()[0]
            finally:
                db.close()  # CREATE DATABASE ... TEMPLATE needs the source unused
            name = f"{shown(args.db)} on PostgreSQL {version.split()[0]}"
        else:
            with contextlib.closing(sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)) as conn:
                leads = conn.execute("SELECT max(id) FROM leads").fetchone()[0] or 0
            name = args.db.name
        load = os.getloadavg()[0]
        print(
            f"bench_floor: database {name} ({leads:,} leads), a copy a phase; code {_git()}; "
            f"{os.cpu_count()} cores, load {load:.1f}"
        )
        print(
            f"stations: {args.stations} reps (rep1..rep{args.stations}, a key every {REP_PACE[0]:g}-{REP_PACE[1]:g} s) "
            f"+ 1 burst (alice, {1 / BURST_EVERY:g} keys/s); clock {NOW_ISO}; phases {', '.join(phases)}; "
            f"at least {args.seconds:g} s each"
        )
        if server:
            keys = (
                f"key -> commit p99 <= {PG_TARGET_QUIET_P99_MS:g} ms in quiet, <= {TARGET_P99_MS:g} ms with a job "
                f"running, max <= {TARGET_MAX_MS:g} ms"
            )
        else:
            keys = f"key -> commit p99 <= {TARGET_P99_MS:g} ms and max <= {TARGET_MAX_MS:g} ms in every phase"
        print(
            f"targets: {keys}; repaint gap <= {TARGET_GAP_MS:g} ms; every claiming station wins, worst claim wait "
            f"<= {TARGET_CLAIM_MS:g} ms; poll: a change visible within {TARGET_VISIBLE_MS / 1000:g} s, commits/s held "
            f"(>= {TARGET_HELD:g} of it alone)"
        )
        if "import" in phases:
            from bench_import import SEED, generate

            floor.csv = work / f"list-{args.import_rows}.csv"
            t0 = time.perf_counter()
            generate(floor.csv, args.import_rows, seed=SEED + 1)
            print(f"generated a {args.import_rows:,}-row PropStream list in {time.perf_counter() - t0:.1f} s")
        for phase in phases:
            try:
                floor.run_phase(phase)
            except Exception as exc:  # noqa: BLE001 - one broken phase leaves the others their figures
                print(f"  phase {phase} FAILED: {type(exc).__name__}: {exc}")
                floor.summary.append((phase, f"FAILED: {type(exc).__name__}: {str(exc)[:80]}"))
        print("\nsummary")
        for label, text in floor.summary:
            print(f"  {label:<22} {text}")
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
    finally:
        floor.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
