"""`leadtui export` round-trips (issue 16): it writes every field a lead has (its state, phones with
DNC, litigator and bad flags and wrong-number reports, appointment, offer, next call, notes, property
facts), so importing the file into a fresh floor gives the same leads, field for field, and into the
same floor adds nothing. A long export shows a progress bar on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, on_a_terminal, read_csv, run_cli

pytestmark = pytest.mark.engines

SAMPLES = Path(__file__).parent / "data" / "samples"
NOT_COMPARED = ("created_at", "updated_at", "reserved", "events", "calls")  # when a floor stored it, not what


def data(*args: str, input: str | None = None):
    return json.loads(run_cli(*args, "--json", input=input).stdout)


def add_reps(db: Path | None = None, names=(REP, NEWBIE)) -> None:
    where = ["--db", str(db)] if db else []
    for name in names:
        run_cli("reps", "add", name, "--started", "2025-01-01", *where)
    run_cli("reps", "add", MANAGER, "--manager", *where, input=f"{PIN}\n")


@pytest.fixture
def worked(cli_env, floor_address, monkeypatch, make_service):
    """A floor worked for a while: a vendor list imported, then every kind of state on its leads."""
    monkeypatch.setenv("LEADTUI_DB", str(floor_address))  # the CLI's floor is the test's, on its engine
    run_cli("init", "--test-clock")
    add_reps()
    run_cli("import", str(SAMPLES / "propstream_export.csv"))
    svc = make_service(reps=False)  # (the CLI added them)
    leads = {lead["id"]: lead for lead in svc.search()}
    two_phones = [
        i for i, lead in leads.items() if i > 10 and len(lead["phones"]) >= 2 and not lead["phones"][0]["dnc"]
    ]
    svc.claim(1, REP)
    svc.set_status(1, "offer-made", REP, amount=125000)
    svc.note(1, REP, '=HYPERLINK("http://x.invalid") said "call me"\nafter 5, ok?')
    svc.note(1, REP, "second note")
    svc.set_status(2, "appointment-booked", REP, at="2026-11-25T14:30")
    svc.set_status(3, "not-interested", REP)  # cooling off
    svc.set_status(4, "offer-rejected", REP)  # held 7 days
    svc.followup(5, REP, "3 weeks")
    svc.followup(6, REP, "2 months", anyone=True)
    svc.set_status(7, "dead-deal", MANAGER)
    svc.set_status(8, "send-contract", REP)  # a drafted contract's path
    svc.claim(9, NEWBIE)
    bad, reported = two_phones[:2]
    for _ in range(3):
        svc.set_status(bad, "wrong-number", REP, phone=1)  # the third report marks phone 1 bad
    svc.set_status(reported, "wrong-number", REP, phone=1)  # one report on phone 1
    svc.set_status(two_phones[2], "not-contacted", REP)  # dial 1 of 3
    svc.db.conn.execute("UPDATE phones SET litigator = 1 WHERE lead_id = 10 AND position = 1")
    svc.add_lead(
        owner_name="=cmd|' /C calc'!A0",
        address="1 Formula Way",
        state="FL",
        zip_code="33101",
        phones=["(305) 555-0199"],
        emails=["a@example.com", "b@example.com"],
        notes="gate code 1234; dog",
        rep=REP,
    )
    return cli_env


def shown(db: Path | None, lead_id: int) -> dict:
    lead = data("show", str(lead_id), *(["--db", str(db)] if db else []))
    return {k: v for k, v in lead.items() if k not in NOT_COMPARED}


def test_export_round_trip_into_a_fresh_floor_changes_nothing(worked, fresh, tmp_path):
    first = tmp_path / "first.csv"
    n = data("export", str(first))["leads"]
    exported = read_csv(first)
    header = exported[0]
    for column in (
        "Hold Until",
        "Next Call",
        "Appointment",
        "Offer",
        "Cool-Off Until",
        "Note Count",
        "Note Log",
    ):
        assert column in header
    assert {"Phone 1 Bad", "Phone 1 Litigator", "Phone 1 Wrong Reports", "Est. Value", "Bedrooms"} <= set(
        header
    )
    run_cli("init", "--test-clock", "--db", str(fresh))
    add_reps(fresh)
    summary = data("import", str(first), "--db", str(fresh))
    assert (summary["preset"], summary["inserted"], summary["merged"], summary["rejected"]) == (
        "leadtui",
        n,
        0,
        0,
    )
    again = tmp_path / "again.csv"
    run_cli("export", str(again), "--db", str(fresh))
    assert read_csv(again) == exported  # every field of every lead, phones and notes included
    for lead_id in range(1, n + 1):
        assert shown(fresh, lead_id) == shown(None, lead_id), lead_id
    # what the worked floor did is there, field for field
    by_id = {int(row[0]): dict(zip(header, row)) for row in exported[1:]}  # noqa: B905 (a row stops at its last phone)
    assert (by_id[1]["Status"], by_id[1]["Owner"], by_id[1]["Offer"], by_id[1]["Note Count"]) == (
        "offer-made",
        REP,
        "125000.0",
        "2",
    )
    notes = data("show", "1", "--db", str(fresh))["events"]
    assert [e["data"]["text"] for e in notes if e["kind"] == "note"] == [
        '=HYPERLINK("http://x.invalid") said "call me"\nafter 5, ok?',
        "second note",
    ]
    assert by_id[3]["Cool-Off Until"] and by_id[4]["Hold Until"] and by_id[7]["Dead"] == "yes"
    assert by_id[6]["Callback"] == "anyone" and by_id[5]["Callback"] == "mine"
    formula = by_id[n]
    assert (
        formula["Owner Name"] == "'=cmd|' /C calc'!A0" and formula["Email"] == "a@example.com; b@example.com"
    )
    assert data("show", str(n), "--db", str(fresh))["owner_name"] == "=cmd|' /C calc'!A0"


def test_export_re_imported_into_the_same_floor_adds_nothing(worked, tmp_path):
    first = tmp_path / "first.csv"
    n = data("export", str(first))["leads"]
    before = [shown(None, i) for i in range(1, n + 1)]
    summary = data("import", str(first))
    assert (summary["inserted"], summary["merged"], summary["phones_added"], summary["rejected"]) == (
        0,
        n,
        0,
        0,
    )
    assert [shown(None, i) for i in range(1, n + 1)] == before
    second = tmp_path / "second.csv"
    run_cli("export", str(second))
    assert read_csv(second) == read_csv(first)


def test_export_bad_phones_stay_bad_in_a_fresh_floor(worked, fresh, tmp_path):
    """The issue's complaint: re-importing an export brought wrong numbers back."""
    first = tmp_path / "first.csv"
    run_cli("export", str(first))
    run_cli("init", "--test-clock", "--db", str(fresh))
    add_reps(fresh)
    run_cli("import", str(first), "--db", str(fresh))
    bad = [
        (lead["id"], p["position"], p["wrong_reports"])
        for lead in data("leads", "--db", str(fresh))
        for p in lead["phones"]
        if p["bad"] or p["wrong_reports"]
    ]
    assert len(bad) == 2 and {reports for _, _, reports in bad} == {1, 3}
    litigator = data("show", "10", "--db", str(fresh))["phones"][0]
    assert litigator["litigator"]


