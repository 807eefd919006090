"""One floor, many stations (F1-F3): two Service instances, or several station processes, on one
real database file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import MANAGER, PIN, REP, START, add_lead

from leadtui.core.decide import Seen
from leadtui.errors import Refused
from leadtui.service import Service, init_database

pytestmark = pytest.mark.engines

BOB = "bob"
WORKER = Path(__file__).with_name("station_worker.py")


@pytest.fixture
def two(make_service):
    """alice's station and bob's, on one file."""
    alice = make_service()
    alice.add_rep(BOB, acting=MANAGER, acting_pin=PIN)
    return alice, make_service()


def pool_ids(svc: Service, rep: str) -> list[int]:
    return [r["id"] for r in svc.queue(rep, ("pool", 0), 100)[0]]


def test_f1_key_on_a_lead_taken_since_it_was_seen_is_refused_naming_the_taker(two):
    alice, bob = two
    lead = add_lead(alice)
    other = add_lead(alice)
    seen = Seen(lead["owner"], 1)  # what alice's screen showed
    bob.claim(lead["id"], BOB)
    with pytest.raises(Refused, match=f"lead {lead['id']} was taken by {BOB}"):
        alice.set_status(lead["id"], "not-interested", REP, seen=seen)
    assert alice.lead(lead["id"])["status"] == "new" and alice.lead(lead["id"])["owner"] == BOB
    assert alice.lead(other["id"])["status"] == "new"  # never applied to another lead
    # a key on a lead whose owner is unchanged goes through, on the phone that was shown
    out = alice.set_status(other["id"], "not-contacted", REP, seen=Seen(None, 1))
    assert "dial 1 of 3 on phone 1" in out.message


def test_f1_key_on_a_lead_whose_status_another_rep_changed_since_it_was_seen_is_refused(two):
    """bob's Not Interested started a cool-off; alice's screen still showed the lead at New: her
    Not Contacted must not go through (it would clear the cool-off), and says who changed it."""
    alice, bob = two
    lead = add_lead(alice)
    seen = Seen(None, 1, "new")  # what alice's screen showed
    bob.set_status(lead["id"], "not-interested", BOB)
    bob.release(lead["id"], BOB)  # back in the pool, as after his cool-off key
    after_bob = alice.lead(lead["id"])
    with pytest.raises(Refused, match=f"lead {lead['id']}'s status was changed by {BOB} since"):
        alice.set_status(lead["id"], "not-contacted", REP, seen=seen)
    assert alice.lead(lead["id"])["status"] == after_bob["status"]
    assert alice.lead(lead["id"])["cooloff_until"] == after_bob["cooloff_until"]
    # as her screen shows it now, the key is hers to press (the rules decide)
    shown = Seen(after_bob["owner"], 1, after_bob["status"])
    assert alice.set_status(lead["id"], "needs-offer", REP, seen=shown).lead_id == lead["id"]
    # her own change (it made the lead hers), still on its way to her screen, is no reason to refuse
    mine = Seen(REP, 1, after_bob["status"])
    assert alice.set_status(lead["id"], "not-interested", REP, seen=mine).lead_id == lead["id"]


def test_f1_undo_acts_on_the_lead_on_screen(two):
    alice, _ = two
    first, second = add_lead(alice), add_lead(alice)
    alice.set_status(first["id"], "needs-offer", REP)
    alice.set_status(second["id"], "needs-offer", REP)
    out = alice.undo(first["id"], REP, seen=Seen(REP))
    assert f"lead {first['id']}" in out.message
    assert alice.lead(first["id"])["status"] == "new"
    assert alice.lead(second["id"])["status"] == "needs-offer"


def test_f2_a_reserved_lead_is_skipped_by_other_queues_and_their_writes_are_refused(two):
    alice, bob = two
    leads = [add_lead(alice)["id"] for _ in range(3)]
    assert alice.reserve(REP, leads) == leads[0]
    assert leads[0] not in pool_ids(bob, BOB)
    assert leads[0] in pool_ids(alice, REP)  # her own station still lists it
    with pytest.raises(Refused, match=f"on {REP}'s screen"):
        bob.claim(leads[0], BOB)
    with pytest.raises(Refused, match=f"on {REP}'s screen"):
        bob.set_status(leads[0], "not-contacted", BOB)
    assert bob.reserve(BOB, leads) == leads[1]  # the first one free
    assert {r["lead_id"]: r["rep"] for r in alice.reservations()} == {leads[0]: REP, leads[1]: BOB}
    # moving on lets go of the previous lead; a reservation moves no ownership
    assert alice.reserve(REP, [leads[2]]) == leads[2]
    assert leads[0] in pool_ids(bob, BOB) and alice.lead(leads[0])["owner"] is None
    bob.claim(leads[0], BOB)


def test_f2_a_reservation_expires_by_itself(two, clock):
    alice, bob = two
    lead = add_lead(alice)["id"]
    alice.reserve(REP, [lead])
    clock.advance(seconds=alice.reserve_seconds + 1)
    assert lead in pool_ids(bob, BOB)
    bob.claim(lead, BOB)
    assert alice.lead(lead)["owner"] == BOB


def test_f2_no_reservation_of_a_lead_in_another_reps_hands(two):
    alice, bob = two
    lead = add_lead(alice)["id"]
    bob.claim(lead, BOB)
    assert alice.reserve(REP, [lead]) is None
    assert alice.reservations() == []


def running_clock():
    """A clock that starts at START (inside calling hours) and runs with the wall clock."""
    began = time.time()
    return lambda: START + timedelta(seconds=time.time() - began)


def _stations(
    path: Path | str, reps: list[str], hold: bool = False, lease: int = 120
) -> list[subprocess.Popen]:
    start = time.time() + 2  # every process is up and waiting before the gun
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                str(path),
                str(start),
                rep,
                "hold" if hold else "go",
                str(lease),
                START.isoformat(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rep in reps
    ]


def _floor(path: Path | str, reps: list[str], leads: int) -> Path | str:
    """The floor at `path` (a file or a postgresql:// address) with `reps` and `leads` Dallas leads."""
    init_database(path)
    svc = Service.open(path)
    for name in reps:
        svc.add_rep(name)
    for i in range(leads):
        svc.add_lead(
            owner_name=f"Owner {i}",
            address=f"{i} Station St",
            state="TX",
            zip_code="75201",
            phones=[f"+1214555{1000 + i}"],
        )
    svc.close()
    return path


def test_f2_stations_that_open_at_once_get_different_leads(floor_address):
    reps = [f"rep{i}" for i in range(6)]
    path = _floor(floor_address, reps, 10)
    got = []
    for proc in _stations(path, reps):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        got.append(json.loads(out)["lead"])
    assert None not in got and len(set(got)) == len(reps), got


def test_f2_a_killed_stations_reservation_expires_and_its_lead_returns_to_the_queues(floor_address):
    path = _floor(floor_address, [REP, BOB], 3)
    (proc,) = _stations(path, [REP], hold=True, lease=1)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        held = json.loads(line)["lead"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        bob = Service.open(path, now=running_clock())
        try:
            assert held not in pool_ids(bob, BOB)  # still within its lease
            time.sleep(2.1)  # leases are kept to the second
            assert held in pool_ids(bob, BOB)
            assert bob.reserve(BOB, [held]) == held
        finally:
            bob.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_f2_manager_sees_who_holds_what(two):
    alice, bob = two
    lead = add_lead(alice)
    alice.reserve(REP, [lead["id"]])
    held = bob.reservations()
    assert [(r["lead_id"], r["rep"], r["owner_name"]) for r in held] == [
        (lead["id"], REP, lead["owner_name"])
    ]
    assert held[0]["station"] == alice.station


def test_f2_reservations_command_lists_who_holds_what(cli_env, floor_address):
    from conftest import run_cli

    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP)
    run_cli("add", "--owner", "Jane Doe", "--address", "1 Main St", "--phone", "(305) 555-0101")
    assert json.loads(run_cli("reservations", "--json").stdout) == []
    svc = Service.open(floor_address)
    try:
        svc.reserve(REP, [1])
        station = svc.station
    finally:
        svc.close()
    got = json.loads(run_cli("reservations", "--json").stdout)
    assert [(r["lead_id"], r["rep"], r["owner_name"], r["station"]) for r in got] == [
        (1, REP, "Jane Doe", station)
    ]
    assert "lead 1" in run_cli("reservations").stdout
