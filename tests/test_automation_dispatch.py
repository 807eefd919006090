"""`leadtui dispatch` and `leadtui outbox` as real processes and through the CLI: SIGKILL mid-delivery
loses nothing, two dispatchers never send one action twice, SIGTERM finishes the delivery in
flight, config errors exit 2 naming the key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from conftest import START
from test_automation_targets import (
    SECRET,
    WAIT,
    Sink,
    needs_offer,
    states,
    webhook_config,
    write_config,
)

from leadtui.cli import cli

pytestmark = [pytest.mark.usefixtures("isolated_dirs"), pytest.mark.engines]  # user folders in tmp_path

LATER = START + timedelta(minutes=1)  # past the 30 s undo window


@pytest.fixture
def env(tmp_path, make_service):
    """Environment for a dispatcher process on the test database (created, with reps)."""
    svc = make_service()
    return {
        **os.environ,
        "LEADTUI_DB": str(svc.db.path),
        "LEADTUI_CONFIG": str(tmp_path / "config.toml"),
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
        "LEADTUI_CONFIG_DIR": str(tmp_path / "conf"),
        "LEADTUI_NOW": LATER.isoformat(),
        "TEST_WEBHOOK_SECRET": SECRET,
    }


def dispatcher(env: dict, *args: str, now=LATER) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "leadtui", "dispatch", "--json", *args],
        env={**env, "LEADTUI_NOW": now.isoformat()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=WAIT * 3)
    assert proc.returncode == 0 and "Traceback" not in err, (proc.returncode, err)
    return json.loads(out)


def test_sigkill_mid_delivery_then_the_next_run_delivers(make_service, env, tmp_path):
    svc = make_service()
    arrived, release = threading.Event(), threading.Event()
    with Sink(hold=lambda n: n == 0 and (arrived.set(), release.wait(WAIT))) as sink:
        write_config(tmp_path, webhook_config(sink.url))
        lead = needs_offer(svc)
        proc = dispatcher(env, "--once")
        try:
            assert arrived.wait(WAIT)
        finally:
            proc.kill()
            proc.wait(WAIT)
            release.set()
        assert proc.returncode == -signal.SIGKILL
        [row] = svc.outbox(lead_id=lead["id"])
        assert (row["state"], row["attempts"]) == ("pending", 1)  # leased, outcome never recorded
        assert finish(dispatcher(env, "--once"))["sent"] == 0  # the lease still holds
        assert finish(dispatcher(env, "--once", now=LATER + timedelta(minutes=2)))["sent"] == 1
    assert states(svc, lead["id"]) == [("text_underwriter", "sent", 2)]
    keys = [r["headers"]["webhook-id"] for r in sink.requests]
    assert keys == [row["idempotency_key"]] * 2  # at least once, one key


def test_two_dispatchers_at_once_never_send_one_action_twice(make_service, env, tmp_path):
    svc = make_service()
    both_in_flight = threading.Barrier(2, timeout=WAIT)
    overlapped = []

    def hold(n: int) -> None:
        if n < 2:  # one dispatcher sends one request at a time: two in flight means two dispatchers
            both_in_flight.wait()
            overlapped.append(n)

    with Sink(hold=hold) as sink:
        write_config(tmp_path, webhook_config(sink.url))
        leads = [needs_offer(svc) for _ in range(30)]
        procs = [dispatcher(env, "--once") for _ in range(2)]
        results = [finish(p) for p in procs]
    assert sorted(overlapped) == [0, 1]
    keys = [r["headers"]["webhook-id"] for r in sink.requests]
    assert len(keys) == len(set(keys)) == 30
    assert sum(r["sent"] for r in results) == 30 and all(r["sent"] for r in results)
    assert {s for lead in leads for _, s, _ in states(svc, lead["id"])} == {"sent"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_finishes_the_delivery_in_flight_then_exits(make_service, env, tmp_path, signum):
    svc = make_service()
    arrived, release = threading.Event(), threading.Event()
    with Sink(hold=lambda n: n == 0 and (arrived.set(), release.wait(WAIT))) as sink:
        write_config(tmp_path, webhook_config(sink.url))
        first, second = needs_offer(svc), needs_offer(svc)
        proc = dispatcher(env, "--watch")
        try:
            assert arrived.wait(WAIT)
            proc.send_signal(signum)
        finally:
            release.set()
        assert finish(proc) == {"sent": 1, "logged": 0, "failed": 0, "dead": 0}
    assert states(svc, first["id"]) == [("text_underwriter", "sent", 1)]
    assert states(svc, second["id"]) == [("text_underwriter", "pending", 0)]
    assert len(sink.requests) == 1


# --- through the CLI ---------------------------------------------------------------------------


def cli_run(env: dict, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    if code:
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
            result.stderr
        )
    return result


HOOK = '[automation.targets.underwriter]\nkind = "webhook"\nurl = "http://127.0.0.1:9/"\n'


@pytest.mark.parametrize(
    "text, key",
    [
        ('[automation]\nmode = "loud"\n', "automation.mode must be one of"),
        (
            '[automation.routes]\ntext_underwriter = "nobody"\n',
            "automation.routes.text_underwriter names target 'nobody'",
        ),
        (
            '[automation]\nmode = "dispatch"\n' + HOOK + 'secret_env = "LEADTUI_TEST_NOT_SET"\n',
            "automation.targets.underwriter.secret_env names LEADTUI_TEST_NOT_SET, which is not set",
        ),
        (
            '[automation]\nmode = "dispatch"\n' + HOOK,
            "automation.targets.underwriter.secret (or secret_env) is required",
        ),
        (
            '[automation]\nmode = "dispatch"\n[automation.targets.t]\nkind = "sms"\naccount_sid = "AC1"\nfrom = "+1"\nto = "+2"\n',
            "automation.targets.t.auth_token (or auth_token_env) is required",
        ),
        (
            '[automation]\nmode = "dispatch"\n[automation.targets.t]\nkind = "webhook"\nurl = "ftp://x"\nsecret = "s"\n',
            "automation.targets.t.url must start with http:// or https://",
        ),
        (
            '[automation]\nmode = "dispatch"\n[automation.targets.t]\nkind = "command"\nargv = ["notify", "{lead.phone"]\n',
            "automation.targets.t.argv[1]: unexpected end of template",
        ),
        (
            '[automation.routes]\ntext_underwritr = "underwriter"\n' + HOOK + 'secret = "s"\n',
            "automation.routes.text_underwritr: no status of playbook wholesale queues that action",
        ),
    ],
)
def test_config_errors_exit_2_naming_the_key(env, tmp_path, text, key):
    (tmp_path / "config.toml").write_text(text)
    env.pop("LEADTUI_TEST_NOT_SET", None)
    assert key in cli_run(env, "dispatch", "--once", code=2).stderr


def test_outbox_lists_as_before_and_retry_sends_a_dead_action_again(
    make_service, open_worker, env, tmp_path, clock
):
    write_config(
        tmp_path,
        '[automation]\nmode = "dispatch"\n[automation.routes]\ntext_underwriter = "gone"\n'
        '[automation.targets.gone]\nkind = "command"\nargv = ["/nonexistent/notify"]\n',
    )
    svc = make_service()
    lead = needs_offer(svc)
    clock.set(LATER)
    assert open_worker(write_config(tmp_path, (tmp_path / "config.toml").read_text())).run_once() == {
        "dead": 1
    }
    [row] = json.loads(cli_run(env, "outbox", "--json").stdout)
    assert {k: row[k] for k in ("lead_id", "action", "state", "attempts")} == {
        "lead_id": lead["id"],
        "action": "text_underwriter",
        "state": "dead",
        "attempts": 1,
    }
    assert json.loads(cli_run(env, "outbox", "--state", "pending", "--json").stdout) == []
    assert f"#{row['id']}" in cli_run(env, "outbox", "--lead", str(lead["id"])).stdout
    again = json.loads(cli_run(env, "outbox", "retry", str(row["id"]), "--json").stdout)
    assert (again["id"], again["state"], again["attempts"]) == (row["id"], "pending", 0)
    assert "only a dead or failed action" in cli_run(env, "outbox", "retry", str(row["id"]), code=1).stderr
    assert "no action 999" in cli_run(env, "outbox", "retry", "999", code=2).stderr
