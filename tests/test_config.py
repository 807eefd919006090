"""The config file: locations, the SPEC example, defaults, errors, secrets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadtui import config
from leadtui.errors import LeadtuiError

SPEC_EXAMPLE = """
rep = "alice"
playbook = "wholesale"

[keys]
not-contacted = "n"
claim = "c"

[calling]
window = ["08:00", "21:00"]
max_per_phone_24h = 3
[calling.states.FL]
window = ["08:00", "20:00"]

[automation]
mode = "log"
delay_seconds = 30
max_attempts = 8
log_path = "..."

[automation.routes]
text_underwriter = "underwriter"
send_contract_link = "seller"
deal_info_form = "transactions"

[automation.targets.underwriter]
kind = "webhook"
url = "https://example.invalid/hooks/leadtui"
secret_env = "LEADTUI_WEBHOOK_SECRET"
[automation.targets.seller]
kind = "sms"
api_base = "https://api.twilio.com"
account_sid_env = "TWILIO_ACCOUNT_SID"
auth_token_env = "TWILIO_AUTH_TOKEN"
from = "+15555550100"
to = "{lead.phone}"
[automation.targets.transactions]
kind = "email"
smtp = "smtp.example.invalid:587"
to = "deals@example.invalid"
"""


@pytest.fixture(autouse=True)
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEADTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEADTUI_CONFIG_DIR", str(tmp_path / "conf"))
    monkeypatch.delenv("LEADTUI_CONFIG", raising=False)
    return tmp_path


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(LeadtuiError) as caught:
        config.load(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message.removeprefix(f"{path}: ")


def test_locations_follow_env(tmp_path: Path) -> None:
    assert config.data_dir() == tmp_path / "data"
    assert config.config_dir() == tmp_path / "conf"
    assert config.default_db_path() == tmp_path / "data" / "leads.db"
    assert config.config_path() == (tmp_path / "conf" / "config.toml", False)
    assert config.config_path("x.toml") == (Path("x.toml"), True)


def test_spec_example_loads(tmp_path: Path) -> None:
    cfg = config.load(str(write(tmp_path, SPEC_EXAMPLE)))
    assert (cfg.rep, cfg.playbook) == ("alice", "wholesale")
    assert cfg.keys == {"not-contacted": "n", "claim": "c"}
    assert cfg.calling["states"]["FL"]["window"] == ["08:00", "20:00"]
    assert cfg.automation["routes"]["send_contract_link"] == "seller"
    assert cfg.automation["targets"]["transactions"]["smtp"] == "smtp.example.invalid:587"
    assert cfg.raw["calling"]["max_per_phone_24h"] == 3


def test_default_missing_file_is_empty_with_defaults(tmp_path: Path) -> None:
    cfg = config.load()
    assert cfg.path == tmp_path / "conf" / "config.toml"
    assert (cfg.raw, cfg.rep, cfg.playbook, cfg.keys, cfg.calling) == ({}, None, None, {}, {})
    assert cfg.automation == {
        "mode": "log",
        "delay_seconds": 30,
        "max_attempts": 8,
        "log_path": str(tmp_path / "data" / "automation.jsonl"),
        "routes": {},
        "targets": {},
    }


def test_defaults_fill_gaps_only(tmp_path: Path) -> None:
    text = '[automation]\ndelay_seconds = 5\n[automation.targets.t]\nkind = "sms"\nfrom = "a"\nto = "b"\n'
    auto = config.load(str(write(tmp_path, text))).automation
    assert (auto["mode"], auto["delay_seconds"], auto["max_attempts"]) == ("log", 5, 8)
    assert auto["targets"]["t"]["api_base"] == "https://api.twilio.com"


def test_named_missing_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(LeadtuiError, match=f"^config file not found: {re.escape(str(missing))}$"):
        config.load(str(missing))
    monkeypatch.setenv("LEADTUI_CONFIG", str(missing))
    with pytest.raises(LeadtuiError, match="config file not found"):
        config.load()


def test_env_config_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'rep = "bob"\n', "other.toml")
    monkeypatch.setenv("LEADTUI_CONFIG", str(path))
    assert config.config_path() == (path, True)
    assert config.load().rep == "bob"
    assert config.load(str(write(tmp_path, 'rep = "carol"\n'))).rep == "carol"  # explicit beats env


def test_relative_paths_resolved_against_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sub"
    folder.mkdir()
    text = 'playbook = "books/mine.toml"\n[automation]\nlog_path = "auto.jsonl"\n'
    cfg = config.load(str(write(folder, text)))
    assert cfg.playbook == str(folder / "books" / "mine.toml")
    assert cfg.automation["log_path"] == str(folder / "auto.jsonl")
    assert config.load(str(write(folder, 'playbook = "/abs/p.toml"\n'))).playbook == "/abs/p.toml"


def test_database_busy_timeout(tmp_path: Path) -> None:
    assert config.load(str(write(tmp_path, "[database]\nbusy_timeout_ms = 5000\n"))).raw["database"] == {
        "busy_timeout_ms": 5000
    }
    assert (
        error(tmp_path, "[database]\nbusy_timeout_ms = -1\n")
        == "database.busy_timeout_ms must be >= 0, got -1"
    )


def test_database_url(tmp_path: Path) -> None:
    """[database] url: a file's path (a relative one from the config's folder) or a server's address."""
    server = "postgresql://leadtui:pw@db.example:5432/floor"
    assert config.load(str(write(tmp_path, f'[database]\nurl = "{server}"\n'))).database["url"] == server
    assert config.load(str(write(tmp_path, '[database]\nurl = "floors/main.db"\n'))).database["url"] == str(
        tmp_path / "floors" / "main.db"
    )
    assert (
        config.load(str(write(tmp_path, '[database]\nurl = "/srv/leads.db"\n'))).database["url"]
        == "/srv/leads.db"
    )
    shown = config.load(str(write(tmp_path, f'[database]\nurl = "{server}"\n'))).masked_database()
    assert shown == {"url": "postgresql://leadtui:***@db.example:5432/floor"}
    assert error(tmp_path, "[database]\nurl = 5\n").startswith("database.url must be a database file's path")
    assert error(tmp_path, '[database]\nurl = ""\n').startswith("database.url must be")
    message = error(tmp_path, '[database]\nurl = "mysql://root:hunter22@db/floor"\n')
    assert message.startswith("database.url must be a database file's path or a postgresql:// address")
    assert "hunter22" not in message and "mysql://root:***@db/floor" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[calling]\nwindw = 1\n", "unknown key 'calling.windw'"),
        ("colour = 1\n", "unknown key 'colour'"),
        ('[calling]\nmax_per_phone_24h = "3"\n', 'calling.max_per_phone_24h must be an integer, got "3"'),
        ("[calling]\nmax_per_phone_24h = true\n", "calling.max_per_phone_24h must be an integer, got true"),
        ("[calling]\nmax_per_phone_24h = 0\n", "calling.max_per_phone_24h must be >= 1, got 0"),
        ("rep = 1\n", "rep must be a string, got 1"),
        ('keys = { claim = "" }\n', 'keys.claim must be a non-empty string, got ""'),
        ("calling = 3\n", "calling must be a table, got 3"),
        ('[calling]\nwindow = ["8:00", "21:00"]\n', "calling.window must be"),
        ('[calling]\nwindow = ["21:00", "08:00"]\n', "calling.window must be"),
        ('[calling]\nwindow = ["08:00"]\n', "calling.window must be"),
        (
            '[calling.states.fl]\nwindow = ["08:00", "20:00"]\n',
            "calling.states.fl: 'fl' must be a two-letter",
        ),
        ("[calling.states.XX]\nmax_per_phone_24h = 2\n", "calling.states.XX: 'XX' must be a two-letter"),
        ("[calling.states.TX]\nmax_per_phone_24h = 0\n", "calling.states.TX.max_per_phone_24h must be >= 1"),
        ("[calling.states.TX]\nextra = 1\n", "unknown key 'calling.states.TX.extra'"),
        ('[automation]\nmode = "loud"\n', 'automation.mode must be one of "log", "dispatch", got "loud"'),
        ("[automation]\ndelay_seconds = 1.5\n", "automation.delay_seconds must be an integer, got 1.5"),
        (
            '[automation.routes]\ntext_underwriter = "x"\n',
            "automation.routes.text_underwriter names target 'x', which is not in [automation.targets]",
        ),
        ('[automation.targets.t]\nurl = "u"\n', "automation.targets.t.kind is required"),
        ('[automation.targets.t]\nkind = "fax"\n', 'automation.targets.t.kind must be one of "webhook"'),
        ('[automation.targets.t]\nkind = "webhook"\n', "automation.targets.t.url is required"),
        (
            '[automation.targets.t]\nkind = "webhook"\nurl = "u"\nto = "x"\n',
            "unknown key 'automation.targets.t.to'",
        ),
        (
            '[automation.targets.t]\nkind = "webhook"\nurl = "u"\ntimeout_seconds = "5"\n',
            'automation.targets.t.timeout_seconds must be a number > 0, got "5"',
        ),
        ('[automation.targets.t]\nkind = "sms"\nto = "x"\n', "automation.targets.t.from is required"),
        (
            '[automation.targets.t]\nkind = "email"\nsmtp = "host"\nto = "x"\n',
            'automation.targets.t.smtp must be "host:port", got "host"',
        ),
        (
            '[automation.targets.t]\nkind = "email"\nsmtp = "h:25"\nto = "x"\nstarttls = 1\n',
            "automation.targets.t.starttls must be true or false, got 1",
        ),
        (
            '[automation.targets.t]\nkind = "command"\nargv = ["a", 1]\n',
            'automation.targets.t.argv must be a non-empty array of strings, got ["a", 1]',
        ),
        ("rep = \n", "Invalid value (at line 1, column 7)"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text).startswith(message)


