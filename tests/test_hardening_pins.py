"""Issue 17, manager PINs and approvals: a lockout that holds across stations, PINs worth having,
approvals that can't be applied to a lead that moved on."""

from __future__ import annotations

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, add_lead

from leadtui.errors import LeadtuiError, Refused

pytestmark = pytest.mark.engines


def test_hardening_pin_lockout_after_five_wrong_pins_holds_across_stations(make_service, clock):
    one, two = make_service(), make_service()
    lead = add_lead(one)
    one.set_status(lead["id"], "dead-deal", REP)
    for i in range(4):
        with pytest.raises(Refused, match=f"wrong PIN for {MANAGER} \\({i + 1} of 5"):
            (one if i % 2 else two).revive(lead["id"], MANAGER, "000000")
    with pytest.raises(Refused, match="locked for 15 minutes"):
        one.revive(lead["id"], MANAGER, "111111")
    with pytest.raises(Refused, match="locked until"):
        two.revive(lead["id"], MANAGER, PIN)  # the right PIN too, on the other station
    failed = one.db.conn.execute("SELECT rep, data FROM events WHERE kind = 'pin_failed'").fetchall()
    assert len(failed) == 5 and {r[0] for r in failed} == {MANAGER}
    clock.advance(minutes=16)
    assert "revived" in two.revive(lead["id"], MANAGER, PIN).message


def test_hardening_pin_lockout_counts_wrong_pins_in_a_row_only(make_service):
    svc = make_service()
    lead = add_lead(svc)
    svc.set_status(lead["id"], "dead-deal", REP)
    for _ in range(4):
        with pytest.raises(Refused, match="wrong PIN"):
            svc.revive(lead["id"], MANAGER, "000000")
    svc.revive(lead["id"], MANAGER, PIN)  # a right one starts the count again
    svc.set_status(lead["id"], "dead-deal", REP)
    with pytest.raises(Refused, match="1 of 5"):
        svc.revive(lead["id"], MANAGER, "000000")


@pytest.mark.parametrize("pin", ["1234", "0000", "000000", "123456", "987654", "12345a", "1" * 13])
def test_hardening_new_pins_have_six_digits_and_no_trivial_run(make_service, pin):
    svc = make_service()
    with pytest.raises(LeadtuiError, match="PIN"):
        svc.add_rep("chief", manager=True, pin=pin, acting=MANAGER, acting_pin=PIN)


def test_hardening_stale_approval_is_refused_when_the_lead_moved_on(make_service):
    svc = make_service()
    lead = add_lead(svc)
    asked = svc.set_status(lead["id"], "dead-deal", NEWBIE)  # a new rep: a pending request
    assert asked.approval_id
    svc.claim(lead["id"], REP)
    svc.set_status(lead["id"], "under-contract", REP)
    with pytest.raises(
        Refused, match=f"approval #{asked.approval_id} is stale.*status under-contract by {REP}"
    ):
        svc.approve(asked.approval_id, MANAGER, PIN)
    got = svc.lead(lead["id"])
    assert got["status"] == "under-contract" and got["owner"] == REP and not got["dead"]
    svc.reject(asked.approval_id, MANAGER, PIN, "the lead went under contract")


def test_hardening_one_pending_request_per_lead_and_rep(make_service):
    svc = make_service()
    lead = add_lead(svc)
    first = svc.set_status(lead["id"], "dead-deal", NEWBIE)
    with pytest.raises(Refused, match=f"already has your request #{first.approval_id}"):
        svc.set_status(lead["id"], "dead-deal", NEWBIE)
    assert "approved" in svc.approve(first.approval_id, MANAGER, PIN).message


def test_hardening_test_clock_is_refused_on_a_real_floor(tmp_path, monkeypatch):
    from conftest import run_cli

    monkeypatch.setenv("LEADTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADTUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LEADTUI_DB", str(tmp_path / "real.db"))
    monkeypatch.delenv("LEADTUI_NOW", raising=False)
    run_cli("init")
    run_cli("reps", "add", REP)
    monkeypatch.setenv("LEADTUI_NOW", "2030-01-01T12:00:00+00:00")
    result = run_cli("reps", "list", code=2)
    assert "LEADTUI_NOW is honoured only on floors made with `leadtui init --test-clock`" in result.stderr
    assert (
        "real floor" in run_cli("init", "--test-clock", code=1).stderr
    )  # a real floor can't be turned into one
    monkeypatch.setenv("LEADTUI_DB", str(tmp_path / "test.db"))
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP)
    assert run_cli("reps", "list").stdout.startswith(REP)


def test_hardening_w14_a_rep_sees_only_the_pool_and_their_own_in_every_command(cli_env):
    import csv
    import json as jsonlib

    from conftest import run_cli

    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP)
    run_cli("reps", "add", "bob")
    run_cli("reps", "add", MANAGER, "--manager", "--pin", input=f"{PIN}\n{PIN}\n")
    run_cli("add", "--owner", "Held Hal", "--address", "1 Main St", "--phone", "(305) 555-0101")
    run_cli("add", "--owner", "Pool Pam", "--address", "2 Main St", "--phone", "(305) 555-0102")
    run_cli("set", "1", "needs-offer", "--rep", REP)  # alice's, with a queued action
    assert "held by alice" in run_cli("show", "1", "--rep", "bob", code=1).stderr
    assert "held by alice" in run_cli("outbox", "--lead", "1", "--rep", "bob", code=1).stderr
    assert jsonlib.loads(run_cli("outbox", "--json", "--rep", "bob").stdout) == []
    assert len(jsonlib.loads(run_cli("outbox", "--json", "--rep", REP).stdout)) == 1
    run_cli("export", str(cli_env / "bob.csv"), "--rep", "bob")
    with open(cli_env / "bob.csv", encoding="utf-8") as f:
        assert [r["Owner Name"] if "Owner Name" in r else list(r.values())[1] for r in csv.DictReader(f)] == [
            "Pool Pam"
        ]
    for who in (["--rep", MANAGER], []):  # a manager, or the admin's view with no rep: everything
        assert jsonlib.loads(run_cli("show", "1", "--json", *who).stdout)["owner"] == REP
        run_cli("export", str(cli_env / "all.csv"), *who)
        with open(cli_env / "all.csv", encoding="utf-8") as f:
            assert len(list(csv.DictReader(f))) == 2


@pytest.mark.parametrize(
    "name, why",
    [
        ("\u0430lice", "one script"),  # Cyrillic а + Latin lice
        ("\u0430\u04cf\u0456\u0441\u0435", "looks like the rep 'alice'"),  # all Cyrillic: аӏісе
        ("ALİCE", "looks like"),  # a dotted capital I
        ("system", "a word the floor uses"),
        ("Pool", "a word the floor uses"),
        ("bo\u200bb", "printable"),  # a zero-width space inside
    ],
)
def test_hardening_rep_names_one_script_not_confusable_not_reserved(make_service, name, why):
    svc = make_service()
    with pytest.raises(LeadtuiError, match=why):
        svc.add_rep(name)


def test_hardening_rep_names_in_other_scripts_are_welcome(make_service):
    svc = make_service()
    for name in ("José", "Ольга", "李雷", "Zoë Ann"):
        svc.add_rep(name, acting=MANAGER, acting_pin=PIN)
