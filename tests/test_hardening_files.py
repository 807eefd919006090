"""Issue 17: files that aren't files (item 6) and the config checked whole, secrets masked (item 17).

A FIFO or /dev/zero given as the config or a playbook is refused with one line and exit 2, without
blocking or reading it; configs and playbooks are size-capped. The commands run as real processes
(`python -m leadtui`), so a command that would block is a process the test can still stop; the
timeout on it is a guard against hanging the suite, never an assertion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

GUARD = 60  # seconds: only so a regression fails instead of hanging the suite


def leadtui(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
        "LEADTUI_CONFIG_DIR": str(tmp_path / "conf"),
        "LEADTUI_DB": str(tmp_path / "leads.db"),
    }
    for name in ("LEADTUI_CONFIG", "LEADTUI_REP", "LEADTUI_NOW"):
        env.pop(name, None)
    try:
        return subprocess.run(
            [sys.executable, "-m", "leadtui", *args],
            env=env,
            input=stdin,
            text=True,
            capture_output=True,
            timeout=GUARD,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"leadtui {' '.join(args)} blocked")


def refused(done: subprocess.CompletedProcess, *words: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)
    return path


# --- item 6: configs ------------------------------------------------------------------------------


def test_hardening_files_config_fifo_refused_without_blocking(tmp_path, fifo):
    refused(leadtui(tmp_path, "--config", str(fifo), "config", "show"), str(fifo), "not a regular file")
    refused(leadtui(tmp_path, "config", "show", "--config", str(fifo)), "not a regular file")


def test_hardening_files_config_dev_zero_refused_unread(tmp_path):
    refused(leadtui(tmp_path, "--config", "/dev/zero", "config", "show"), "/dev/zero", "not a regular file")


def test_hardening_files_config_size_capped(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)  # 2 MB of comments: valid TOML, far too big for a config
    refused(leadtui(tmp_path, "--config", str(big), "config", "show"), str(big), "larger than 1 MiB")


# --- item 6: playbooks ----------------------------------------------------------------------------


def test_hardening_files_playbook_fifo_refused_without_blocking(tmp_path, fifo):
    refused(leadtui(tmp_path, "init", "--playbook", str(fifo)), str(fifo), "not a regular file")
    assert not (tmp_path / "leads.db").exists() or "playbook" not in (
        tmp_path / "leads.db"
    ).read_bytes().decode("latin-1")


def test_hardening_files_playbook_dev_zero_refused_unread(tmp_path):
    refused(leadtui(tmp_path, "init", "--playbook", "/dev/zero"), "/dev/zero", "not a regular file")


def test_hardening_files_playbook_named_by_the_config_is_checked(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('playbook = "/dev/zero"\n')
    refused(leadtui(tmp_path, "--config", str(config), "init"), "/dev/zero", "not a regular file")


def test_hardening_files_playbook_size_capped(tmp_path):
    text = Path(__file__).parents[1].joinpath("leadtui", "playbooks", "wholesale.toml").read_text()
    big = tmp_path / "big.toml"
    big.write_text(text + "# padding\n" * 200_000)
    refused(leadtui(tmp_path, "init", "--playbook", str(big)), str(big), "larger than 1 MiB")


# --- item 17: secrets masked, [keys] checked by every command ---------------------------------

SECRETS = """
[automation]
mode = "dispatch"
[automation.routes]
text_underwriter = "hook"
send_contract_link = "seller"
deal_info_form = "mail"
[automation.targets.hook]
kind = "webhook"
url = "https://hookuser:hook-url-pass@example.invalid/hooks"
secret = "whsec-direct-secret-value"
[automation.targets.seller]
kind = "sms"
account_sid = "AC-direct-sid-value"
auth_token = "direct-token-value"
from = "+15555550100"
to = "{lead.phone}"
[automation.targets.mail]
kind = "email"
smtp = "smtp.example.invalid:587"
username = "floor"
password = "direct-smtp-password"
to = "deals@example.invalid"
[automation.targets.mail_env]
kind = "email"
smtp = "smtp.example.invalid:587"
username = "floor"
password_env = "SMTP_PASSWORD_VARIABLE"
to = "deals@example.invalid"
"""
DIRECT = (
    "whsec-direct-secret-value",
    "AC-direct-sid-value",
    "direct-token-value",
    "direct-smtp-password",
    "hook-url-pass",
)


def test_hardening_config_show_masks_secrets(cli_env):
    config = cli_env / "config.toml"
    config.write_text(SECRETS)
    for args in (("config", "show"), ("config", "show", "--json")):
        out = run_cli("--config", str(config), *args).stdout
        for value in DIRECT:
            assert value not in out, (value, out)
        assert "SMTP_PASSWORD_VARIABLE" in out  # an *_env value is a name, shown
    shown = json.loads(run_cli("--config", str(config), "config", "show", "--json").stdout)
    targets = shown["automation"]["targets"]
    assert (
        targets["hook"]["secret"]
        == targets["seller"]["auth_token"]
        == targets["mail"]["password"]
        == "********"
    )
    assert targets["hook"]["url"] == "https://hookuser:********@example.invalid/hooks"
    assert targets["mail_env"]["password_env"] == "SMTP_PASSWORD_VARIABLE"
    assert targets["mail"]["username"] == "floor"


@pytest.mark.parametrize(
    "keys, expected",
    [
        ('bogus = "z"', "config key keys.bogus: not a status or control"),
        ('needs-offer = "c"', "config key keys.needs-offer: 'c' is already the key of Claim"),
        ('claim = "ctrl+Banana"', "keys.claim: 'ctrl+Banana' is not a key name"),
    ],
)
def test_hardening_config_keys_checked_by_every_command(cli_env, monkeypatch, keys, expected):
    monkeypatch.delenv("LEADTUI_NOW")  # the real clock: a test-clock floor is not what this is about
    run_cli("init")
    run_cli("reps", "add", "alice")
    config = cli_env / "config.toml"
    config.write_text(f'playbook = "wholesale"\n[keys]\n{keys}\n')
    for args in (("leads", "--rep", "alice"), ("config", "show"), ("outbox",), ("reps", "list")):
        assert expected in run_cli("--config", str(config), *args, code=2).stderr


def test_hardening_config_keys_checked_against_the_floors_playbook_by_dispatch(cli_env, monkeypatch):
    monkeypatch.delenv("LEADTUI_NOW")
    run_cli("init", "--playbook", "lifecycle")
    config = cli_env / "config.toml"
    config.write_text('[keys]\nneeds-offer = "9"\n')  # a wholesale status; this floor is lifecycle
    assert (
        "config key keys.needs-offer: not a status or control"
        in run_cli("--config", str(config), "dispatch", code=2).stderr
    )
    config.write_text('[keys]\nengage = "9"\n')
    run_cli("--config", str(config), "dispatch")


def test_hardening_huge_delay_seconds_is_a_one_line_error_naming_the_value(tmp_path):
    from leadtui import config as configlib
    from leadtui.errors import LeadtuiError

    path = tmp_path / "config.toml"
    path.write_text("[automation]\ndelay_seconds = 99999999999999\n", "utf-8")
    with pytest.raises(LeadtuiError, match=r"automation\.delay_seconds.*99,999,999,999,999"):
        configlib.load(str(path))


def test_hardening_run_without_a_terminal_exits_2_at_once(tmp_path):
    env = {
        **os.environ,
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
        "LEADTUI_CONFIG_DIR": str(tmp_path / "config"),
    }
    env.pop("LEADTUI_NOW", None)
    with open(os.devnull, "rb") as stdin, open(tmp_path / "out.txt", "wb") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "leadtui", "run", "--demo"],
            stdin=stdin,
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 2
    assert (
        proc.stderr.decode().strip().splitlines()[-1]
        == "error: leadtui run needs a terminal (its input and output are not one)"
    )


def test_hardening_database_files_are_private(cli_env):
    run_cli("init", "--test-clock")
    run_cli("reps", "add", "alice")
    db = cli_env / "leads.db"
    assert os.stat(db).st_mode & 0o777 == 0o600
    assert os.stat(f"{db}-wal").st_mode & 0o777 == 0o600
    run_cli("backup", str(cli_env / "copy.db"))
    assert os.stat(cli_env / "copy.db").st_mode & 0o777 == 0o600


def test_hardening_backup_of_a_damaged_database_is_refused(cli_env):
    run_cli("init", "--test-clock")
    for i in range(300):
        run_cli(
            "add",
            "--owner",
            f"Owner {i}",
            "--address",
            f"{i} Long Street Name To Fill Pages",
            "--phone",
            f"(305) 555-{1000 + i}",
        )
    db = cli_env / "leads.db"
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'leads'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:  # scribble over the leads table's pages after its root
        f.seek(root * page + 100)
        f.write(os.urandom(page * 3))
    result = run_cli("backup", str(cli_env / "copy.db"), code=2)
    assert "is damaged" in result.stderr and "no backup written" in result.stderr
    assert not (cli_env / "copy.db").exists() and not (cli_env / "copy.db.partial").exists()
