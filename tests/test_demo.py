"""The --demo floor: its own folder, built once and atomically, with the floor it promises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from leadtui import clock, config, demo
from leadtui.core.phones import normalize
from leadtui.errors import Refused
from leadtui.service import Service

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=NY)
EARLY = datetime(2026, 11, 23, 3, 0, tzinfo=NY)  # before calling hours anywhere in the US


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LEADTUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(scope="module")
def floor(tmp_path_factory):
    """One demo built at NOW, read through the Service with the clock at NOW."""
    path = demo.ensure_demo(tmp_path_factory.mktemp("demo") / "leads.db", now=NOW)
    svc = Service.open(path, now=lambda: NOW)
    yield svc
    svc.close()


@contextmanager
def opened(path: Path, at: datetime = NOW) -> Iterator[Service]:
    """A Service on `path` with the clock at `at`, closed after."""
    svc = Service.open(path, now=lambda: at)
    try:
        yield svc
    finally:
        svc.close()


def rows(svc: Service, query: str, *args) -> list:
    return svc.db.conn.execute(query, args).fetchall()


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def broken(*_args, **_kwargs):
    raise RuntimeError("disk gone")


def test_demo_lives_in_its_own_folder_and_a_second_call_keeps_it(data_dir):
    path = demo.ensure_demo(now=NOW)
    assert path == demo.demo_path() == data_dir / "demo" / "leads.db"
    assert path != config.default_db_path()
    assert not config.default_db_path().exists()
    assert [f for f in files(data_dir) if not f.startswith("demo/contracts/")] == ["demo/leads.db"]
    with opened(path) as svc:
        pending = svc.approvals(demo.DEMO_MANAGER)[0]["id"]
        with pytest.raises(Refused):
            svc.approve(pending, demo.DEMO_MANAGER, "0000")
        svc.approve(pending, demo.DEMO_MANAGER, demo.DEMO_PIN)
    assert demo.ensure_demo(now=NOW + timedelta(days=1)) == path
    with opened(path) as svc:
        assert svc.approvals(demo.DEMO_MANAGER) == []  # not rebuilt: what was done on it stays


def test_a_failed_build_leaves_no_demo(data_dir, monkeypatch):
    monkeypatch.setattr(Service, "add_reply", broken)
    with pytest.raises(RuntimeError):
        demo.ensure_demo(now=NOW)
    assert not demo.demo_path().exists()
    assert [f for f in files(data_dir) if not f.startswith("demo/contracts/")] == []


def test_an_older_demo_is_rebuilt_and_kept_until_the_new_one_is_done(data_dir, monkeypatch):
    path = demo.ensure_demo(now=NOW)
    with opened(path) as svc:
        svc.release(svc.search(demo.DEMO_REP, owner=demo.DEMO_REP)[0]["id"], demo.DEMO_REP)
        mine = len(svc.search(demo.DEMO_REP, owner=demo.DEMO_REP))
    before = path.read_bytes()
    monkeypatch.setattr(demo, "DEMO_VERSION", "next")
    with monkeypatch.context() as patch:
        patch.setattr(Service, "add_reply", broken)
        with pytest.raises(RuntimeError):
            demo.ensure_demo(now=NOW)
    assert path.read_bytes() == before
    demo.ensure_demo(now=NOW)
    with opened(path) as svc:
        assert len(svc.search(demo.DEMO_REP, owner=demo.DEMO_REP)) == mine + 1
        assert rows(svc, "SELECT value FROM meta WHERE key = 'demo_version'")[0][0] == "next"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_build_leaves_no_demo(data_dir):
    script = textwrap.dedent(f"""
        import os, signal
        from datetime import datetime
        from leadtui import demo
        from leadtui.service import Service
        Service.add_reply = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        demo.ensure_demo(now=datetime.fromisoformat({NOW.isoformat()!r}))
    """)
    env = {**os.environ, "LEADTUI_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert not demo.demo_path().exists()
    leftovers = [p for p in demo.demo_path().parent.iterdir() if demo.PARTIAL in p.name]
    assert leftovers  # the killed build's own temp files, never the demo
    demo._remove_stale(demo.demo_path())
    assert all(p.exists() for p in leftovers)  # could be a build still running
    old = (datetime.now() - 2 * demo.STALE).timestamp()
    for p in leftovers:
        os.utime(p, (old, old))
    demo._remove_stale(demo.demo_path())
    assert [f for f in files(data_dir) if not f.startswith("demo/contracts/")] == []


def test_floor_has_the_leads_and_reps_it_promises(floor):
    assert len(rows(floor, "SELECT id FROM leads")) >= 250
    reps = {r["name"]: r for r in floor.reps()}
    assert set(reps) == {demo.DEMO_REP, "bob", "carmen", demo.DEMO_MANAGER}
    assert reps[demo.DEMO_MANAGER]["manager"] and reps[demo.DEMO_MANAGER]["has_pin"]
    assert datetime.fromisoformat(reps["carmen"]["started"]).date() > NOW.date() - timedelta(days=30)
    pool = floor.search(pool=True)
    assert sum(x["status"] == "new" for x in pool) > len(rows(floor, "SELECT id FROM leads")) / 2
    lists = {x["source_list"] for x in floor.search()}
    assert {
        "PropStream - Absentee Owners Dallas",
        "BatchLeads - Tired Landlords",
        "DealMachine - Driving for Dollars",
    } <= lists


def test_every_lead_has_valid_e164_phones_with_types_and_flags(floor):
    leads = floor.search() + floor.search(dead=True)
    assert all(1 <= len(x["phones"]) <= 5 for x in leads)
    phones = [p for x in leads for p in x["phones"]]
    assert all(p["number"].startswith("+1") and normalize(p["number"]) == p["number"] for p in phones)
    assert {"Mobile", "Landline"} <= {p["type"] for p in phones}
    assert any(p["dnc"] for p in phones) and any(p["litigator"] for p in phones)


def test_owners_addresses_and_zones_are_varied(floor):
    leads = floor.search()
    names = [x["owner_name"] for x in leads]
    assert any(" & " in n for n in names) and any(n.endswith("LLC") for n in names)
    assert any("Trust" in n for n in names)
    assert any(x["mailing_address"] != x["address"] for x in leads)
    assert all(x["apn"] and x["county"] for x in leads)
    assert len({p["tz"] for x in leads for p in x["phones"]}) >= 6
    assert any(floor.other_properties(x["id"]) for x in leads)


def test_hostile_text_is_stored_literally(floor):
    names = [x["owner_name"] for x in floor.search()]
    assert "[bold]Robert[/bold] Tables" in names
    assert any("\x1b[" in n for n in names)
    assert any("[red]STOP[/red]" in r["body"] for r in floor.replies())


def test_alice_has_a_working_floor(floor):
    rep, now = demo.DEMO_REP, clock.stamp(NOW)
    mine = floor.search(rep, owner=rep)
    assert len(mine) >= 10
    assert [x for x in mine if x["followup_requested_at"] and x["next_call_at"] <= now]  # W18: due
    agenda = floor.agenda(rep)
    assert agenda and now < agenda[0]["appointment_at"] <= clock.stamp(NOW + timedelta(days=1))  # W4
    assert {x["dial_run"] for x in mine} >= {1, 2}  # W1: dial 1 and 2 of 3
    held = [x for x in mine if x["hold_until"]]
    assert held and now < held[0]["hold_until"] <= clock.stamp(NOW + timedelta(days=1))  # W9: runs out soon
    assert any(p["wrong_reports"] == 2 for x in mine for p in x["phones"])  # W12: 2 of 3
    assert [x for x in mine if x["contract_path"] and Path(x["contract_path"]).exists()]  # W6
    today = floor.kpis(day=NOW.date().isoformat(), rep=rep)[0]
    assert today["dials"] > 10 and today["contacts"] and today["offers"] and today["appointments"]


def test_other_reps_hold_leads_out_of_alices_sight(floor):
    bobs = floor.search(owner="bob")
    assert len(bobs) >= 5
    seen = {x["id"] for x in floor.search(demo.DEMO_REP)}
    assert not seen & {x["id"] for x in bobs}
    pending = floor.approvals(demo.DEMO_MANAGER)
    assert [(a["rep"], a["status"]) for a in pending] == [("carmen", "dead-deal")]  # W13
    assert floor.approvals("carmen", all_states=True)[0]["state"] in ("approved", "rejected")


def test_kills_outbox_and_replies(floor):
    dead = floor.search(dead=True)
    assert {"dead-deal", "already-sold", "wrong-number"} <= {x["status"] for x in dead}
    actions = floor.outbox(["pending"])
    assert {"text_underwriter", "appointment_booked", "send_contract_link", "deal_info_form"} <= {
        a["action"] for a in actions
    }
    replies = floor.replies()
    matched = [r for r in replies if r["lead_id"]]
    assert len(matched) >= 5 and any(r["lead_id"] is None for r in replies)
    for r in matched:
        assert r["from_number"] in {p["number"] for p in floor.lead(r["lead_id"])["phones"]}


def _dial_hours(svc: Service) -> list[int]:
    """Lead-local hour of every dial recorded."""
    found = rows(svc, "SELECT e.at, p.tz FROM events e JOIN phones p ON p.id = e.phone_id WHERE e.dial = 1")
    return [datetime.fromisoformat(at).astimezone(ZoneInfo(tz)).hour for at, tz in found]


def test_demo_dials_keep_calling_hours_b3_and_early_it_shows_yesterday(floor, tmp_path):
    assert _dial_hours(floor) and all(8 <= h < 21 for h in _dial_hours(floor))
    with opened(demo.ensure_demo(tmp_path / "leads.db", now=EARLY), EARLY) as early:
        assert all(8 <= h < 21 for h in _dial_hours(early))
        assert early.kpis(day=(EARLY - timedelta(days=1)).date().isoformat(), rep=demo.DEMO_REP)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "Pacific/Honolulu"])
def test_every_story_finds_a_lead_at_any_hour(zone):
    start = datetime(2026, 3, 7, tzinfo=ZoneInfo(zone))  # New York springs forward on the 8th
    base = demo._leads(start)
    for hour in range(48):
        shift = timedelta(hours=hour, minutes=17 * hour % 60)
        leads = [lead | {"imported": lead["imported"] + shift} for lead in base]
        now = start + shift
        floor = demo._Floor(None, demo._candidates(range(1, len(leads) + 1), leads), now, [now])
        floor._plan()
        assert len(floor.calls) > 100


def test_hardening_demo_opens_on_callable_leads_at_any_hour(tmp_path):
    """Tried outside US daytime, the demo's own clock still starts on a weekday afternoon."""
    for real in (datetime(2026, 11, 25, 4, 0, tzinfo=UTC), datetime(2026, 11, 28, 23, 0, tzinfo=UTC)):
        path = demo.ensure_demo(tmp_path / f"{real.hour}-{real.day}" / "leads.db", now=demo.afternoon(real))
        now = demo.demo_clock(path)
        local = now().astimezone(NY)
        assert local.weekday() < 5 and 13 <= local.hour < 19, local
        svc = Service.open(path, now=now)
        try:
            rows, _ = svc.queue(demo.DEMO_REP, ("pool", 0), 20)
            assert rows, "the demo's queue is empty"
        finally:
            svc.close()
