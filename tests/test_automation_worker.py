"""The worker's rules in mode `log` and with a command target: due after the undo window,
cancelled by undo / kill (W10, W19), backoff, dead after max_attempts, retry, templates."""

from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta

import pytest
from conftest import MANAGER, PIN, REP, add_lead
from test_automation_targets import needs_offer, states, write_config

from leadtui.automation.worker import backoff, retry, start_background
from leadtui.errors import LeadtuiError, Refused

pytestmark = [pytest.mark.usefixtures("isolated_dirs"), pytest.mark.engines]  # user folders in tmp_path


@pytest.fixture
def log_config(tmp_path):
    return write_config(tmp_path, '[automation]\nlog_path = "automation.jsonl"\n')


def log_lines(cfg) -> list[dict]:
    path = cfg.automation["log_path"]
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_log_mode_waits_for_the_undo_window_then_logs_once(make_service, open_worker, clock, log_config):
    svc = make_service()
    worker = open_worker(log_config)
    lead = needs_offer(svc, notes="gate code 12")
    clock.advance(seconds=29)
    assert worker.run_once() == {}
    clock.advance(seconds=2)
    assert worker.run_once() == {"logged": 1}
    assert worker.run_once() == {}
    [row] = svc.outbox(lead_id=lead["id"])
    assert (row["state"], row["attempts"]) == ("logged", 1)
    [line] = log_lines(log_config)
    assert line["id"] == row["idempotency_key"] and line["type"] == "text_underwriter"
    assert "gate code 12" in line["data"]["text"] and lead["address"] in line["data"]["text"]
    assert svc.lead(lead["id"], events=True)["events"][-1]["kind"] == "automation_logged"


def test_w19_undo_in_the_window_cancels_and_nothing_goes_out(make_service, open_worker, clock, log_config):
    svc = make_service()
    worker = open_worker(log_config)
    lead = needs_offer(svc)
    clock.advance(seconds=10)
    svc.undo(lead["id"], REP)
    clock.advance(minutes=5)
    assert worker.run_once() == {}
    assert states(svc, lead["id"]) == [("text_underwriter", "cancelled", 0)]


def test_w10_kill_cancels_and_revive_sends_nothing(make_service, open_worker, clock, log_config):
    svc = make_service()
    worker = open_worker(log_config)
    lead = needs_offer(svc)
    svc.set_status(lead["id"], "dead-deal", REP)
    svc.revive(lead["id"], MANAGER, PIN)
    clock.advance(minutes=5)
    assert worker.run_once() == {}
    assert states(svc, lead["id"]) == [("text_underwriter", "cancelled", 0)]


def test_w10_worker_rechecks_the_lead_when_it_takes_the_lease(make_service, open_worker, clock, log_config):
    svc = make_service()
    worker = open_worker(log_config)
    dead, alive = needs_offer(svc), needs_offer(svc)
    svc.db.conn.execute(
        "UPDATE leads SET dead = 1 WHERE id = ?", (dead["id"],)
    )  # killed behind the outbox's back
    clock.advance(minutes=1)
    assert worker.run_once() == {"logged": 1}
    assert states(svc, dead["id"]) == [("text_underwriter", "cancelled", 0)]
    assert [line["data"]["lead_id"] for line in log_lines(log_config)] == [alive["id"]]
    assert svc.lead(dead["id"], events=True)["events"][-1]["kind"] == "automation_cancelled"


def flaky_command(tmp_path, max_attempts: int = 3) -> tuple:
    """A command target that exits 3 until the file `ok` exists."""
    flag = tmp_path / "ok"
    code = (
        f"import pathlib, sys; sys.stdin.read(); print('not yet', file=sys.stderr); "
        f"sys.exit(0 if pathlib.Path({str(flag)!r}).exists() else 3)"
    )
    cfg = write_config(
        tmp_path,
        f"""
[automation]
mode = "dispatch"
max_attempts = {max_attempts}
log_path = "automation.jsonl"
[automation.routes]
text_underwriter = "flaky"
[automation.targets.flaky]
kind = "command"
argv = [{json.dumps(sys.executable)}, "-c", {json.dumps(code)}]
""",
    )
    return cfg, flag


