"""The automation worker against a local webhook sink: actions/s, and key-to-delivery latency.

    python benchmarks/bench_dispatch.py                       # 10,000 drained, then 1,000 live
    python benchmarks/bench_dispatch.py --actions 2000 --live 500 --rate 50

Builds a database of pool leads in a temp folder (bench_status.build; removed at the end), starts a webhook sink
on 127.0.0.1 (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive, answers 200), then:

- drain: presses Needs Offer (`Service.set_status`, real clock, delay_seconds = 0) on
  `--actions` leads with no dispatcher running, then times `leadtui dispatch --once` (a fresh
  process, as cron would run it) sending them all: actions/s, process start included, and
  between the first and last arrival at the sink.
- live: starts `leadtui dispatch --watch` (its own process), presses Needs Offer on `--live`
  leads at `--rate` per second, and times each from just before the key press to the sink
  receiving its webhook: median, p90, p99, max. With delay_seconds = 0 this is the worker's
  own latency (poll interval 0.25 s, lease, render, sign, POST, record); on a floor the
  30 s undo window comes on top, by design.

Every delivery is checked: each idempotency key arrives once, every outbox row ends `sent`.
It asserts nothing about time: figures are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_status import build  # (same folder)

from leadtui.service import Service
from leadtui.store.db import connect


class Sink:
    """A webhook endpoint: when each idempotency key arrived (time.monotonic), and for which lead."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, int]] = {}
        self.duplicates = 0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                at = time.monotonic()
                key = self.headers["webhook-id"]
                with sink.changed:
                    if key in sink.arrived:
                        sink.duplicates += 1
                    else:
                        sink.arrived[key] = (at, json.loads(body)["data"]["lead_id"])
                    sink.changed.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.arrived) >= count, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--actions", type=int, default=10_000, help="actions drained by dispatch --once (default 10,000)"
    )
    ap.add_argument("--live", type=int, default=1_000, help="actions timed key-to-delivery (default 1,000)")
    ap.add_argument("--rate", type=float, default=100.0, help="live key presses per second (default 100)")
    args = ap.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="leadtui-bench-dispatch-"))
    path = folder / "leads.db"
    t0 = time.perf_counter()
    build(path, int((args.actions + args.live + 1) * 1.5), quiet=True)
    print(f"database: {path} built in {time.perf_counter() - t0:.1f} s")
    sink = Sink()
    config = folder / "config.toml"
    config.write_text(
        f'[automation]\nmode = "dispatch"\ndelay_seconds = 0\n[automation.routes]\n'
        f'text_underwriter = "sink"\n[automation.targets.sink]\nkind = "webhook"\n'
        f'url = "{sink.url}"\nsecret = "bench-secret"\n'
    )
    env = {
        **os.environ,
        "LEADTUI_DB": str(path),
        "LEADTUI_CONFIG": str(config),
        "LEADTUI_DATA_DIR": str(folder),
        "LEADTUI_CONFIG_DIR": str(folder / "conf"),
    }
    env.pop("LEADTUI_NOW", None)
    dispatch = [sys.executable, "-m", "leadtui", "dispatch", "--json"]

    db = connect(path)
    service = Service(db, delay_seconds=0)
    pool = [
        r[0] for r in db.conn.execute("SELECT id FROM leads WHERE owner IS NULL AND dead = 0 ORDER BY id")
    ]
    if len(pool) < args.actions + args.live + 1:
        sys.exit(f"only {len(pool)} pool leads were built")
    drain_ids, live_ids, warm_id = (
        pool[: args.actions],
        pool[args.actions : args.actions + args.live],
        pool[-1],
    )

    def press(lead_id: int) -> None:
        service.set_status(lead_id, "needs-offer", "alice")

    try:
        t0 = time.perf_counter()
        for lead_id in drain_ids:
            press(lead_id)
        pressed = time.perf_counter() - t0
        print(
            f"queued:   {args.actions:,} Needs Offer presses in {pressed:.1f} s ({args.actions / pressed:,.0f}/s)"
        )
        t0 = time.perf_counter()
        out = subprocess.run(
            [*dispatch, "--once"], env=env, capture_output=True, text=True, check=True
        ).stdout
        took = time.perf_counter() - t0
        sent = json.loads(out)["sent"]
        times = sorted(at for at, _ in sink.arrived.values())
        span = times[-1] - times[0]
        print(
            f"drain:    dispatch --once sent {sent:,} in {took:.1f} s: {sent / took:,.0f} actions/s "
            f"with process start; {(len(times) - 1) / span:,.0f} actions/s first to last arrival"
        )

        watcher = subprocess.Popen(
            [*dispatch, "--watch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        press(warm_id)  # the watcher is up once this one arrives
        if not sink.wait_for(args.actions + 1, 30):
            sys.exit("the watching dispatcher delivered nothing in 30 s")
        pressed_at: dict[int, float] = {}
        start = time.monotonic()
        for i, lead_id in enumerate(live_ids):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pressed_at[lead_id] = time.monotonic()
            press(lead_id)
        complete = sink.wait_for(args.actions + 1 + args.live, 60)
        watcher.send_signal(signal.SIGTERM)
        watcher.communicate(timeout=30)
        arrived = {lead: at for at, lead in sink.arrived.values()}
        latency = [(arrived[lead] - at) * 1000 for lead, at in pressed_at.items() if lead in arrived]
        print(
            f"live:     {len(latency):,} presses at {args.rate:g}/s, key to delivery (ms): "
            f"median {statistics.median(latency):.0f}, p90 {_pct(latency, 90):.0f}, "
            f"p99 {_pct(latency, 99):.0f}, max {max(latency):.0f} (poll 0.25 s, delay_seconds 0)"
        )
        states = dict(db.conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
        print(
            f"check:    outbox {states}; duplicates at the sink {sink.duplicates}; "
            f"{'all delivered' if complete else 'SOME NOT DELIVERED'}"
        )
    finally:
        sink.close()
        db.close()
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
