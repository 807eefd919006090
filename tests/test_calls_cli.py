"""`leadtui calls`, `leadtui note`, and the call log in `show` and `report kpi`: exit codes, strict
JSON, one-line errors, outside text shown literally (D2, D3, D5, W14, W20)."""

from __future__ import annotations

import json
import os

import pytest
from conftest import Clock, run_cli

from leadtui.service import Service
from leadtui.store.db import connect

pytestmark = pytest.mark.engines

TRICKY = "[bold red]call back[/] \x1b[31mafter 5\x1b[0m \u202eevil\u202c\nline two"
CALL_FIELDS = {
    "id",
    "lead_id",
    "phone",
    "number",
    "rep",
    "station",
    "system",
    "remote_id",
    "placed_at",
    "ringing_at",
    "answered_at",
    "ended_at",
    "duration",
    "end_reason",
    "detail",
    "outcome",
    "notes",
    "recording",
    "open",
    "reported",
}
run = run_cli


def _no_constant(name: str):
    raise ValueError(f"not strict JSON: {name}")


def data(*args: str, code: int = 0):
    """The command's stdout as strict JSON (no NaN or Infinity)."""
    return json.loads(run(*args, "--json", code=code).stdout, parse_constant=_no_constant)


@pytest.fixture
def floor(cli_env):
    """alice and newbie (reps), boss (manager); lead 1 alice's, lead 2 in the pool."""
    run("init", "--test-clock")
    run("reps", "add", "alice", "--started", "2025-01-01")
    run("reps", "add", "newbie")
    run("reps", "add", "boss", "--manager", input="482916\n")
    for n in (1, 2):
        run("add", "--owner", f"Owner {n}", "--phone", f"(305) 555-01{n:02d}", "--address", f"{n} Main St",
            "--state", "FL")  # fmt: skip
    run("claim", "1", "--rep", "alice")
    return cli_env


def station(env) -> Service:
    """A station on the CLI's floor, at the CLI's clock."""
    return Service(connect(os.environ["LEADTUI_DB"]), now=Clock().now)


def test_d2_calls_lists_the_log_as_strict_json(floor):
    run("set", "1", "not-contacted", "--rep", "alice")
    (call,) = data("calls", "--rep", "alice")
    assert set(call) == CALL_FIELDS
    assert (call["lead_id"], call["phone"], call["number"], call["rep"]) == (1, 1, "+13055550101", "alice")
    assert (call["outcome"], call["open"], call["reported"], call["system"]) == (
        "not-contacted",
        False,
        True,
        "manual",
    )
    assert data("calls", "--lead", "2") == []
    human = run("calls")
    assert "#1" in human.stdout and "not-contacted" in human.stdout and "1 call(s)" in human.stderr


def test_d3_calls_open_lists_the_floors_open_calls(floor):
    svc = station(floor)
    try:
        placed = svc.place_call(1, "alice", system="baresip")
        svc.call_event(placed["id"], "answered")
    finally:
        svc.close()
    run("set", "1", "needs-offer", "--rep", "alice")  # another station: not the open call's outcome
    (open_call,) = data("calls", "--open")
    assert (open_call["id"], open_call["open"], open_call["outcome"]) == (placed["id"], True, None)
    assert "OPEN: no outcome yet" in run("calls", "--open").stdout
    assert len(data("calls")) == 1


def test_d2_calls_since(floor):
    run("set", "1", "not-contacted", "--rep", "alice")
    assert len(data("calls", "--since", "2026-11-23")) == 1
    assert data("calls", "--since", "2026-11-24") == []
    assert len(data("calls", "--since", "2026-11-23T14:59:00-05:00")) == 1
    message = run("calls", "--since", "last tuesday", code=2).stderr
    assert "--since: not an ISO-8601 date or time" in message


def test_w14_calls_as_a_rep_sees_only_what_they_may(floor, monkeypatch):
    run("set", "1", "not-contacted", "--rep", "alice")  # alice's lead
    run("set", "2", "not-contacted", "--rep", "newbie")  # a pool lead
    assert [c["lead_id"] for c in data("calls", "--rep", "alice")] == [1]
    assert [c["lead_id"] for c in data("calls", "--rep", "newbie")] == [2]
    monkeypatch.setenv("LEADTUI_REP", "newbie")  # newbie acting, no filter: the pool's calls only
    assert [c["lead_id"] for c in data("calls")] == [2]
    assert run("calls", "--lead", "1", code=1).stderr.strip() == (
        "refused: lead 1 is held by alice: only they and managers see it (W14)"
    )
    monkeypatch.setenv("LEADTUI_REP", "boss")  # a manager sees the floor
    assert [c["lead_id"] for c in data("calls")] == [1, 2]
    run("calls", "--rep", "nobody", code=2)


