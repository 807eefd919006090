"""Issue 16's inbox at the command line: `inbox --rep` routes replies, `reps handover`, `set --why`,
`followup --anyone` and `callbacks` (JSON shapes and exit codes)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, START, Clock, add_lead, add_reps, run_cli

from leadtui.service import Service, init_database
from leadtui.store.db import connect

pytestmark = pytest.mark.engines


def data(*args: str, input: str | None = None, code: int = 0):
    return json.loads(run_cli(*args, "--json", input=input, code=code).stdout)


@pytest.fixture
def floor(cli_env, floor_address):
    """alice's lead, newbie's lead and a pool lead, each with a reply; one reply matched to no lead."""
    path = floor_address
    init_database(path, "wholesale", test_clock=True)
    svc = Service(connect(path), now=Clock().now)
    add_reps(svc, START.date())
    ids = {}
    for key, rep in (("alices", REP), ("newbies", NEWBIE), ("pool", None)):
        lead = add_lead(svc, owner_name=f"Owner of {key}", address=f"{len(ids) + 1} {key} St")
        if rep:
            svc.claim(lead["id"], rep)
        ids[key] = lead["id"]
        svc.add_reply(lead["phones"][0]["number"], f"reply on {key}", START - timedelta(minutes=5))
    svc.add_reply("(305) 555-0199", "who is this", START - timedelta(minutes=1))
    svc.close()
    return ids


def test_w17_inbox_rep_lists_their_leads_and_the_pools_replies_never_another_reps(floor):
    mine = data("inbox", "--rep", REP)
    assert [r["body"] for r in mine] == ["reply on alices", "reply on pool", "who is this"]
    assert (mine[0]["owner_name"], mine[0]["address"], mine[0]["owner"]) == (
        "Owner of alices",
        "1 alices St",
        REP,
    )
    assert [r["body"] for r in data("inbox", "--rep", NEWBIE)] == [
        "reply on newbies",
        "reply on pool",
        "who is this",
    ]
    assert len(data("inbox", "--rep", MANAGER)) == len(data("inbox")) == 4
    shown = run_cli("inbox", "--rep", REP).stdout
    assert "Mon Nov 23" in shown and "Owner of alices, 1 alices St (alice)" in shown
    assert "reply on newbies" not in shown
    theirs = next(r["id"] for r in data("inbox", "--rep", NEWBIE) if r["body"] == "reply on newbies")
    refused = run_cli("inbox", "clear", str(theirs), "--rep", REP, code=1)
    assert "only newbie or a manager clears it" in refused.stderr
    run_cli("inbox", "clear", str(theirs), "--rep", NEWBIE)
    assert [r["body"] for r in data("inbox", "--rep", NEWBIE)] == ["reply on pool", "who is this"]


def test_w13_set_why_is_the_requests_reason(floor):
    out = data("set", str(floor["newbies"]), "dead-deal", "--rep", NEWBIE, "--why", "sold to a neighbour")
    [pending] = data("approvals", "--rep", MANAGER)
    assert pending["id"] == out["approval_id"] and pending["reason"] == "sold to a neighbour"
    assert pending["lead"]["owner_name"] == "Owner of newbies" and pending["stale"] is None
    assert "reason: sold to a neighbour" in run_cli("approvals", "--rep", MANAGER).stdout
    run_cli("set", str(floor["newbies"]), "needs-offer", "--rep", NEWBIE)
    assert data("approvals", "--rep", MANAGER)[0]["stale"] == "status needs-offer by newbie"
    assert "STALE (status needs-offer by newbie)" in run_cli("approvals", "--rep", MANAGER).stdout
    run_cli("approve", str(out["approval_id"]), "--rep", MANAGER, input=f"{PIN}\n", code=1)
    bad = run_cli("set", str(floor["pool"]), "dead-deal", "--rep", NEWBIE, "--why", "a\nb", code=2)
    assert "one line" in bad.stderr


def test_reps_handover_moves_a_reps_leads_and_callbacks_to_a_rep_or_the_pool(floor):
    run_cli("followup", str(floor["alices"]), "2 weeks", "--rep", REP)
    done = data("reps", "handover", REP, "--to", NEWBIE, "--rep", MANAGER, input=f"{PIN}\n")
    assert (done["rep"], done["to"], done["leads"], done["callbacks"]) == (REP, NEWBIE, 1, 1)
    assert done["lead_ids"] == [floor["alices"]]
    shown = data("show", str(floor["alices"]))
    assert (shown["owner"], shown["callback"]) == (NEWBIE, "mine")
    assert shown["events"][-1]["kind"] == "handover"
    pooled = data("reps", "handover", NEWBIE, "--rep", MANAGER, input=f"{PIN}\n")
    assert (pooled["to"], pooled["leads"], pooled["callbacks"]) == (None, 2, 1)
    assert data("show", str(floor["alices"]))["callback"] == "anyone"
    assert data("leads", "--owner", NEWBIE) == []
    run_cli("reps", "handover", REP, "--to", NEWBIE, "--rep", NEWBIE, input=f"{PIN}\n", code=1)  # no manager
    run_cli("reps", "handover", REP, "--to", NEWBIE, "--rep", MANAGER, input="000000\n", code=1)  # wrong PIN
    run_cli("reps", "handover", REP, "--to", NEWBIE, "--rep", MANAGER, code=2)  # no PIN on stdin
    run_cli("reps", "handover", "ghost", "--rep", MANAGER, input=f"{PIN}\n", code=2)
    run_cli("reps", "handover", REP, "--to", REP, "--rep", MANAGER, input=f"{PIN}\n", code=2)


def test_w18_followup_anyone_and_callbacks_list(floor):
    out = data("followup", str(floor["alices"]), "2 weeks", "--anyone", "--rep", REP)
    assert "back to the pool when due" in out["message"]
    [row] = data("callbacks", "--rep", REP)
    assert (row["lead_id"], row["kind"], row["scope"], row["section"], row["rep"]) == (
        floor["alices"],
        "callback",
        "anyone",
        "upcoming",
        REP,
    )
    assert data("callbacks", "--rep", NEWBIE) == []
    assert data("callbacks", "--rep", REP, "--days", "3") == []
    assert "callback (anyone)" in run_cli("callbacks", "--rep", MANAGER).stdout
    run_cli("callbacks", "--rep", REP, "--days", "-1", code=2)