def test_every_target_kind_accepts_its_keys(tmp_path: Path) -> None:
    text = """
[automation.targets.w]
kind = "webhook"
url = "https://x.invalid"
secret = "s"
timeout_seconds = 2.5
[automation.targets.s]
kind = "sms"
account_sid = "AC1"
auth_token_env = "TOKEN"
from = "+1"
to = "+2"
[automation.targets.e]
kind = "email"
smtp = "mail.invalid:465"
username = "u"
password_env = "PW"
from = "a@x.invalid"
to = "b@x.invalid"
starttls = true
[automation.targets.c]
kind = "command"
argv = ["notify", "{lead.phone}"]
timeout_seconds = 10
"""
    assert set(config.load(str(write(tmp_path, text))).automation["targets"]) == {"w", "s", "e", "c"}


def test_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    where = "automation.targets.underwriter"
    assert config.secret({"secret": "s3"}, "secret", where) == "s3"
    assert config.secret({}, "secret", where) is None
    monkeypatch.setenv("LEADTUI_WEBHOOK_SECRET", "from-env")
    assert config.secret({"secret_env": "LEADTUI_WEBHOOK_SECRET"}, "secret", where) == "from-env"
    monkeypatch.delenv("LEADTUI_WEBHOOK_SECRET")
    with pytest.raises(LeadtuiError) as caught:
        config.secret({"secret_env": "LEADTUI_WEBHOOK_SECRET"}, "secret", where)
    assert str(caught.value) == (
        "config.toml: automation.targets.underwriter.secret_env names LEADTUI_WEBHOOK_SECRET, which is not set"
    )
    with pytest.raises(LeadtuiError, match="both secret and secret_env"):
        config.secret({"secret": "a", "secret_env": "B"}, "secret", where)
