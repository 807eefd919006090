"""The command line as a contract: every JSON shape, every exit code (SPEC "Command line")."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import run_cli

pytestmark = pytest.mark.engines

NOW = "2026-11-23T15:00:00-05:00"  # a Monday, inside calling hours in Miami


@pytest.fixture
def env(cli_env):
    return cli_env


run = run_cli


def data(*args: str, input: str | None = None, code: int = 0):
    return json.loads(run(*args, "--json", input=input, code=code).stdout)


@pytest.fixture
def floor(env):
    """Database with alice (rep), boss (manager, PIN 482916) and two leads."""
    run("init", "--test-clock")
    run("reps", "add", "alice", "--started", "2025-01-01")
    run("reps", "add", "newbie")
    run("reps", "add", "boss", "--manager", "--started", "2024-01-01", input="482916\n")
    first = data(
        "add",
        "--owner",
        "Jane Doe",
        "--phone",
        "(305) 555-0134",
        "--phone",
        "305-555-0177",
        "--address",
        "12 Main Street",
        "--city",
        "Miami",
        "--state",
        "FL",
        "--zip",
        "33101",
    )
    second = data(
        "add",
        "--owner",
        "Jane Doe",
        "--phone",
        "305 555 0190",
        "--address",
        "40 Bay Road",
        "--city",
        "Miami",
        "--state",
        "FL",
        "--zip",
        "33101",
        "--mailing-address",
        "12 Main Street",
        "--mailing-zip",
        "33101",
    )
    return first["id"], second["id"]


LEAD_KEYS = {
    "id",
    "owner_name",
    "address",
    "status",
    "owner",
    "hold_until",
    "next_call_at",
    "appointment_at",
    "contract_path",
    "dead",
    "phones",
}
PHONE_KEYS = {"number", "type", "dnc", "bad", "wrong_reports"}


def check_lead(lead: dict) -> None:
    assert lead.keys() >= LEAD_KEYS
    for phone in lead["phones"]:
        assert phone.keys() >= PHONE_KEYS
        assert phone["number"].startswith("+1")


def test_add_and_show_json_shapes(floor):
    lead = data("show", str(floor[0]))
    check_lead(lead)
    assert lead["status"] == "new" and lead["owner"] is None and lead["dead"] is False
    assert [p["number"] for p in lead["phones"]] == ["+13055550134", "+13055550177"]
    assert lead["events"] and {"at", "rep", "kind"} <= lead["events"][0].keys()


def test_global_options_before_or_after_the_command(floor, env):
    before = data("--rep", "alice", "claim", str(floor[0]))
    assert before["message"].endswith("claimed by alice")
    after = json.loads(run("release", str(floor[0]), "--rep", "alice", "--json").stdout)
    assert "pool" in after["message"]


def test_leads_list_shape_and_filters(floor):
    rows = data("leads")
    assert [r["id"] for r in rows] == list(floor)
    for row in rows:
        check_lead(row)
    run("claim", str(floor[0]), "--rep", "alice")
    assert [r["id"] for r in data("leads", "--pool")] == [floor[1]]
    assert [r["id"] for r in data("leads", "--owner", "alice", "--rep", "alice")] == [floor[0]]
    assert [r["id"] for r in data("leads", "--rep", "newbie")] == [floor[1]]  # W14: hidden from others
    assert [r["id"] for r in data("leads", "--search", "bay")] == [floor[1]]
    assert [r["id"] for r in data("leads", "--search", "0190")] == [floor[1]]
    assert data("leads", "--limit", "1") == data("leads")[:1]
    assert data("leads", "--status", "needs-offer") == []


def test_set_status_outcome_and_outbox_shape(floor):
    result = data("set", str(floor[0]), "needs-offer", "--rep", "alice")
    assert result["lead_id"] == floor[0] and "text_underwriter" in result["message"]
    rows = data("outbox")
    assert rows == [
        {**rows[0], "lead_id": floor[0], "action": "text_underwriter", "state": "pending", "attempts": 0}
    ]
    assert {"id", "lead_id", "action", "state", "attempts"} <= rows[0].keys()


def test_w1_dial_message_on_cli(floor):
    out = run("set", str(floor[0]), "not-contacted", "--rep", "alice").stdout
    assert "dial 1 of 3" in out


def test_w4_appointment_needs_at_exit_2(floor):
    run("set", str(floor[0]), "appointment-booked", "--rep", "alice", code=2)
    run("set", str(floor[0]), "appointment-booked", "--rep", "alice", "--at", "next tuesday", code=2)
    lead = data("set", str(floor[0]), "appointment-booked", "--rep", "alice", "--at", "2026-11-25T10:00")
    assert "appointment_booked" in lead["message"]
    assert data("show", str(floor[0]))["appointment_at"] == "2026-11-25T15:00:00+00:00"  # 10:00 in Miami


def test_refusal_exits_1_and_names_holder(floor):
    run("claim", str(floor[0]), "--rep", "alice")
    result = run("claim", str(floor[0]), "--rep", "newbie", code=1)
    assert "held by alice" in result.stderr
    result = run("set", str(floor[0]), "needs-offer", "--rep", "newbie", code=1)
    assert "held by alice" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("show", "999"),
        ("show", "abc"),
        ("set", "1", "no-such-status", "--rep", "alice"),
        ("set", "1", "needs-offer", "--rep", "nobody"),
        ("set", "1", "needs-offer"),
        ("followup", "1", "someday", "--rep", "alice"),
        ("followup", "1", "-3 weeks", "--rep", "alice"),
        ("set", "1", "offer-made", "--rep", "alice", "--amount", "lots"),
        ("leads", "--status", "hot"),
        ("assign", "1", "nobody", "--rep", "alice"),
        ("add", "--owner", "X", "--address", "1 A St", "--phone", "12"),
        ("frobnicate",),
    ],
)
def test_bad_input_exits_2_with_one_line(floor, args):
    before = data("show", "1")
    result = run(*args, code=2)
    assert len(result.stderr.strip().splitlines()) == 1
    after = data("show", "1")
    assert before == after


def test_w11_already_sold_lists_other_properties_then_confirms(floor):
    result = run("set", str(floor[0]), "already-sold", "--rep", "alice", code=1)
    assert "40 Bay Road" in result.stderr  # same owner and mailing address
    out = json.loads(run("set", str(floor[0]), "already-sold", "--rep", "alice", "--json", code=1).stdout)
    assert [p["id"] for p in out["other_properties"]] == [floor[1]]
    run("set", str(floor[0]), "already-sold", "--rep", "alice", "--confirm", code=2)  # no source
    run("set", str(floor[0]), "already-sold", "--rep", "alice", "--confirm", "--source", "assessor")
    assert data("show", str(floor[0]))["dead"] is True
    assert data("leads") == data("leads", "--search", "bay")  # dead lead gone from default search
    assert [r["id"] for r in data("leads", "--dead")] == [floor[0]]


def test_manager_pin_from_stdin_for_approvals_and_revive(floor):
    pending = data("set", str(floor[0]), "dead-deal", "--rep", "newbie")
    assert pending["approval_id"]
    rows = data("approvals", "--rep", "boss")
    assert rows == [
        {
            **rows[0],
            "id": pending["approval_id"],
            "lead_id": floor[0],
            "rep": "newbie",
            "status": "dead-deal",
            "state": "pending",
        }
    ]
    run("approve", str(pending["approval_id"]), "--rep", "alice", code=1)  # not a manager
    run("approve", str(pending["approval_id"]), "--rep", "boss", input="0000\n", code=1)  # wrong PIN
    run("approve", str(pending["approval_id"]), "--rep", "boss", code=2)  # no PIN on stdin
    run("approve", str(pending["approval_id"]), "--rep", "boss", input="482916\n")
    assert data("show", str(floor[0]))["dead"] is True
    run("revive", str(floor[0]), "--rep", "boss", input="482916\n")
    assert data("show", str(floor[0]))["status"] == "new"


def test_reject_shows_why_to_the_rep(floor):
    pending = data("set", str(floor[1]), "dead-deal", "--rep", "newbie")
    run("reject", str(pending["approval_id"]), "--rep", "boss", "--why", "call the son", input="482916\n")
    mine = data("approvals", "--rep", "newbie")
    assert mine[0]["state"] == "rejected" and mine[0]["why"] == "call the son"


def test_assign_another_reps_lead_needs_manager_pin(floor):
    run("claim", str(floor[0]), "--rep", "alice")
    run("assign", str(floor[0]), "newbie", "--rep", "newbie", code=1)
    run("assign", str(floor[0]), "newbie", "--rep", "boss", input="482916\n")
    assert data("show", str(floor[0]))["owner"] == "newbie"


def test_adding_a_second_manager_needs_the_acting_managers_pin(floor):
    run(
        "reps", "add", "chief", "--manager", "--rep", "boss", input="111111\n739184\n", code=1
    )  # wrong acting PIN
    run("reps", "add", "chief", "--manager", "--rep", "boss", input="482916\n739184\n")
    assert {r["name"]: r["role"] for r in data("reps", "list")}["chief"] == "manager"


def test_followup_undo_sweep_shapes(floor):
    out = data("followup", str(floor[0]), "6 months", "--rep", "alice")
    assert "2027-02-23" in out["message"] and "2027-05-23" in out["message"]
    undo = data("undo", str(floor[0]), "--rep", "alice")
    assert undo["message"].startswith("undid")
    assert data("show", str(floor[0]))["next_call_at"] is None
    assert data("sweep") == {"released": []}


def test_w9_sweep_command_releases_expired_hold(floor, monkeypatch):
    run("set", str(floor[0]), "offer-rejected", "--rep", "alice")
    assert data("show", str(floor[0]))["owner"] == "alice"
    monkeypatch.setenv("LEADTUI_NOW", "2026-12-01T15:00:00-05:00")
    assert data("sweep") == {"released": [floor[0]]}
    assert data("show", str(floor[0]))["owner"] is None


def test_migrate_statuses_legacy_and_map_file(env, tmp_path):
    run("init", "--test-clock", "--playbook", "lifecycle")
    for i, legacy in enumerate(["Hot", "Followed Up", "Exclude", "Cold", "New"]):
        run(
            "add",
            "--owner",
            f"Owner {i}",
            "--address",
            f"{i} Elm St",
            "--zip",
            "33101",
            "--source-status",
            legacy,
        )
    dry = data("migrate-statuses", "--map", "legacy", "--dry-run")
    assert dry["changed"] == 4 and {(m["from"], m["to"]) for m in dry["map"]} >= {
        ("Hot", "active"),
        ("Cold", "future"),
    }
    assert {r["status"] for r in data("leads")} == {"new"}
    assert data("migrate-statuses", "--map", "legacy")["changed"] == 4
    assert data("migrate-statuses", "--map", "legacy")["changed"] == 0
    mapping = tmp_path / "map.toml"
    mapping.write_text('default = "new"\n[map]\nHot = "closed"\n')
    again = data("migrate-statuses", "--map", str(mapping))
    assert again["changed"] == 0 and again["kept"] == 4  # what the first run moved stays (L2)
    mapping.write_text('[map]\nHot = "hot-hot"\n')
    run("migrate-statuses", "--map", str(mapping), code=2)
    mapping.write_text('[mapp]\nHot = "closed"\n')
    run("migrate-statuses", "--map", str(mapping), code=2)


def test_init_is_idempotent_and_refuses_incompatible_switch(floor):
    assert data("init")["changed"] is False
    run("set", str(floor[0]), "needs-offer", "--rep", "alice")
    result = run("init", "--test-clock", "--playbook", "lifecycle", code=1)
    assert "needs-offer" in result.stderr


def test_no_database_is_exit_2(env):
    result = run("show", "1", code=2)
    assert "leadtui init" in result.stderr


def test_config_unknown_key_and_wrong_type_exit_2(floor, env):
    cfg = env / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('rep = "alice"\n[calling]\nwindw = ["08:00", "21:00"]\n')
    assert "calling.windw" in run("show", "1", code=2).stderr
    cfg.write_text('rep = "alice"\n[calling]\nmax_per_phone_24h = "3"\n')
    assert "max_per_phone_24h" in run("show", "1", code=2).stderr
    cfg.write_text('rep = "alice"\n')
    assert data("claim", str(floor[0]))["message"].endswith("alice")  # rep from the config
    assert data("config", "path")["config"] == str(cfg)
    assert data("config", "show")["rep"] == "alice"


def test_backup_is_a_consistent_copy(floor, env, engine):
    run("set", str(floor[0]), "needs-offer", "--rep", "alice")
    target = env / "copy.db"
    if engine == "postgresql":  # pg_dump's archive (tests/test_postgres_ops.py restores one)
        assert data("backup", str(target))["entries"] > 0
        run("backup", str(target), code=2)  # never overwrites
        return
    run("backup", str(target))
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT status FROM leads WHERE id = ?", (floor[0],)).fetchone()[0] == "needs-offer"
    run("backup", str(target), code=2)  # never overwrites


def test_b5_markup_and_escapes_in_names_are_inert(floor):
    name = "[bold red]Evil[/] \x1b[2J\x1b]0;pwned\x07 Owner"
    lead = data("add", "--owner", name, "--address", "9 Oak Ave", "--zip", "33101")
    assert data("show", str(lead["id"]))["owner_name"] == name  # stored exactly
    shown = run("show", str(lead["id"])).stdout
    assert "\x1b" not in shown and "\x07" not in shown and "[bold red]Evil[/]" in shown
    assert "\\x1b[2J" in shown


# --- run: errors before the screen starts ----------------------------------------------------


def test_run_without_a_database_points_at_init_and_the_demo(env, engine):
    message = run("run", code=2).stderr
    if engine == "postgresql":  # a server's database without a floor in it
        assert "no playbook stored; run `leadtui init --db postgresql://" in message
        return
    assert "no database at" in message and "leadtui run --demo" in message


@pytest.mark.parametrize(
    "keys, expected",
    [
        ('bogus = "z"', "config key keys.bogus: not a status or control"),
        ('needs-offer = "c"', "config key keys.needs-offer: 'c' is already the key of Claim"),
    ],
)
def test_run_with_a_bad_keymap_exits_2_naming_the_key(env, keys, expected):
    run("init", "--test-clock")
    run("reps", "add", "alice")
    (env / "config").mkdir(exist_ok=True)
    (env / "config" / "config.toml").write_text(f"[keys]\n{keys}\n", "utf-8")
    assert expected in run("run", "--rep", "alice", code=2).stderr


def test_run_with_an_unknown_rep_exits_2(env):
    run("init", "--test-clock")
    run("reps", "add", "alice")
    assert "no active rep named 'zed' (one of: alice)" in run("run", "--rep", "zed", code=2).stderr


def test_db_before_the_command_wins_over_the_env(env, tmp_path):
    other = tmp_path / "other.db"
    run("--db", str(other), "init")
    assert other.exists() and not (tmp_path / "leads.db").exists()


def test_doctor_checks_the_floor(env, engine):
    """One line per check, exit 1 naming the problems; ok once the floor is made (both engines)."""
    if engine == "sqlite":
        result = run("doctor", code=1)
        assert result.stdout.startswith("problem  reachable") and "leadtui init" in result.stdout
        assert result.stderr.strip() == "error: 1 problem(s) found: reachable"
    else:  # the server's database has the schema, no playbook yet
        assert [c["name"] for c in data("doctor", code=1)["checks"] if not c["ok"]] == ["playbook"]
    run("init")
    report = data("doctor")
    assert report["ok"] and report["engine"] == engine
    names = [c["name"] for c in report["checks"]]
    assert names[0] == "reachable" and {"schema", "playbook"} <= set(names)
    if engine == "sqlite":
        assert names == ["reachable", "schema", "journal", "playbook"]
    lines = run("doctor").stdout.splitlines()
    assert len(lines) == len(names) and all(line.startswith("ok ") for line in lines)
