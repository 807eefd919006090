"""One station in a race; the floor is env LEADTUI_DB (a file or a postgresql:// address). Waits
for the start time, then:

    race_worker.py claim START IDS REP          claims every lead of IDS (JSON) through the CLI
    race_worker.py press START LEAD REP COUNT   presses Not Contacted COUNT times on one lead

and prints what each try gave (JSON)."""

import contextlib
import io
import json
import os
import random
import sys
import time

from leadtui.cli import cli
from leadtui.clock import parse_iso
from leadtui.core.calling import CallingRules
from leadtui.errors import LeadtuiError
from leadtui.service import Service

mode, start = sys.argv[1], float(sys.argv[2])


def claims(ids: list[int], rep: str) -> list[dict]:
    random.Random(rep).shuffle(ids)
    while time.time() < start:
        time.sleep(0.001)
    results = []
    for lead_id in ids:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                cli.main(["claim", str(lead_id), "--rep", rep], prog_name="leadtui")
            except SystemExit as exc:
                code = exc.code
        results.append({"lead": lead_id, "code": code, "stderr": err.getvalue()})
    return results


def presses(lead_id: int, rep: str, count: int) -> list[dict]:
    """Not Contacted, again and again: no 24-hour cap (the race is the point), the test's moment."""
    moment = parse_iso(os.environ["LEADTUI_NOW"])
    rules = CallingRules(max_per_phone_24h=10**6)
    svc = Service.open(os.environ["LEADTUI_DB"], busy_timeout_ms=60_000, now=lambda: moment, rules=rules)
    while time.time() < start:
        time.sleep(0.001)
    results = []
    try:
        for _ in range(count):
            try:
                out = svc.set_status(lead_id, "not-contacted", rep)
                results.append({"event": out.event_id, "message": out.message})
            except LeadtuiError as exc:
                results.append({"error": str(exc)})
    finally:
        svc.close()
    return results


if mode == "claim":
    print(json.dumps(claims(json.loads(sys.argv[3]), sys.argv[4])))
else:
    print(json.dumps(presses(int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))))
