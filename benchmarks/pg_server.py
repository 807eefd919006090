"""A PostgreSQL server for the benchmarks, durable as a floor's would be (fsync and synchronous
commit on, `track_commit_timestamp = on`, 700 connections): started in a temp folder on
127.0.0.1, its address printed, stopped and removed on Ctrl-C or SIGTERM.

    python benchmarks/pg_server.py --shared-buffers 2GB &      # prints postgresql://postgres@127.0.0.1:PORT/bench
    python benchmarks/bench_status.py --db postgresql://postgres@127.0.0.1:PORT/bench

Debian's server binaries (package `postgresql`); as root the server runs as `postgres`. The
database `bench` is made empty; the benchmarks build their floors in it or copy it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pg_cluster import FLOOR, Cluster  # the tests' server, with a floor's durable settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared-buffers", default="1GB", help="the server's shared_buffers (default 1GB)")
    args = ap.parse_args()
    cluster = Cluster(f"{FLOOR} -c shared_buffers={args.shared_buffers} -c max_wal_size=4GB")
    try:
        cluster.admin.execute("CREATE DATABASE bench")
        print(cluster.address("bench"), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
