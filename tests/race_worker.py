"""One station in the claim race: waits for the start time, then claims every lead through the CLI."""

import contextlib
import io
import json
import random
import sys
import time

from leadtui.cli import cli

start, ids, rep = float(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
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
print(json.dumps(results))
