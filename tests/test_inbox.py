"""W17 drip replies: `inbox import` (CSV or JSON lines), `inbox`, `inbox clear`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from leadtui.store.db import connect

pytestmark = pytest.mark.engines

SAMPLES = Path(__file__).parent / "data" / "samples"


@pytest.fixture
def env(cli_env):
    run("init", "--test-clock")
    run("reps", "add", "alice", "--started", "2025-01-01")
    return cli_env


run = run_cli


def test_w17_sample_replies_are_matched_to_leads_by_phone(env, floor_address):
    for name in ("propstream_export.csv", "batchleads_export.csv", "drip_replies.csv"):
        shutil.copy(SAMPLES / name, env / name)
    run("import", str(env / "propstream_export.csv"))
    run("import", str(env / "batchleads_export.csv"))
    summary = json.loads(run("inbox", "import", str(env / "drip_replies.csv"), "--json").stdout)
    replies = json.loads(run("inbox", "--json").stdout)
    db = connect(floor_address)
    try:
        known = {r[0] for r in db.conn.execute("SELECT number FROM phones")}
        owner = {
            r[0]: r[1] for r in db.conn.execute("SELECT number, min(lead_id) FROM phones GROUP BY number")
        }
    finally:
        db.close()
    assert summary["added"] == len(replies) == 16 and summary["rejected"] == 0
    assert summary["matched"] == sum(1 for r in replies if r["from_number"] in known) > 0
    for r in replies:
        assert r["lead_id"] == owner.get(r["from_number"])
    assert any(r["body"] == "[red]STOP[/red] texting me" for r in replies)  # stored exactly
    again = json.loads(run("inbox", "import", str(env / "drip_replies.csv"), "--json").stdout)
    assert (again["added"], again["duplicates"]) == (0, 16)


def test_w17_json_lines_bad_lines_rejected_and_bodies_shown_literally(env):
    lines = [
        {
            "from": "(305) 555-0101",
            "body": "\x1b]0;owned\x07\x1b[31mhi[/red]",
            "received_at": "2026-11-20T10:00:00Z",
        },
        {"From": "305.555.0102", "Body": "call me", "ReceivedAt": "2026-11-20T11:00:00-05:00"},
        {"from": "not a phone", "body": "x", "received_at": "2026-11-20T10:00:00Z"},
        {"from": "3055550103", "body": "no time"},
    ]
    path = env / "replies.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    summary = json.loads(run("inbox", "import", str(path), "--json").stdout)
    assert (summary["added"], summary["rejected"]) == (2, 3)
    assert [r["line"] for r in summary["rejects"]] == [3, 4, 5]
    shown = run("inbox").stdout
    assert "\x1b" not in shown and "\x07" not in shown and "\\x1b[31mhi[/red]" in shown
    replies = json.loads(run("inbox", "--json").stdout)
    assert replies[0]["body"] == lines[0]["body"]


def test_w17_clear_marks_handled_and_removes_from_the_list(env):
    path = env / "r.csv"
    path.write_text(
        "From,Body,Received At\n3055550101,Stop,2026-11-20T10:00:00Z\n3055550102,Hi,2026-11-20T11:00:00Z\n"
    )
    run("inbox", "import", str(path))
    first = json.loads(run("inbox", "--json").stdout)[0]["id"]
    run("inbox", "clear", str(first), "--rep", "alice")
    assert [r["body"] for r in json.loads(run("inbox", "--json").stdout)] == ["Hi"]
    assert run("inbox", "clear", str(first), "--rep", "alice", code=1).stderr.startswith("refused:")
    run("inbox", "clear", "999", "--rep", "alice", code=2)


def test_w17_a_file_without_the_columns_is_exit_2(env):
    path = env / "r.csv"
    path.write_text("Number,Text\n3055550101,Stop\n")
    assert "Received At" in run("inbox", "import", str(path), code=2).stderr
