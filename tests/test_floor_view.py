"""The live floor view (issue 16) through the Service, on one real floor file: each station's state
follows what its own writes leave (its reservation, its open call), its heartbeat and pauses; a
manager reads every station with today's KPIs and the last outcome. And `leadtui floor --json`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, START, add_lead, run_cli

from leadtui import config
from leadtui.clock import parse_iso
from leadtui.core.stations import HEARTBEAT_SECONDS, OFFLINE_AFTER, SHOWN_FOR
from leadtui.errors import LeadtuiError, Refused
from leadtui.service import Service, init_database
from leadtui.store.db import connect

pytestmark = pytest.mark.engines


@pytest.fixture
def floor(make_service):
    """Two stations on one file (alice's, newbie's) and a manager's reader, each its own Service.
    Their leases outlast each test (a running station renews its own)."""
    alice = make_service(station="alice-station", reserve_seconds=3600)
    newbie = make_service(station="newbie-station", reserve_seconds=3600)
    boss = make_service(station="boss-cli")
    alice.station_online(REP)
    newbie.station_online(NEWBIE)
    return alice, newbie, boss


def wait(clock, *stations: Service, **delta: float) -> None:
    """Time passes on a live floor: each station beats every HEARTBEAT_SECONDS meanwhile."""
    left = timedelta(**delta).total_seconds()
    while left > 0:
        step = min(left, HEARTBEAT_SECONDS)
        clock.advance(seconds=step)
        left -= step
        for svc in stations:
            svc.station_beat()


def station(boss: Service, name: str) -> dict:
    return next(s for s in boss.floor(MANAGER) if s["station"] == name)


def test_floor_a_stations_state_follows_its_lead_and_its_call_with_time_in_state(floor, clock):
    alice, _, boss = floor
    lead = add_lead(alice, owner_name="Jane Doe")
    assert station(boss, "alice-station")["state"] == "idle"
    assert alice.reserve(REP, [lead["id"]]) == lead["id"]
    on = station(boss, "alice-station")
    assert (on["state"], on["label"], on["lead_id"], on["owner_name"]) == (
        "lead",
        "on a lead",
        lead["id"],
        "Jane Doe",
    )
    wait(clock, alice, seconds=75)
    assert station(boss, "alice-station")["seconds"] == 75
    call = alice.place_call(lead["id"], REP, system="baresip")
    dialling = station(boss, "alice-station")
    assert (dialling["state"], dialling["call_id"], dialling["seconds"]) == ("dialling", call["id"], 0)
    alice.call_event(call["id"], "ringing")
    assert station(boss, "alice-station")["state"] == "dialling"
    wait(clock, alice, seconds=8)
    alice.call_event(call["id"], "answered")
    wait(clock, alice, minutes=2, seconds=3)
    talking = station(boss, "alice-station")
    assert (talking["state"], talking["label"], talking["seconds"]) == (
        "call",
        "in a call",
        123,
    )  # its duration
    alice.call_event(call["id"], "ended", reason="completed")
    wait(clock, alice, seconds=20)
    wrapping = station(boss, "alice-station")
    assert (wrapping["state"], wrapping["label"], wrapping["seconds"]) == ("wrapup", "wrapping up", 20)
    alice.set_status(lead["id"], "needs-offer", REP, call_id=call["id"])
    after = station(boss, "alice-station")
    assert (after["state"], after["lead_id"], after["call_id"], after["seconds"]) == (
        "lead",
        lead["id"],
        None,
        0,
    )
    assert (after["last_outcome"], after["last_outcome_label"]) == ("needs-offer", "Needs Offer")
    alice.unreserve()
    assert station(boss, "alice-station")["state"] == "idle"


def test_floor_a_call_stays_the_state_while_the_rep_looks_at_another_lead(floor):
    alice, _, boss = floor
    first, second = add_lead(alice), add_lead(alice)
    alice.reserve(REP, [first["id"]])
    call = alice.place_call(first["id"], REP, system="baresip")
    alice.call_event(call["id"], "answered")
    alice.reserve(REP, [second["id"]])  # j while on the phone
    on = station(boss, "alice-station")
    assert (on["state"], on["lead_id"], on["call_id"]) == ("call", first["id"], call["id"])


def test_floor_undoing_a_calls_outcome_puts_the_station_back_to_wrapping_up(floor):
    alice, _, boss = floor
    lead = add_lead(alice)
    alice.reserve(REP, [lead["id"]])
    call = alice.place_call(lead["id"], REP, system="baresip")
    alice.call_event(call["id"], "ended", reason="no-answer")
    alice.set_status(lead["id"], "not-contacted", REP, call_id=call["id"])
    assert station(boss, "alice-station")["state"] == "lead"
    alice.undo(lead["id"], REP)
    assert station(boss, "alice-station")["state"] == "wrapup"  # D3: the call waits for an outcome again


def test_floor_no_heartbeat_is_offline_a_closed_station_at_once_and_a_live_one_hides_it(
    floor, clock, make_service
):
    alice, newbie, boss = floor
    clock.advance(seconds=OFFLINE_AFTER.total_seconds() - 1)
    alice.station_beat()
    clock.advance(seconds=2)
    states = {s["station"]: s for s in boss.floor(MANAGER)}
    assert states["alice-station"]["state"] == "idle"
    lost = states["newbie-station"]
    assert (lost["state"], lost["label"]) == ("offline", "offline")  # crashed: no heartbeat since START
    assert parse_iso(lost["since"]) == START and lost["seconds"] == OFFLINE_AFTER.total_seconds() + 1
    newbie.station_beat()
    assert station(boss, "newbie-station")["state"] == "idle"  # back (a long lock, not a crash)
    alice.station_closed()
    closed = station(boss, "alice-station")
    assert (closed["state"], closed["seconds"], closed["lead_id"]) == ("offline", 0, None)
    alice.station_beat()  # a closed station stays closed
    assert station(boss, "alice-station")["state"] == "offline"
    again = make_service(station="alice-again")
    again.station_online(REP)
    assert [s["station"] for s in boss.floor(MANAGER) if s["rep"] == REP] == ["alice-again"]
    again.station_closed()
    clock.advance(minutes=1)
    assert [s["station"] for s in boss.floor(MANAGER) if s["rep"] == REP] == ["alice-again"]  # her latest
    clock.advance(seconds=SHOWN_FOR.total_seconds())
    assert [s["station"] for s in boss.floor(MANAGER) if s["rep"] == REP] == []


def test_floor_pause_is_an_event_without_a_lead_lets_the_lead_go_and_refuses_a_call(floor, clock):
    alice, newbie, boss = floor
    lead = add_lead(alice)
    alice.reserve(REP, [lead["id"]])
    out = alice.pause(REP, "lunch")
    assert out.message == "paused: lunch" and out.lead_id is None
    event = alice.db.conn.execute("SELECT * FROM events WHERE id = ?", (out.event_id,)).fetchone()
    assert (event["lead_id"], event["rep"], event["kind"]) == (None, REP, "pause")
    assert json.loads(event["data"]) == {"reason": "lunch", "station": "alice-station"}
    paused = station(boss, "alice-station")
    assert (paused["state"], paused["label"], paused["pause_reason"], paused["lead_id"]) == (
        "paused",
        "paused: lunch",
        "lunch",
        None,
    )
    assert newbie.reserve(NEWBIE, [lead["id"]]) == lead["id"]  # the paused station's lead is free
    newbie.unreserve()
    with pytest.raises(Refused, match=r"paused \(lunch\): resume first"):
        alice.place_call(lead["id"], REP, system="manual")
    assert alice.calls() == []
    with pytest.raises(Refused, match=r"already paused \(lunch\)"):
        alice.pause(REP, "break")
    wait(clock, alice, minutes=31, seconds=5)
    assert station(boss, "alice-station")["seconds"] == 31 * 60 + 5
    back = alice.resume(REP)
    assert back.message == "resumed after 31:05 on lunch"
    event = alice.db.conn.execute("SELECT * FROM events WHERE id = ?", (back.event_id,)).fetchone()
    assert (event["lead_id"], event["kind"]) == (None, "resume")
    assert json.loads(event["data"]) == {"reason": "lunch", "seconds": 1865, "station": "alice-station"}
    assert station(boss, "alice-station")["state"] == "idle"
    with pytest.raises(Refused, match="not paused"):
        alice.resume(REP)
    alice.reserve(REP, [lead["id"]])
    assert alice.place_call(lead["id"], REP, system="manual")["open"]


def test_floor_no_pause_with_a_call_waiting_for_its_outcome_and_a_reason_is_one_short_line(floor):
    alice, _, _ = floor
    lead = add_lead(alice)
    alice.reserve(REP, [lead["id"]])
    call = alice.place_call(lead["id"], REP, system="baresip")
    alice.call_event(call["id"], "ended", reason="busy")
    with pytest.raises(Refused, match=f"lead {lead['id']}'s call is still open"):
        alice.pause(REP, "break")
    alice.set_status(lead["id"], "not-contacted", REP, call_id=call["id"])
    for bad, why in (("  ", "needs a reason"), ("x" * 41, "at most 40"), ("a\nb", "one line")):
        with pytest.raises(LeadtuiError, match=why):
            alice.pause(REP, bad)
    assert alice.pause(REP, "break").message == "paused: break"


def test_floor_closing_while_paused_ends_the_pause_with_an_event(floor, clock):
    alice, _, _ = floor
    alice.pause(REP, "meeting")
    clock.advance(minutes=5)
    alice.station_closed()
    kinds = alice.db.conn.execute(
        "SELECT kind, data FROM events WHERE kind IN ('pause', 'resume') ORDER BY id"
    ).fetchall()
    assert [k["kind"] for k in kinds] == ["pause", "resume"]
    assert json.loads(kinds[1]["data"]) == {
        "reason": "meeting",
        "seconds": 300,
        "station": "alice-station",
        "closed": True,
    }


def test_floor_a_cli_call_has_no_station_row_and_cannot_pause(make_service):
    svc = make_service()
    with pytest.raises(LeadtuiError, match="only a running station pauses"):
        svc.pause(REP, "break")
    assert svc.floor(MANAGER) == []


def test_floor_shows_todays_kpis_and_the_last_outcome_not_undone(floor, clock):
    alice, _, boss = floor
    leads = [add_lead(alice) for _ in range(3)]
    alice.set_status(leads[0]["id"], "not-contacted", REP)
    alice.set_status(leads[1]["id"], "needs-offer", REP)
    alice.set_status(leads[2]["id"], "offer-made", REP, amount=125000)
    mine = station(boss, "alice-station")
    assert (mine["dials"], mine["offers"], mine["last_outcome"]) == (3, 1, "offer-made")
    assert mine["contacts"] == sum(
        k["contacts"] for k in boss.kpis(day=clock.now().date().isoformat(), rep=REP)
    )
    alice.undo(leads[2]["id"], REP)
    mine = station(boss, "alice-station")
    assert (mine["offers"], mine["last_outcome"], mine["last_outcome_lead"]) == (
        0,
        "needs-offer",
        leads[1]["id"],
    )
    assert parse_iso(mine["last_outcome_at"]) == clock.now()
    theirs = station(boss, "newbie-station")
    assert (theirs["dials"], theirs["last_outcome"]) == (0, None)


def test_floor_w14_only_managers_see_the_floor_view(floor):
    alice, _, boss = floor
    with pytest.raises(Refused, match="only a manager sees the floor view"):
        alice.floor(REP)
    assert {s["rep"] for s in boss.floor(MANAGER)} == {REP, NEWBIE}
    assert len(boss.floor(None)) == 2  # no rep: the admin view, as every other read


def test_floor_pause_codes_config_names_the_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[floor]\npause_codes = ["break", "lunch", "coaching"]\n', "utf-8")
    assert config.load(str(path)).floor["pause_codes"] == ["break", "lunch", "coaching"]
    for text, why in (
        ("pause_codes = []", "floor.pause_codes must be a non-empty array of strings"),
        ('pause_codes = ["break", "Break"]', "floor.pause_codes has a code twice"),
        ('pause_codes = ["break", ""]', "floor.pause_codes has a bad code: a pause needs a reason"),
        ("pause_codes = 3", "floor.pause_codes must be a non-empty array of strings"),
    ):
        path.write_text(f"[floor]\n{text}\n", "utf-8")
        with pytest.raises(LeadtuiError, match=why):
            config.load(str(path))


# --- the command line -------------------------------------------------------------------------------


def cli_floor(path) -> int:
    """A floor at `path` (the CLI's: the test's floor_address) with alice's station on a lead and
    newbie's paused; returns the lead's id."""
    init_database(path, "wholesale", test_clock=True)
    svc = Service(connect(path), now=lambda: START, station="alice-station")
    svc.add_rep(REP, started=(START - timedelta(days=400)).date())
    svc.add_rep(NEWBIE, started=START.date())
    svc.add_rep(MANAGER, manager=True, pin=PIN)
    lead = add_lead(svc, owner_name='Ann "[b]Bold[/b]" Lee')
    svc.station_online(REP)
    svc.reserve(REP, [lead["id"]])
    svc.set_status(lead["id"], "not-contacted", REP)
    other = Service(connect(path), now=lambda: START, station="newbie-station")
    other.station_online(NEWBIE)
    other.pause(NEWBIE, "training")
    svc.close()
    other.close()
    return lead["id"]


def test_cli_floor_json_is_a_list_of_stations_for_a_manager(cli_env, floor_address):
    lead_id = cli_floor(floor_address)
    result = run_cli("floor", "--json", "--rep", MANAGER)
    stations = json.loads(result.stdout)
    assert [s["station"] for s in stations] == ["alice-station", "newbie-station"]
    alice, newbie = stations
    assert alice == alice | {
        "rep": REP,
        "state": "lead",
        "label": "on a lead",
        "lead_id": lead_id,
        "owner_name": 'Ann "[b]Bold[/b]" Lee',
        "call_id": None,
        "pause_reason": None,
        "seconds": 0,
        "dials": 1,
        "contacts": 0,
        "appointments": 0,
        "offers": 0,
        "last_outcome": "not-contacted",
        "last_outcome_label": "Not Contacted",
    }
    assert newbie == newbie | {"state": "paused", "label": "paused: training", "pause_reason": "training"}
    for s in stations:
        for key in ("since", "started_at", "heartbeat_at"):
            assert parse_iso(s[key]) == START and s[key].endswith("+00:00")  # ISO, with its offset
    assert datetime.fromisoformat(alice["last_outcome_at"]) == START
    human = run_cli("floor", "--rep", MANAGER).stdout.splitlines()
    assert human[0].startswith(f"{REP} ") and f"lead {lead_id} Ann" in human[0] and "dials 1" in human[0]
    assert "paused: training" in human[1]


def test_cli_floor_w14_a_rep_is_refused_in_one_line(cli_env, floor_address):
    cli_floor(floor_address)
    result = run_cli("floor", "--json", "--rep", REP, code=1)
    assert result.stdout == ""
    assert result.stderr.strip() == "refused: only a manager sees the floor view (W14)"
