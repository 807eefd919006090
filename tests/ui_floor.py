"""A small floor on a real SQLite file for the screen's tests, and the app on it.

The app reads the clock from env LEADTUI_NOW (fixed at conftest.START), its data and config
folders are under the test's tmp_path, so nothing touches the user's own files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from conftest import MANAGER, NEWBIE, REP, START, Clock, add_lead, add_reps

from leadtui import config
from leadtui.service import Service, init_database
from leadtui.store.db import connect

HOSTILE = "[bold red]Evil[/] \x1b[31mRed\x1b]0;pwned\x07"


def build_floor(path: Path) -> dict[str, int]:
    """Leads: a due follow-up of alice's, alice's own lead, pool leads (one with two phones), one of
    newbie's, a dead one, one with only a DNC phone, and an owner with two properties."""
    clock = Clock(START - timedelta(days=200))
    init_database(path, "wholesale", test_clock=True)
    svc = Service(connect(path), now=clock.now, contracts_dir=path.parent / "contracts")
    add_reps(svc, START.date())
    ids = {}
    ids["followup"] = add_lead(svc, owner_name="Dora Due", address="1 Due St")["id"]
    svc.followup(ids["followup"], REP, "6 months")  # due in 3 months: 100 days before START, so due now
    clock.set(START - timedelta(hours=2))
    ids["mine"] = add_lead(svc, owner_name="Mia Mine", address="2 Mine St")["id"]
    svc.claim(ids["mine"], REP)
    ids["two_phones"] = add_lead(svc, phones=2, owner_name="Tom Two", address="3 Pool St")["id"]
    ids["pool"] = add_lead(svc, owner_name="Pat Pool", address="4 Pool St")["id"]
    ids["hostile"] = add_lead(svc, owner_name=HOSTILE, address="5 Pool St")["id"]
    ids["sold"] = add_lead(svc, owner_name="Sam Seller", address="6 Sold St", mailing_address="9 Home Rd")[
        "id"
    ]
    ids["other_property"] = add_lead(
        svc, owner_name="Sam Seller", address="7 Other St", mailing_address="9 Home Rd"
    )["id"]
    ids["newbies"] = add_lead(svc, owner_name="Nell Newbie", address="8 Held St")["id"]
    svc.claim(ids["newbies"], NEWBIE)
    ids["dead"] = add_lead(svc, owner_name="Dee Dead", address="9 Gone St")["id"]
    svc.set_status(ids["dead"], "dead-deal", MANAGER)
    ids["dnc"] = add_lead(svc, owner_name="Don Dnc", address="10 Quiet St")["id"]
    svc.db.conn.execute("UPDATE phones SET dnc = 1 WHERE lead_id = ?", (ids["dnc"],))
    number = svc.lead(ids["pool"])["phones"][0]["number"]
    svc.add_reply(number, "Call me after 5 [b]please[/b]", START - timedelta(minutes=30))
    svc.close()
    return ids


def isolate(tmp_path: Path, monkeypatch) -> Path:
    """The app's clock fixed at START, its data and config under tmp_path, and the floor built there."""
    monkeypatch.setenv("LEADTUI_NOW", START.isoformat())
    monkeypatch.setenv("TZ", "America/New_York")  # the system's zone: the floor's day (W20)
    monkeypatch.setenv("LEADTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADTUI_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "leads.db"


def settings(tmp_path: Path, keys: dict | None = None):
    """The config as the app loads it: a file in the test's config dir."""
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    lines = ["[keys]"] + [f'{k} = "{v}"' for k, v in (keys or {}).items()]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return config.load(str(path))


async def settle(pilot) -> None:
    """Wait until every key queued on the station's writer has landed and the screen caught up."""
    app = pilot.app
    for _ in range(500):
        await pilot.pause(0.01)
        floor = app.floor
        if (
            not app.held
            and (app.writer is None or app.writer.pending() == 0)
            and not (floor and (floor.pending or floor._relist_timer is not None))
        ):
            break
    busy = [w for w in app.workers if w.group != "dialog"]  # a dialog's worker waits for keys
    if busy:
        await app.workers.wait_for_complete(busy)
    await pilot.pause()


async def press(pilot, *keys: str) -> None:
    """Press keys as a rep types them, then wait for their writes to land."""
    await pilot.press(*keys)
    await settle(pilot)


def lead_at(path: Path, lead_id: int, events: bool = False) -> dict:
    """The lead as the database has it now, read by a station of its own."""
    svc = Service.open(path)
    try:
        return svc.lead(lead_id, events=events)
    finally:
        svc.close()


def notes(app) -> list[str]:
    """The notices the app showed, oldest first."""
    return [n.message for n in app._notifications]
