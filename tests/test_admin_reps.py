"""Rep admin (issue 16): `reps deactivate|activate|pin`, and the manager's PIN needed to add a rep
or back-date one once the floor has a manager (a back-dated rep would skip W13's first 30 days).
CLI first (exit codes and JSON), then the rules through the Service."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from conftest import MANAGER, NEWBIE, PIN, REP, add_lead, run_cli

from leadtui.core import pins
from leadtui.errors import LeadtuiError, Refused
from leadtui.service import PinRequired

pytestmark = pytest.mark.engines

NEW_PIN = "739184"


def data(*args: str, input: str | None = None) -> dict | list:
    return json.loads(run_cli(*args, "--json", input=input).stdout)


def reps() -> dict[str, dict]:
    return {r["name"]: r for r in data("reps", "list")}


@pytest.fixture
def floor(cli_env):
    """alice (added before any manager: no PIN asked), boss (the first manager), one lead of alice's."""
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    run_cli("reps", "add", MANAGER, "--manager", input=f"{PIN}\n")
    run_cli(
        "add", "--owner", "Jane Doe", "--address", "1 Main St", "--state", "FL", "--phone", "(305) 555-0101"
    )
    run_cli(
        "add", "--owner", "Joe Roe", "--address", "2 Main St", "--state", "FL", "--phone", "(305) 555-0102"
    )
    run_cli("claim", "1", "--rep", REP)
    return cli_env


# --- adding a rep once a manager exists -----------------------------------------------------------


def test_adding_a_rep_needs_a_managers_pin_once_a_manager_exists(floor):
    out = run_cli("reps", "add", "bob", code=2)
    assert "say which manager acts: --rep NAME" in out.stderr
    out = run_cli("reps", "add", "bob", "--rep", REP, input=f"{PIN}\n", code=1)
    assert "only a manager may add a rep" in out.stderr
    out = run_cli("reps", "add", "bob", "--rep", MANAGER, input="111111\n", code=1)
    assert "wrong PIN for boss" in out.stderr
    assert "bob" not in reps()
    assert data("reps", "add", "bob", "--rep", MANAGER, input=f"{PIN}\n")["name"] == "bob"


def test_back_dating_a_rep_needs_a_managers_pin(floor):
    run_cli("reps", "add", "carl", "--started", "2025-06-01", "--rep", MANAGER, code=2)  # no PIN on stdin
    assert "carl" not in reps()
    added = data("reps", "add", "carl", "--started", "2025-06-01", "--rep", MANAGER, input=f"{PIN}\n")
    assert added["started"] == "2025-06-01"


def test_back_dating_is_named_in_what_the_pin_is_for(make_service):
    svc = make_service()
    with pytest.raises(PinRequired, match="add a rep with a start date in the past needs boss's manager PIN"):
        svc.add_rep("dora", started=date(2025, 1, 1), acting=MANAGER)
    with pytest.raises(PinRequired, match=r"^add a rep needs boss's manager PIN"):
        svc.add_rep("dora", acting=MANAGER)
    assert svc.add_rep("dora", acting=MANAGER, acting_pin=PIN)["name"] == "dora"


def test_before_any_manager_reps_are_added_freely(make_service):
    svc = make_service(reps=False)
    svc.add_rep("first", started=date(2025, 1, 1))
    svc.add_rep(MANAGER, manager=True, pin=PIN)  # the floor's first manager needs no one's PIN
    with pytest.raises(LeadtuiError, match="say who you are"):
        svc.add_rep("second")
    with pytest.raises(PinRequired):
        svc.add_rep("second", acting=MANAGER)


# --- deactivate / activate ------------------------------------------------------------------------


def test_reps_deactivate_hands_the_desk_to_the_pool_and_the_rep_can_no_longer_act(floor):
    result = data("reps", "deactivate", REP, "--rep", MANAGER, input=f"{PIN}\n")
    assert (result["rep"], result["active"], result["changed"]) == (REP, False, True)
    assert result["handed_over"]["leads"] == 1 and result["handed_over"]["to"] is None
    assert not reps()[REP]["active"]
    assert data("show", "1")["owner"] is None
    out = run_cli("claim", "2", "--rep", REP, code=1)
    assert "rep alice is not active" in out.stderr
    again = data("reps", "deactivate", REP, "--rep", MANAGER, input=f"{PIN}\n")
    assert again["changed"] is False and "already inactive" in again["message"]
    back = data("reps", "activate", REP, "--rep", MANAGER, input=f"{PIN}\n")
    assert back["active"] and reps()[REP]["active"]
    run_cli("claim", "2", "--rep", REP)


def test_reps_deactivate_to_another_rep(floor):
    run_cli("reps", "add", "bob", "--rep", MANAGER, input=f"{PIN}\n")
    out = run_cli("reps", "deactivate", REP, "--to", "bob", "--rep", MANAGER, input=f"{PIN}\n")
    assert out.stdout.startswith("alice is inactive; 1 lead(s) of alice") and "handed to bob" in out.stdout
    assert data("show", "1")["owner"] == "bob"


