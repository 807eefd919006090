"""[dialer]: each kind's keys and defaults, every mistake one line naming the key, secrets given
directly or as NAME_env (read when the phone is opened), masked by `config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from leadtui import config
from leadtui.errors import LeadtuiError
from leadtui.telephony import open_phone

BARESIP = """
[dialer]
kind = "baresip"
uri = "sip:{number}@pbx.example:5060"
account = "<sip:1001@pbx.example>;regint=3600"
auth_pass = "sip-direct-password"
sip_port = 5070
control_port = 4444
config_dir = "phone"
sip_address = "192.0.2.10"
audio_source = "alsa,plughw:1"
audio_player = "alsa,plughw:1"
ring_seconds = 25
"""
TWILIO = """
[dialer]
kind = "twilio"
account_sid = "AC-direct-sid-value"
auth_token_env = "LEADTUI_TEST_TWILIO_TOKEN"
from = "+15555550100"
to = "sip:rep1@floor.sip.twilio.com"
"""
AMI = """
[dialer]
kind = "ami"
host = "pbx.example"
username = "leadtui"
secret = "ami-direct-secret"
channel = "PJSIP/1001"
context = "from-internal"
caller_id = "Floor <+15555550100>"
"""
COMMAND = """
[dialer]
kind = "command"
argv = ["deskphone", "dial", "--", "{number}"]
"""


def load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return config.load(str(path))


def error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(LeadtuiError) as caught:
        config.load(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message.removeprefix(f"{path}: ")


def test_no_dialer_is_manual(tmp_path: Path) -> None:
    assert load(tmp_path, 'rep = "alice"\n').dialer == {"kind": "manual", "ring_seconds": 30}
    assert load(tmp_path, "[dialer]\nring_seconds = 20\n").dialer == {"kind": "manual", "ring_seconds": 20}
    assert open_phone(load(tmp_path, "").dialer, station="s").name == "manual"


def test_each_kind_takes_its_keys_and_defaults(tmp_path: Path) -> None:
    dialer = load(tmp_path, BARESIP).dialer
    assert dialer["config_dir"] == str(tmp_path / "phone")  # beside the config file
    assert (dialer["sip_port"], dialer["control_port"], dialer["ring_seconds"]) == (5070, 4444, 25)
    twilio = load(tmp_path, TWILIO).dialer
    assert (twilio["api_base"], twilio["poll_seconds"], twilio["ring_seconds"]) == (
        "https://api.twilio.com",
        1,
        30,
    )
    assert load(tmp_path, AMI).dialer["port"] == 5038
    assert load(tmp_path, COMMAND).dialer["timeout_seconds"] == 30
    running = '[dialer]\nkind = "baresip"\nuri = "sips:{number}@10.0.0.5"\ncontrol = "127.0.0.1:4444"\n'
    assert load(tmp_path, running).dialer["control"] == "127.0.0.1:4444"
    own = load(
        tmp_path,
        '[dialer]\nkind = "baresip"\nuri = "sip:{number}@pbx"\naccount = "<sip:a@b>"\n'
        "sip_port = 5060\ncontrol_port = 4444\n",
    ).dialer
    assert own["audio_source"] == own["audio_player"] == "alsa,default"


BASE = '[dialer]\nkind = "baresip"\nuri = "sip:{number}@pbx.example"\n'
OWN = BASE + 'account = "<sip:1001@pbx.example>"\nsip_port = 5060\ncontrol_port = 4444\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dialer = 1\n", "dialer must be a table, got 1"),
        (
            '[dialer]\nkind = "fax"\n',
            'dialer.kind must be one of "manual", "baresip", "twilio", "ami", "command"',
        ),
        ("[dialer]\nring_seconds = 0\n", "dialer.ring_seconds must be a number > 0, got 0"),
        ("[dialer]\nring_seconds = 601\n", "dialer.ring_seconds must be <= 600, got 601"),
        ('[dialer]\nring_seconds = "30"\n', 'dialer.ring_seconds must be a number > 0, got "30"'),
        ("[dialer]\nring_seconds = nan\n", "dialer.ring_seconds must be a number > 0"),
        ('[dialer]\nuri = "sip:{number}@x"\n', "unknown key 'dialer.uri'"),
        ('[dialer]\nkind = "baresip"\ncontrol = "127.0.0.1:4444"\n', "dialer.uri is required"),
        (BASE.replace("{number}", "1001"), "dialer.uri must be a full SIP URI using {number}"),
        (BASE.replace("{number}", "{lead.phone}"), "dialer.uri must be a full SIP URI using {number}"),
        (BASE.replace("@pbx.example", "@{host}"), "dialer.uri must be a full SIP URI using {number}"),
        (BASE.replace("sip:", "tel:"), "dialer.uri must be a full SIP URI using {number}"),
        (BASE.replace("@pbx.example", ""), "dialer.uri must be a full SIP URI using {number}"),
        (BASE, 'dialer.account is required for kind "baresip" (or dialer.control, a running one)'),
        (BASE + 'control = "localhost"\n', 'dialer.control must be "host:port", got "localhost"'),
        (OWN + 'control = "127.0.0.1:4444"\n', "dialer.account is for a baresip the station starts"),
        (OWN.replace("sip_port = 5060", "sip_port = 70000"), "dialer.sip_port must be <= 65,535, got 70,000"),
        (OWN.replace("sip_port = 5060\n", ""), "dialer.sip_port is required"),
        (OWN.replace("4444", "5061"), "dialer.control_port must be neither dialer.sip_port nor sip_port + 1"),
        (OWN.replace("4444", "5060"), "dialer.control_port must be neither"),
        (OWN.replace('"<sip:1001@pbx.example>"', '"1001"'), "dialer.account must be a SIP account line"),
        (
            OWN.replace('example>"', 'example>;auth_pass=x"') + 'auth_pass = "y"\n',
            "dialer.account has an auth_pass and so does dialer.auth_pass; keep one",
        ),
        (OWN.replace('example>"', 'example>\\nx"'), "dialer.account must be a non-empty string on one line"),
        (OWN + 'sip_address = "localhost"\n', 'dialer.sip_address must be an IP address, got "localhost"'),
        (OWN + 'audio_source = "ALSA"\n', 'dialer.audio_source must be "module,device"'),
        (OWN + 'auth_pass = ""\n', 'dialer.auth_pass must be a non-empty string, got ""'),
        (TWILIO.replace('from = "+15555550100"\n', ""), "dialer.from is required"),
        (
            TWILIO.replace('auth_token_env = "LEADTUI_TEST_TWILIO_TOKEN"\n', ""),
            'dialer.auth_token (or auth_token_env) is required for kind "twilio"',
        ),
        (TWILIO + "poll_seconds = 0\n", "dialer.poll_seconds must be a number > 0, got 0"),
        (
            TWILIO + 'api_base = "ftp://x"\n',
            'dialer.api_base must start with http:// or https://, got "ftp://x"',
        ),
        (TWILIO + 'channel = "PJSIP/1"\n', "unknown key 'dialer.channel'"),
        (
            AMI.replace('secret = "ami-direct-secret"\n', ""),
            'dialer.secret (or secret_env) is required for kind "ami"',
        ),
        (AMI.replace('"ami-direct-secret"', '"a\\r\\nAction: Logoff"'), "dialer.secret must be on one line"),
        (
            AMI.replace('"PJSIP/1001"', '"PJSIP/1001\\nAction: Logoff"'),
            "dialer.channel must be a non-empty string on one line",
        ),
        (AMI + "port = 0\n", "dialer.port must be >= 1, got 0"),
        (AMI.replace('context = "from-internal"\n', ""), "dialer.context is required"),
        (COMMAND.replace('"{number}"', '"+1"'), "dialer.argv must pass {number} in one of its arguments"),
        (
            '[dialer]\nkind = "command"\nargv = "dial {number}"\n',
            "dialer.argv must be a non-empty array of strings",
        ),
        (COMMAND + "timeout_seconds = 4000\n", "dialer.timeout_seconds must be <= 3600, got 4000"),
    ],
)
def test_dialer_mistakes_are_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text).startswith(message)


def test_secrets_from_env_are_read_when_the_phone_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialer = load(tmp_path, TWILIO).dialer
    monkeypatch.delenv("LEADTUI_TEST_TWILIO_TOKEN", raising=False)
    with pytest.raises(LeadtuiError) as caught:
        open_phone(dialer, station="s")
    assert str(caught.value) == (
        "config.toml: dialer.auth_token_env names LEADTUI_TEST_TWILIO_TOKEN, which is not set"
    )
    monkeypatch.setenv("LEADTUI_TEST_TWILIO_TOKEN", "token-from-env")
    phone = open_phone(dialer, station="s")
    assert (phone.name, phone.token, phone.sid) == ("twilio", "token-from-env", "AC-direct-sid-value")  # type: ignore[attr-defined]
    both = TWILIO.replace("auth_token_env", 'auth_token = "x"\nauth_token_env')
    with pytest.raises(LeadtuiError, match="both auth_token and auth_token_env; keep one"):
        open_phone(load(tmp_path, both).dialer, station="s")


def test_config_show_masks_dialer_secrets(cli_env: Path) -> None:
    path = cli_env / "config.toml"
    for text, direct in (
        (BARESIP, "sip-direct-password"),
        (TWILIO, "AC-direct-sid-value"),
        (AMI, "ami-direct-secret"),
        (OWN.replace('example>"', 'example>;auth_pass=inline-secret;regint=60"'), "inline-secret"),
    ):
        path.write_text(text)
        for args in (("config", "show"), ("config", "show", "--json")):
            out = run_cli("--config", str(path), *args).stdout
            assert direct not in out, out
        shown = json.loads(run_cli("--config", str(path), "config", "show", "--json").stdout)["dialer"]
        assert "********" in json.dumps(shown)
    assert shown["account"] == "<sip:1001@pbx.example>;auth_pass=********;regint=60"
    path.write_text(TWILIO)
    shown = json.loads(run_cli("--config", str(path), "config", "show", "--json").stdout)["dialer"]
    assert shown["auth_token_env"] == "LEADTUI_TEST_TWILIO_TOKEN"  # a variable's name, shown
    assert (shown["account_sid"], shown["from"]) == ("********", "+15555550100")
