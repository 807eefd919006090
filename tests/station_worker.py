"""One station process for the reservation tests: opens the floor (a file or a postgresql://
address), lists its queue at the start time, reserves the first lead free from the top, prints
it, then (with hold) waits to be killed. Its clock starts at the given time and runs."""

import json
import sys
import time
from datetime import timedelta

from leadtui.clock import parse_iso
from leadtui.service import Service

path, start, rep, hold, lease, at = sys.argv[1:7]
start, hold, began = float(start), hold == "hold", time.time()
svc = Service.open(
    path, reserve_seconds=int(lease), now=lambda: parse_iso(at) + timedelta(seconds=time.time() - began)
)
while time.time() < start:
    time.sleep(0.001)
rows, _ = svc.queue(rep, ("pool", 0), 50)
got = svc.reserve(rep, [r["id"] for r in rows])
print(json.dumps({"rep": rep, "lead": got}), flush=True)
if hold:
    time.sleep(600)