def test_reps_deactivate_refusals_change_nothing(floor):
    out = run_cli("reps", "deactivate", REP, "--rep", REP, code=1)
    assert "only a manager may deactivate a rep" in out.stderr
    run_cli("reps", "deactivate", REP, "--rep", MANAGER, input="111111\n", code=1)
    out = run_cli("reps", "deactivate", MANAGER, "--rep", MANAGER, input=f"{PIN}\n", code=1)
    assert "can't deactivate themselves" in out.stderr
    run_cli("reps", "deactivate", REP, "--to", "nobody", "--rep", MANAGER, input=f"{PIN}\n", code=2)
    run_cli("reps", "deactivate", REP, "--to", REP, "--rep", MANAGER, input=f"{PIN}\n", code=2)
    assert reps()[REP]["active"] and reps()[MANAGER]["active"]
    assert data("show", "1")["owner"] == REP


def test_a_deactivated_reps_reserved_lead_is_let_go_at_once(make_service):
    svc = make_service()
    lead = add_lead(svc)["id"]
    station = make_service()
    assert station.reserve(NEWBIE, [lead]) == lead
    svc.set_active(NEWBIE, False, MANAGER, PIN)
    assert svc.reservations() == []
    with pytest.raises(Refused, match="not active"):
        station.reserve(NEWBIE, [lead])
    kinds = [r["kind"] for r in svc.db.conn.execute("SELECT kind FROM events WHERE lead_id IS NULL")]
    assert kinds == ["rep_deactivated"]


# --- PINs -------------------------------------------------------------------------------------------


def test_reps_pin_sets_a_reps_pin_from_stdin_in_a_script(floor):
    assert not reps()[REP]["has_pin"]
    result = data("reps", "pin", REP, "--rep", MANAGER, input=f"{PIN}\n{NEW_PIN}\n")
    assert result["rep"] == REP and reps()[REP]["has_pin"]
    out = run_cli("reps", "pin", REP, "--rep", MANAGER, input=f"{PIN}\n123456\n", code=2)
    assert "a PIN can't be a run" in out.stderr
    out = run_cli("reps", "pin", REP, "--rep", REP, input=f"{PIN}\n{NEW_PIN}\n", code=1)
    assert "only a manager may reset a PIN" in out.stderr


def test_reps_pin_resets_a_forgotten_and_locked_pin(make_service):
    svc = make_service()
    svc.reset_pin(REP, NEW_PIN, MANAGER, PIN)
    svc.check_own_pin(REP, NEW_PIN)
    for _ in range(pins.TRIES):
        with pytest.raises(Refused, match="wrong PIN for alice"):
            svc.check_own_pin(REP, "000111")
    with pytest.raises(Refused, match="locked"):
        svc.check_own_pin(REP, NEW_PIN)
    svc.reset_pin(REP, "582039", MANAGER, PIN)  # the manager sets a new one: the lock goes with the old
    assert svc.check_own_pin(REP, "582039")["rep"] == REP


def test_own_pin_check_refuses_an_inactive_rep_and_one_with_no_pin(make_service):
    svc = make_service()
    with pytest.raises(Refused, match="alice has no PIN yet: ask a manager"):
        svc.check_own_pin(REP, PIN)
    svc.reset_pin(REP, NEW_PIN, MANAGER, PIN)
    svc.set_active(REP, False, MANAGER, PIN)
    with pytest.raises(Refused, match="rep alice is not active"):
        svc.check_own_pin(REP, NEW_PIN)
    with pytest.raises(LeadtuiError, match="no rep named"):
        svc.check_own_pin("ghost", NEW_PIN)
    assert svc.set_active(REP, True, MANAGER, PIN)["changed"]
    assert svc.check_own_pin(REP, NEW_PIN)["rep"] == REP  # active again: the station opens


def test_started_dates_shown_as_given(make_service, clock):
    svc = make_service()
    when = clock.now().date() - timedelta(days=3)
    rep = svc.add_rep("eve", started=when, acting=MANAGER, acting_pin=PIN)
    assert rep["started"] == when.isoformat() and rep["active"]


def test_reps_pin_on_a_terminal_asks_the_managers_pin_then_the_new_one_twice(floor, floor_address):
    import os

    from test_hardening_input import _on_a_terminal, _read_until

    env = {**os.environ, "LEADTUI_DB": str(floor_address)}
    proc, master = _on_a_terminal(["reps", "pin", REP, "--rep", MANAGER], env)
    seen = bytearray()
    try:
        _read_until(master, b"PIN of acting manager boss:", seen)
        os.write(master, f"{PIN}\n".encode())
        _read_until(master, b"new PIN for alice:", seen)
        os.write(master, f"{NEW_PIN}\n".encode())
        _read_until(master, b"Repeat the new PIN:", seen)
        os.write(master, f"{NEW_PIN}\n".encode())
        _read_until(master, b"alice's PIN is set", seen)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert PIN.encode() not in seen and NEW_PIN.encode() not in seen  # hidden as typed
    assert reps()[REP]["has_pin"]
