"""Stations racing in separate processes on one floor (a file, or a PostgreSQL server): W14's
claim, where each lead is won exactly once, and W1's Not Contacted pressed on one lead by eight
stations at once, where no dial is lost (each write reads the count the one before it left)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import START, add_lead

from leadtui.service import Service, init_database

pytestmark = pytest.mark.engines

WORKER = Path(__file__).with_name("race_worker.py")


def race(
    tmp_path: Path, address: str | Path, runs: dict[str, list[str]], **env: str
) -> dict[str, list[dict]]:
    """Each rep's worker (`runs`: rep -> race_worker arguments after the start time) started at
    once; what each printed."""
    env = {
        **os.environ,
        "LEADTUI_DB": str(address),
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
        "LEADTUI_CONFIG_DIR": str(tmp_path / "config"),
        **env,
    }
    env.pop("LEADTUI_CONFIG", None)
    start = time.time() + 3  # every worker is up and waiting before the gun
    procs = {
        rep: subprocess.Popen(
            [sys.executable, str(WORKER), args[0], str(start), *args[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for rep, args in runs.items()
    }
    results = {}
    for rep, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[rep] = json.loads(out)
    return results


def test_w14_eight_processes_claim_twenty_leads_each_won_once(tmp_path, floor_address):
    init_database(floor_address, test_clock=True)
    svc = Service.open(floor_address)
    reps = [f"rep{i}" for i in range(8)]
    for name in reps:
        svc.add_rep(name)
    ids = [
        svc.add_lead(owner_name=f"Owner {i}", address=f"{i} Race St", zip_code="33101")["id"]
        for i in range(20)
    ]
    svc.close()

    results = race(tmp_path, floor_address, {rep: ["claim", json.dumps(ids), rep] for rep in reps})

    svc = Service.open(floor_address)
    try:
        for lead_id in ids:
            winners = [rep for rep in reps for r in results[rep] if r["lead"] == lead_id and r["code"] == 0]
            assert len(winners) == 1, (lead_id, winners)
            assert svc.lead(lead_id)["owner"] == winners[0]
            for rep in reps:
                for r in results[rep]:
                    if r["lead"] == lead_id and rep != winners[0]:
                        assert r["code"] == 1, r
                        assert f"held by {winners[0]}" in r["stderr"], r
                        assert "locked" not in r["stderr"]
            claims = [e for e in svc.lead(lead_id, events=True)["events"] if e["kind"] == "claim"]
            assert len(claims) == 1
    finally:
        svc.close()


def test_w1_eight_processes_press_not_contacted_on_one_lead_and_no_dial_is_lost(tmp_path, floor_address):
    presses, phones = 25, 4
    init_database(floor_address, test_clock=True)
    svc = Service.open(floor_address, now=lambda: START)
    reps = [f"rep{i}" for i in range(8)]
    for name in reps:
        svc.add_rep(name)
    lead = add_lead(svc, phones=phones)
    svc.close()

    results = race(
        tmp_path,
        floor_address,
        {rep: ["press", str(lead["id"]), rep, str(presses)] for rep in reps},
        LEADTUI_NOW=START.isoformat(),
    )

    assert [r for rep in reps for r in results[rep] if "error" in r] == []
    total = presses * len(reps)
    svc = Service.open(floor_address, now=lambda: START)
    try:
        dials = [
            json.loads(row["data"])
            for row in svc.db.conn.execute(
                "SELECT data FROM events WHERE lead_id = ? AND dial = 1 ORDER BY id", (lead["id"],)
            )
        ]
        # every press is a dial, and each one counted on from the one before: 1, 2, 3 on phone 1, then phone 2, ...
        assert [(d["phone"], d["attempt"]) for d in dials] == [
            (n // 3 % phones + 1, n % 3 + 1) for n in range(total)
        ]
        assert sorted(r["event"] for rep in reps for r in results[rep]) == sorted(
            row[0]
            for row in svc.db.conn.execute(
                "SELECT id FROM events WHERE lead_id = ? AND dial = 1", (lead["id"],)
            )
        )
        got = svc.db.conn.execute(
            "SELECT cur_phone, dial_run FROM leads WHERE id = ?", (lead["id"],)
        ).fetchone()
        assert tuple(got) == (total // 3 % phones + 1, total % 3)
    finally:
        svc.close()
