"""L4 Contact Status Report, W20 KPI report, export (formula cells inert), through the CLI."""

from __future__ import annotations

import csv
import json

import pytest
from conftest import run_cli

from leadtui.core.playbook import load
from leadtui.store.db import connect

pytestmark = pytest.mark.engines

NOW = "2026-11-23T15:00:00-05:00"  # a Monday, inside calling hours in Miami
HEADER = "Owner Name,Address,City,State,Zip,Phone\n"


@pytest.fixture
def env(cli_env):
    return cli_env


run = run_cli


def owner_names(address) -> list[str]:
    """The floor's leads' owner names, by id, read through the store (either engine)."""
    db = connect(address)
    try:
        return [r[0] for r in db.conn.execute("SELECT owner_name FROM leads ORDER BY id")]
    finally:
        db.close()


def floor(env, rows: int = 6, playbook: str = "wholesale", list_name: str = "probate") -> None:
    run("init", "--test-clock", "--playbook", playbook)
    run("reps", "add", "alice", "--started", "2025-01-01")
    run("reps", "add", "bob", "--started", "2025-01-01")
    if rows:
        path = env / "list.csv"
        path.write_text(
            HEADER
            + "".join(f"Owner {i},{i} Ocean Dr,Miami,FL,33139,305555{i:04d}\n" for i in range(1, rows + 1))
        )
        run("import", str(path), "--list", list_name)


def counts(*args: str) -> dict[str, int]:
    return {e["status"]: e["count"] for e in json.loads(run("report", "status", "--json", *args).stdout)}


def test_l4_status_report_lists_every_status_with_its_count(env):
    floor(env)
    run("set", "1", "needs-offer", "--rep", "alice")
    run("set", "2", "needs-offer", "--rep", "bob")
    run("set", "3", "not-interested", "--rep", "alice")
    run("set", "4", "dead-deal", "--rep", "alice")
    got = counts()
    assert list(got) == [s.id for s in load("wholesale").statuses]
    assert got["new"] == 2 and got["needs-offer"] == 2 and got["not-interested"] == 1
    assert sum(got.values()) == 6  # a killed lead still counts, under its red status
    assert counts("--rep", "alice") == counts("--rep", "ALICE") == {**dict.fromkeys(got, 0), "needs-offer": 1}
    assert sum(counts("--list", "nope").values()) == 0 and sum(counts("--list", "probate").values()) == 6
    assert "no rep named 'carol'" in run("report", "status", "--rep", "carol", code=2).stderr
    table = run("report", "status").stdout
    assert "Needs Offer" in table and "total" in table
    rows = list(csv.reader(run("report", "status", "--format", "csv").stdout.splitlines()))
    assert rows[0] == ["status", "label", "count"] and ["needs-offer", "Needs Offer", "2"] in rows


def test_l4_status_report_with_contacts_on_the_lifecycle_playbook(env):
    floor(env, playbook="lifecycle")
    run("set", "5", "active", "--rep", "alice")
    data = json.loads(run("report", "status", "--contacts", "--json").stdout)
    assert [e["status"] for e in data] == ["new", "engage", "future", "active", "closed", "non-client"]
    active = next(e for e in data if e["status"] == "active")
    assert active["count"] == 1 and [c["owner_name"] for c in active["contacts"]] == ["Owner 5"]
    assert active["contacts"][0]["phones"][0]["number"] == "+13055550005"
    rows = list(csv.DictReader(run("report", "status", "--contacts", "--format", "csv").stdout.splitlines()))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"new", "active"}
    assert "Owner 5" in run("report", "status", "--contacts").stdout


def test_w20_kpi_report_per_rep_per_day(env, monkeypatch):
    floor(env)
    run("set", "1", "not-contacted", "--rep", "alice")
    run("set", "2", "offer-made", "--rep", "alice", "--amount", "90000")
    run("set", "3", "not-contacted", "--rep", "bob")
    monkeypatch.setenv("LEADTUI_NOW", "2026-11-24T15:00:00-05:00")
    run("set", "4", "not-contacted", "--rep", "alice")
    data = json.loads(run("report", "kpi", "--json").stdout)
    assert [(d["rep"], d["day"], d["dials"], d["offers"]) for d in data] == [
        ("alice", "2026-11-23", 2, 1),
        ("alice", "2026-11-24", 1, 0),
        ("bob", "2026-11-23", 1, 0),
    ]
    since = json.loads(run("report", "kpi", "--since", "2026-11-24", "--format", "json").stdout)
    assert [(d["rep"], d["day"]) for d in since] == [("alice", "2026-11-24")]
    rows = list(csv.reader(run("report", "kpi", "--format", "csv").stdout.splitlines()))
    assert rows[0] == [
        "rep",
        "day",
        "dials",
        "contacts",
        "appointments",
        "offers",
        "contracts",
        "under_contract",
        "calls",  # D2: from the call log, after the W20 counters
        "connects",
        "talk_seconds",
        "contact_rate",  # issue 16: contacts per dial, a column added at the end
    ]
    assert len(rows) == 4
    run("report", "kpi", "--since", "yesterday", code=2)


FORMULAS = ['=HYPERLINK("http://x.invalid","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1"]


def test_export_makes_formula_cells_inert_and_reads_back_as_typed(env, floor_address, fresh):
    floor(env, rows=0)
    path = env / "evil.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Owner Name", "Address", "City", "State", "Zip", "Phone"])
        for i, text in enumerate(FORMULAS, 1):
            out.writerow([text, f"{i} Oak St", "Miami", "FL", "33101", f"305555{i:04d}"])
    run("import", str(path))
    assert owner_names(floor_address) == [f.strip() for f in FORMULAS]
    target = env / "out.csv"
    assert json.loads(run("export", str(target), "--json").stdout)["leads"] == len(FORMULAS)
    rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
    assert [r["Owner Name"] for r in rows] == ["'" + f.strip() for f in FORMULAS]
    assert [r["Phone 1"] for r in rows] == [f"+1305555{i:04d}" for i in range(1, 6)]  # E.164 left as is
    run("set", "1", "needs-offer", "--rep", "alice")
    run("export", str(env / "one.csv"), "--status", "needs-offer")
    assert len(list(csv.DictReader((env / "one.csv").open(newline="")))) == 1
    run("export", str(env / "x.csv"), "--status", "nope", code=2)
    assert not (env / "x.csv").exists()
    run("init", "--test-clock", "--db", str(fresh))
    summary = json.loads(run("import", str(target), "--db", str(fresh), "--json").stdout)
    assert (summary["preset"], summary["inserted"], summary["rejected"]) == ("leadtui", len(FORMULAS), 0)
    assert owner_names(fresh) == [f.strip() for f in FORMULAS]  # the export's preset takes the quote off
