"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, started on 127.0.0.1
once per test session and removed at its end; a fresh database for each test that asks.

As root (CI), `initdb` and the server run as the `postgres` user (initdb refuses root); as
anyone else, as that user. No binaries is a failure naming the package, never a skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from leadtui.store.db import connect

# A floor's settings: change detection on (pg_last_committed_xact), room for many stations.
FLOOR = "-c listen_addresses=127.0.0.1 -c track_commit_timestamp=on -c max_connections=700"
# For the tests' throwaway cluster, also no fsync: a crash loses nothing a test needs.
SETTINGS = f"{FLOOR} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB"


def bindir() -> Path:
    """The newest installed PostgreSQL's binaries (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("no PostgreSQL server here: install Debian's `postgresql` (.ci/run does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One server; `database()` makes an empty database on it and gives its address."""

    def __init__(self, settings: str = SETTINGS) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="leadtui-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-o",
            f"{settings} -p {self.port} -k {self.root}",
            "start",
        )
        self.admin = psycopg.connect(self.address("postgres"), autocommit=True)
        self._names = itertools.count(1)
        self._free: list[str] = []
        self.admin.execute("CREATE DATABASE floor_template")  # the schema made once, copied per test
        connect(self.address("floor_template"), create=True).close()

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root, check=False)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")

    def address(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def database(self) -> str:
        """An empty floor's database (the schema, no rows): a used one emptied, or a new copy."""
        if self._free:
            return self._free.pop()
        name = f"floor_{os.getpid()}_{next(self._names)}"
        self.admin.execute(f"CREATE DATABASE {name} TEMPLATE floor_template STRATEGY file_copy")
        return self.address(name)

    def drop(self, address: str) -> None:
        """Done with a test's database: emptied for the next test (a copy costs ~0.25 s, this a few ms),
        or dropped if something still holds it."""
        try:
            with psycopg.connect(address, autocommit=True) as conn, conn.transaction():
                conn.execute("SET LOCAL lock_timeout = 2000")
                conn.execute("SET LOCAL session_replication_role = replica")  # no triggers: events go too
                for (table,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename != 'schema_version'"
                ).fetchall():
                    conn.execute(f"DELETE FROM {table}")
                for (sequence,) in conn.execute("SELECT sequencename FROM pg_sequences").fetchall():
                    conn.execute("SELECT setval(%s, 1, false)", (sequence,))
            self._free.append(address)
        except psycopg.Error:
            name = address.rsplit("/", 1)[1]
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        self.admin.close()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