def test_d5_note_stores_the_text_exactly_and_show_prints_it_literally(floor):
    out = data("note", "1", TRICKY, "--rep", "alice")
    assert out["lead_id"] == 1 and out["message"] == "note saved on lead 1" and out["event_id"]
    (note,) = [e for e in data("show", "1")["events"] if e["kind"] == "note"]
    assert note["data"] == {"text": TRICKY} and note["rep"] == "alice"
    shown = run("show", "1").stdout
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "[bold red]call back[/] \\x1b[31mafter 5\\x1b[0m \\u202eevil\\u202c" in shown
    line_two = next(line for line in shown.splitlines() if line.strip() == "line two")
    assert line_two.startswith(" " * 40)  # the note's second line stays under its first


def test_d5_show_lists_the_leads_calls_with_their_notes(floor):
    svc = station(floor)
    try:
        placed = svc.place_call(1, "alice", system="baresip")
        svc.note(1, "alice", TRICKY, call_id=placed["id"])
    finally:
        svc.close()
    lead = data("show", "1")
    assert [c["id"] for c in lead["calls"]] == [placed["id"]] and lead["calls"][0]["notes"] == TRICKY
    shown = run("show", "1").stdout
    assert "calls (1)" in shown and "\x1b" not in shown and "\\u202eevil" in shown
    assert "OPEN: no outcome yet" in shown
    listed = run("calls").stdout
    assert "notes: [bold red]call back[/] \\x1b[31m" in listed and "\x1b" not in listed


def test_d5_note_too_long_is_one_line_and_exit_2(floor):
    message = run("note", "1", "x" * 4001, "--rep", "alice", code=2).stderr
    assert message.strip() == "error: a note is at most 4,000 characters; this one has 4,001"
    run("note", "1", "   ", "--rep", "alice", code=2)
    run("note", "99", "hello", "--rep", "alice", code=2)
    run("note", "1", "hello", code=2)  # who is writing it?
    assert [e for e in data("show", "1")["events"] if e["kind"] == "note"] == []


def test_w14_note_on_another_reps_lead_is_refused_exit_1(floor):
    message = run("note", "1", "hello", "--rep", "newbie", code=1).stderr
    assert message.strip().startswith("refused: lead 1 is held by alice (W14)")


def test_d5_note_on_a_call(floor):
    svc = station(floor)
    try:
        placed = svc.place_call(1, "alice", system="manual")
    finally:
        svc.close()
    out = data("note", "1", "left a voicemail", "--call", str(placed["id"]), "--rep", "alice")
    assert out["message"] == f"note saved on lead 1 and call #{placed['id']}"
    assert data("calls")[0]["notes"] == "left a voicemail"
    run("note", "2", "x", "--call", str(placed["id"]), "--rep", "alice", code=2)


def test_w20_report_kpi_gains_calls_connects_and_talk_seconds(floor):
    svc = station(floor)
    try:
        placed = svc.place_call(1, "alice", system="baresip")
        svc.call_event(placed["id"], "answered")
        svc.call_event(placed["id"], "ended", reason="completed")
        svc.set_status(1, "needs-offer", "alice", call_id=placed["id"])
    finally:
        svc.close()
    run("set", "2", "not-contacted", "--rep", "alice")
    (row,) = data("report", "kpi")
    assert row == {
        "rep": "alice",
        "day": "2026-11-23",
        "dials": 2,
        "contacts": 1,
        "appointments": 0,
        "offers": 0,
        "contracts": 0,
        "under_contract": 0,
        "calls": 2,
        "connects": 1,
        "talk_seconds": 0,  # the test clock stands still: answered and ended at one moment
        "contact_rate": 0.5,  # W20 (issue 16): contacts per dial
    }
    table = run("report", "kpi").stdout.splitlines()
    assert table[0].split() == [
        "rep",
        "day",
        "dials",
        "contacts",
        "appointments",
        "offers",
        "contracts",
        "under_contract",
        "calls",
        "connects",
        "talk_seconds",
        "contact_rate",
    ]
