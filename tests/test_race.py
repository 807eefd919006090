"""W14 under contention: eight stations claim the same twenty pool leads at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from leadtui.service import Service, init_database

WORKER = Path(__file__).with_name("race_worker.py")


def test_w14_eight_processes_claim_twenty_leads_each_won_once(tmp_path):
    path = tmp_path / "leads.db"
    init_database(path, test_clock=True)
    svc = Service.open(path)
    reps = [f"rep{i}" for i in range(8)]
    for name in reps:
        svc.add_rep(name)
    ids = [
        svc.add_lead(owner_name=f"Owner {i}", address=f"{i} Race St", zip_code="33101")["id"]
        for i in range(20)
    ]
    svc.close()

    env = {
        **os.environ,
        "LEADTUI_DB": str(path),
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
        "LEADTUI_CONFIG_DIR": str(tmp_path / "config"),
    }
    env.pop("LEADTUI_CONFIG", None)
    start = time.time() + 3  # every worker is up and waiting before the gun
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(start), json.dumps(ids), rep],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for rep in reps
    ]
    results = {}
    for rep, proc in zip(reps, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[rep] = json.loads(out)

    svc = Service.open(path)
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
