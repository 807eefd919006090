"""Which engine a connection is: the store's SQL that differs between SQLite and PostgreSQL asks
here (a SQLite connection says "sqlite", a server's `store.postgres.Connection` "postgresql")."""

from __future__ import annotations

from typing import Any

SERVER = "postgresql"


def on_server(conn: Any) -> bool:
    """Whether `conn` is a PostgreSQL floor's rather than a SQLite file's."""
    return getattr(conn, "engine", "sqlite") == SERVER