def test_export_into_a_floor_without_its_reps_or_statuses_says_what_it_left_out(worked, fresh, tmp_path):
    first = tmp_path / "first.csv"
    n = data("export", str(first))["leads"]
    run_cli("init", "--test-clock", "--db", str(fresh), "--playbook", "lifecycle")
    run_cli("reps", "add", REP, "--db", str(fresh))
    summary = data("import", str(first), "--db", str(fresh))
    assert summary["inserted"] == n and summary["values_rejected"] > 0
    rejects = read_csv(summary["rejects_path"])
    reasons = {row[3] for row in rejects[1:]}
    assert "owner 'newbie' is no rep of this floor: the lead goes to the pool" in reasons
    assert "status 'offer-made' is not in this floor's playbook: the lead gets new" in reasons
    nine = data("show", "9", "--db", str(fresh))
    assert nine["owner"] is None and nine["status"] == "new"


def test_export_progress_bar_on_a_terminal_only(worked, tmp_path):
    env = {**os.environ, "COLUMNS": "100"}
    target = tmp_path / "out.csv"
    proc, seen = on_a_terminal(["export", str(target)], env)
    assert proc.returncode == 0 and proc.stdout.decode().startswith("exported ")
    assert b"exporting" in seen and b"%" in seen
    quiet = subprocess.run(
        [sys.executable, "-m", "leadtui", "export", str(target)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("exported ")