def test_backoff_then_dead_after_max_attempts_then_retry_sends(make_service, open_worker, clock, tmp_path):
    cfg, flag = flaky_command(tmp_path, max_attempts=3)
    svc = make_service()
    worker = open_worker(cfg)
    lead = needs_offer(svc)
    clock.advance(seconds=31)
    dues = []
    for attempt in (1, 2):
        assert worker.run_once() == {"failed": 1}
        [row] = svc.outbox(lead_id=lead["id"])
        assert (row["state"], row["attempts"]) == ("failed", attempt) and row["last_error"].endswith(
            "exited 3: not yet"
        )
        assert worker.run_once() == {}  # not due again yet
        dues.append(row["due_at"])
        clock.advance(hours=2)
    assert dues[0] < dues[1]
    assert worker.run_once() == {"dead": 1}
    clock.advance(days=1)
    assert worker.run_once() == {}  # dead stays dead, and is kept
    assert states(svc, lead["id"]) == [("text_underwriter", "dead", 3)]
    flag.touch()
    with pytest.raises(LeadtuiError, match="no action 999"):
        retry(svc.db, 999, now=clock.now)
    fresh = retry(svc.db, row["id"], now=clock.now, by=MANAGER)
    assert (fresh["state"], fresh["attempts"]) == ("pending", 0)
    with pytest.raises(Refused, match="is pending"):
        retry(svc.db, row["id"], now=clock.now)
    assert worker.run_once() == {"sent": 1}
    assert states(svc, lead["id"]) == [("text_underwriter", "sent", 1)]
    kinds = [e["kind"] for e in svc.lead(lead["id"], events=True)["events"]]
    assert kinds[-5:] == [
        "automation_failed",
        "automation_failed",
        "automation_dead",
        "automation_retry",
        "automation_sent",
    ]


def test_a_program_that_cannot_run_is_dead_at_once(make_service, open_worker, clock, tmp_path):
    cfg = write_config(
        tmp_path,
        """
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "gone"
[automation.targets.gone]
kind = "command"
argv = ["/nonexistent/leadtui-notify"]
""",
    )
    svc = make_service()
    worker = open_worker(cfg)
    lead = needs_offer(svc)
    clock.advance(minutes=1)
    assert worker.run_once() == {"dead": 1}
    assert "can't run /nonexistent/leadtui-notify" in svc.outbox(lead_id=lead["id"])[0]["last_error"]


def test_backoff_doubles_with_jitter_and_is_capped():
    assert backoff(1, lambda: 0.0) == timedelta(seconds=15)
    assert backoff(1, lambda: 1.0) == timedelta(seconds=30)
    assert backoff(3, lambda: 1.0) == timedelta(seconds=120)
    assert backoff(30, lambda: 1.0) == timedelta(hours=1)


def test_unrouted_action_is_logged_in_dispatch_mode(make_service, open_worker, clock, tmp_path):
    cfg, _ = flaky_command(tmp_path)
    svc = make_service()
    worker = open_worker(cfg)
    lead = add_lead(svc)
    svc.set_status(lead["id"], "appointment-booked", REP, at="2026-12-01T15:00")
    clock.advance(minutes=1)
    assert worker.run_once() == {"logged": 1}
    [line] = log_lines(cfg)
    assert line["type"] == "appointment_booked" and "2026-12-01" in line["data"]["text"]


def test_user_templates_override_and_are_sandboxed(make_service, open_worker, clock, log_config, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "text_underwriter.txt.j2").write_text("Run numbers on {{ lead.address }} for {{ rep }}")
    (folder / "appointment_booked.txt.j2").write_text("{{ lead.__class__.__mro__ }}")
    svc = make_service()
    worker = open_worker(log_config, templates_dir=folder)
    lead = needs_offer(svc, owner_name="{{ lead.__class__ }}")
    other = add_lead(svc)
    svc.set_status(other["id"], "appointment-booked", REP, at="2026-12-01T15:00")
    clock.advance(minutes=1)
    assert worker.run_once() == {"logged": 1, "dead": 1}
    [line] = log_lines(log_config)
    assert line["data"]["text"] == f"Run numbers on {lead['address']} for {REP}"
    [row] = svc.outbox(lead_id=other["id"])
    assert row["state"] == "dead" and "unsafe" in row["last_error"]


def test_background_worker_delivers_and_stops(make_service, clock, log_config, monkeypatch):
    svc = make_service()
    lead = needs_offer(svc)
    monkeypatch.setenv("LEADTUI_NOW", (clock.now() + timedelta(minutes=1)).isoformat())
    done, arrived = [], threading.Event()
    stop = start_background(
        svc.db.path, log_config, on_delivery=lambda d: (done.append(d), arrived.set()), poll=0.01
    )
    try:
        assert arrived.wait(10)
    finally:
        assert stop(10)
    assert [(d.lead_id, d.state) for d in done] == [(lead["id"], "logged")]
    assert states(svc, lead["id"]) == [("text_underwriter", "logged", 1)]
