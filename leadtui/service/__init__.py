"""The one door: every action a rep or manager takes, for the CLI and the TUI alike.

Each write is one short transaction: read the lead under the write lock, let core decide, then
store the change, its event and its outbox rows together. The capabilities live in their own
modules; `Service` is their facade.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from leadtui.core.calling import CallingRules
from leadtui.core.playbook import Playbook
from leadtui.core.playbook import load as load_playbook
from leadtui.errors import Refused
from leadtui.service.base import Outcome, PinRequired
from leadtui.service.calls import Calls
from leadtui.service.controls import Controls
from leadtui.service.inbox import Inbox
from leadtui.service.jobs import LEGACY_DEFAULT, LEGACY_MAP, Jobs
from leadtui.service.kpis import Kpis
from leadtui.service.leads import Leads
from leadtui.service.manager import Managing
from leadtui.service.reads import Reads
from leadtui.service.reps import RepAdmin
from leadtui.service.stations import Stations
from leadtui.store import queries as q
from leadtui.store.db import connect, describe

if TYPE_CHECKING:
    from leadtui.config import Config

__all__ = [
    "LEGACY_DEFAULT",
    "LEGACY_MAP",
    "Outcome",
    "PinRequired",
    "Service",
    "init_database",
    "open_service",
]


class Service(Reads, Kpis, Leads, Controls, Managing, Jobs, Calls, Stations, Inbox, RepAdmin):
    """Every floor action; one instance per station (or per CLI call)."""


def init_database(
    path: Path | str, playbook: str = "wholesale", *, test_clock: bool = False
) -> tuple[Playbook, bool]:
    """Create the database (or switch its playbook). Returns the playbook and whether it changed.
    `test_clock`: a floor for tests and demos, where env LEADTUI_NOW sets the clock; only a new
    floor can be one (a real floor's clock is never the user's to set)."""
    from leadtui.config import masked_url

    pb = load_playbook(playbook)
    db = connect(path, create=True)
    try:
        with db.write() as conn:
            current = q.meta(conn, "playbook")
            if test_clock and current is None:
                q.set_meta(conn, "test_clock", "1")
            elif test_clock and q.meta(conn, "test_clock") != "1":
                raise Refused(f"{masked_url(path)} is a real floor: --test-clock is only for a new one")
            if current == pb.source:
                return pb, False
            if current is not None:
                used = {r[0] for r in conn.execute("SELECT DISTINCT status FROM leads")}
                missing = sorted(used - {s.id for s in pb.statuses})
                if missing:
                    raise Refused(
                        f"can't switch to playbook {pb.name}: leads have statuses it lacks: {', '.join(missing)}"
                    )
            q.set_meta(conn, "playbook", pb.source)
            q.set_meta(conn, "playbook_name", pb.name)
        return pb, True
    finally:
        db.close()


def open_service(db_path: Path | str, config: Config | None = None, **kwargs: Any) -> Service:
    """A Service set up from the config (calling rules, undo delay)."""
    if config is not None:
        kwargs.setdefault("rules", CallingRules.from_config(config.calling))
        kwargs.setdefault("delay_seconds", config.automation["delay_seconds"])
        kwargs.setdefault("automation", config.automation)
        kwargs.setdefault("busy_timeout_ms", config.database.get("busy_timeout_ms"))
        if "reserve_seconds" in config.floor:
            kwargs.setdefault("reserve_seconds", config.floor["reserve_seconds"])
        if "timezone" in config.floor:  # the floor's day (W20); else the system's zone
            kwargs.setdefault("zone", ZoneInfo(config.floor["timezone"]))
        from leadtui.config import config_dir

        templates = config_dir() / "templates"
        kwargs.setdefault("templates_dir", templates if templates.is_dir() else None)
    try:
        svc = Service.open(db_path, **kwargs)
    except sqlite3.Error as exc:
        raise describe(db_path, exc) from None
    if config is not None and config.keys:
        try:
            config.check_keys(svc.playbook)  # every command checks [keys] against the floor's playbook
        except BaseException:
            svc.close()
            raise
    return svc
