"""The TOML configuration: where it lives, what it may say, and its defaults."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

import platformdirs

from leadtui.clock import zone
from leadtui.core.calling import STATE_TZ
from leadtui.core.controls import CONTROLS
from leadtui.core.playbook import Playbook, read_regular
from leadtui.core.stations import reason_problem
from leadtui.errors import LeadtuiError

APP = "leadtui"
BUILTIN_PLAYBOOKS = ("wholesale", "lifecycle")
AUTOMATION_DEFAULTS = {"mode": "log", "delay_seconds": 30, "max_attempts": 8}
SMS_DEFAULTS = {"api_base": "https://api.twilio.com"}
US_STATES = frozenset(STATE_TZ)
DATABASE_SCHEMES = ("postgresql://", "postgres://")  # as store.postgres.SCHEMES (not imported: no store here)


def _env_path(name: str, fallback: Callable[[], Path]) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else fallback()


def data_dir() -> Path:
    """The user data folder; env LEADTUI_DATA_DIR overrides."""
    return _env_path("LEADTUI_DATA_DIR", lambda: platformdirs.user_data_path(APP))


def config_dir() -> Path:
    """The user config folder; env LEADTUI_CONFIG_DIR overrides."""
    return _env_path("LEADTUI_CONFIG_DIR", lambda: platformdirs.user_config_path(APP))


def default_db_path() -> Path:
    """Where the database lives unless told otherwise."""
    return data_dir() / "leads.db"


def config_path(explicit: str | None = None) -> tuple[Path, bool]:
    """The config file and whether it was named (--config, then env LEADTUI_CONFIG)."""
    named = explicit or os.environ.get("LEADTUI_CONFIG")
    if named:
        return Path(named).expanduser(), True
    return config_dir() / "config.toml", False


# The schema's nodes: a dict is a table of known keys; a callable is a leaf check
# returning a problem or None; _Req marks a required key; _Map is a table of free
# keys (each passing `key`, if given) with like values; _Tagged picks a table by its tag.


@dataclass(frozen=True)
class _Req:
    node: Node


@dataclass(frozen=True)
class _Map:
    value: Node
    key: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class _Tagged:
    tag: str
    variants: dict[str, dict]
    default: str | None = None  # the variant of a table without the tag (else the tag is required)


Node = dict | _Map | _Tagged | Callable[[Any], str | None]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _leaf(ok: Callable[[Any], Any], problem: str) -> Callable[[Any], str | None]:
    """A check: None when `ok(value)`, else the problem."""
    return lambda v: None if ok(v) else problem


def _int(low: int, high: int = 2**31 - 1) -> Callable[[Any], str | None]:
    """An integer from `low` to `high` (by default what any count or number of seconds here may be)."""
    return lambda v: (
        "must be an integer"
        if not _is_int(v)
        else (f"must be >= {low}" if v < low else f"must be <= {high:,}, got {v:,}" if v > high else None)
    )


def _one_of(names: Iterable[str]) -> str:
    return "must be one of " + ", ".join(f'"{n}"' for n in names)


def _choice(*names: str) -> Callable[[Any], str | None]:
    return _leaf(lambda v: v in names, _one_of(names))


def _is_ip(v: str) -> bool:
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _is_window(v: Any) -> bool:
    ok = isinstance(v, list) and len(v) == 2 and all(isinstance(t, str) and _HHMM.fullmatch(t) for t in v)
    return ok and v[0] < v[1]


_str = _leaf(lambda v: isinstance(v, str), "must be a string")
_zone = _leaf(
    lambda v: isinstance(v, str) and zone(v) is not None,
    'must be an IANA time zone name, e.g. "America/New_York"',
)
_nonempty = _leaf(lambda v: isinstance(v, str) and v, "must be a non-empty string")
_bool = _leaf(lambda v: isinstance(v, bool), "must be true or false")
_seconds = _leaf(lambda v: (_is_int(v) or isinstance(v, float)) and v > 0, "must be a number > 0")


def _seconds_upto(high: int) -> Callable[[Any], str | None]:
    """A number of seconds > 0 and at most `high`."""
    return lambda v: _seconds(v) or (f"must be <= {high}" if v > high else None)


_argv = _leaf(
    lambda v: isinstance(v, list) and v and all(isinstance(a, str) for a in v),
    "must be a non-empty array of strings",
)
_window = _leaf(_is_window, 'must be ["HH:MM", "HH:MM"] with the start before the end')


def _database_url(v: Any) -> str | None:
    """[database] url: a SQLite file's path, or a PostgreSQL server's postgresql:// address."""
    if not isinstance(v, str) or not v.strip() or "\x00" in v:
        return "must be a database file's path or a postgresql:// address"
    if "://" in v and not v.startswith(DATABASE_SCHEMES):
        return "must be a database file's path or a postgresql:// address (no other server is known)"
    return None


_host_port = _leaf(lambda v: isinstance(v, str) and re.fullmatch(r"[^:\s]+:\d+", v), 'must be "host:port"')
_state = _leaf(lambda k: k in US_STATES, "must be a two-letter US state code in capitals")


def _pause_codes(v: Any) -> str | None:
    if not (isinstance(v, list) and v and all(isinstance(c, str) for c in v)):
        return "must be a non-empty array of strings"
    problem = next((p for c in v if (p := reason_problem(c))), None)
    if problem:
        return f"has a bad code: {problem}"
    return "has a code twice" if len({c.strip().lower() for c in v}) < len(v) else None


def _secrets(*names: str) -> dict:
    """A secret may be given directly or as NAME_env naming an environment variable."""
    return {k: _nonempty for n in names for k in (n, f"{n}_env")}


_LIMITS = {"window": _window, "max_per_phone_24h": _int(1)}
_KIND = {"kind": _Req(_str)}
_TARGET = _Tagged(
    "kind",
    {
        "webhook": _KIND | {"url": _Req(_nonempty), "timeout_seconds": _seconds} | _secrets("secret"),
        "sms": _KIND
        | {"api_base": _nonempty, "from": _Req(_nonempty), "to": _Req(_nonempty), "timeout_seconds": _seconds}
        | _secrets("account_sid", "auth_token"),
        "email": _KIND
        | {
            "smtp": _Req(_host_port),
            "username": _str,
            "from": _nonempty,
            "to": _Req(_nonempty),
            "starttls": _bool,
            "timeout_seconds": _seconds,
        }
        | _secrets("password"),
        "command": _KIND | {"argv": _Req(_argv), "timeout_seconds": _seconds},
    },
)
# [dialer]: the station's phone system (leadtui.telephony); a table without `kind` is "manual".
_port = _int(1, 65535)
_line = _leaf(
    lambda v: isinstance(v, str) and v.strip() and not re.search(r"[\x00-\x1f\x7f]", v),
    "must be a non-empty string on one line",
)
_ip = _leaf(lambda v: isinstance(v, str) and _is_ip(v), "must be an IP address")
_audio = _leaf(
    lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9_]+(,[^\x00-\x1f\x7f]*)?", v),
    'must be "module,device" (e.g. "alsa,default")',
)
_DIAL = {"kind": _str, "ring_seconds": _seconds_upto(600)}
_OWN_BARESIP = {  # a baresip the station starts itself
    "account": _line,
    "sip_port": _port,
    "control_port": _port,
    "config_dir": _nonempty,
    "sip_address": _ip,
    "audio_source": _audio,
    "audio_player": _audio,
} | _secrets("auth_pass")
_DIALER = _Tagged(
    "kind",
    {
        "manual": _DIAL,
        "baresip": _DIAL | {"uri": _Req(_line), "control": _host_port} | _OWN_BARESIP,
        "twilio": _DIAL
        | {"from": _Req(_line), "to": _Req(_line), "api_base": _nonempty, "poll_seconds": _seconds_upto(60)}
        | _secrets("account_sid", "auth_token"),
        "ami": _DIAL
        | {
            "host": _Req(_line),
            "port": _port,
            "username": _Req(_line),
            "channel": _Req(_line),
            "context": _Req(_line),
            "caller_id": _line,
        }
        | _secrets("secret"),
        "command": _DIAL | {"argv": _Req(_argv), "timeout_seconds": _seconds_upto(3600)},
    },
    default="manual",
)
DIALER_BASE = {"kind": "manual", "ring_seconds": 30}
DIALER_DEFAULTS: dict[str, dict] = {  # by kind, over DIALER_BASE
    "manual": {},
    "baresip": {"audio_source": "alsa,default", "audio_player": "alsa,default"},
    "twilio": {"api_base": "https://api.twilio.com", "poll_seconds": 1},
    "ami": {"port": 5038},
    "command": {"timeout_seconds": 30},
}
SCHEMA: dict = {
    "rep": _str,
    "playbook": _nonempty,
    "keys": _Map(_nonempty),
    "calling": _LIMITS | {"states": _Map(_LIMITS, key=_state), "min_gap_minutes": _int(0)},
    "automation": {
        "mode": _choice("log", "dispatch"),
        "delay_seconds": _int(0),
        "max_attempts": _int(1),
        "log_path": _nonempty,
        "routes": _Map(_nonempty),
        "targets": _Map(_TARGET),
    },
    "database": {
        "busy_timeout_ms": _int(0),
        "url": _database_url,
    },  # leadtui's own addition to the SPEC's format
    "floor": {
        "reserve_seconds": _int(10),  # F2: how long the lead on a station's screen stays reserved
        "pause_codes": _pause_codes,  # the reasons a rep picks from to pause (issue 16)
        "timezone": _zone,  # the floor's day and hours for KPIs, "Today", reports, the agenda (W20)
        "require_pin": _bool,  # a station opens only with its rep's own PIN (issue 16)
    },
    "dialer": _DIALER,
}


class _Invalid(Exception):
    """A config problem, worded without the file name."""


_CREDENTIALS = re.compile(r"(://[^:/@\s]*:)[^/\s]*@|((?:^|[?&;\s])password=)[^&;\s\"]*", re.IGNORECASE)


def _show(v: Any) -> str:
    """A value in an error line; a password in an address (user:PASSWORD@ or password=) masked."""
    return masked_url("a table" if isinstance(v, dict) else json.dumps(v, default=str, ensure_ascii=False))


def _check(node: Node, v: Any, key: str) -> None:
    """Raise _Invalid naming the dotted key where `v` breaks `node`."""

    def at(k: str) -> str:
        return f"{key}.{k}" if key else k

    if isinstance(node, (dict, _Map, _Tagged)) and not isinstance(v, dict):
        raise _Invalid(f"{key} must be a table, got {_show(v)}")
    if isinstance(node, _Tagged):
        tag = v.get(node.tag, node.default)
        if tag is None:
            raise _Invalid(f"{at(node.tag)} is required")
        if tag not in node.variants:
            raise _Invalid(f"{at(node.tag)} {_one_of(node.variants)}, got {_show(tag)}")
        node = node.variants[tag]
    if isinstance(node, dict):
        for k, sub in v.items():
            if k not in node:
                raise _Invalid(f"unknown key '{at(k)}'")
            _check(getattr(node[k], "node", node[k]), sub, at(k))
        for k in (k for k, sub in node.items() if isinstance(sub, _Req) and k not in v):
            raise _Invalid(f"{at(k)} is required")
    elif isinstance(node, _Map):
        for k, sub in v.items():
            if node.key and (problem := node.key(k)):
                raise _Invalid(f"{at(k)}: {k!r} {problem}")
            _check(node.value, sub, at(k))
    elif problem := node(v):
        raise _Invalid(f"{key} {problem}, got {_show(v)}")


_SIP_TEMPLATE = re.compile(r"sips?:[^@{}\s]*\{number\}[^@{}\s]*@[^@{}\s]+")
_ACCOUNT = re.compile(r"<?sips?:[^\s;>@]+@[^\s;>]+")


def _check_dialer(d: dict) -> None:
    """What the schema can't say about [dialer]: keys that go together, templates, required secrets."""
    kind = d.get("kind", "manual")
    for name in ("account_sid", "auth_token", "secret"):
        if name in _DIALER.variants[kind] and name not in d and f"{name}_env" not in d:
            raise _Invalid(f'dialer.{name} (or {name}_env) is required for kind "{kind}"')
    if kind == "twilio" and not d.get("api_base", "https://").startswith(("http://", "https://")):
        raise _Invalid(f"dialer.api_base must start with http:// or https://, got {_show(d['api_base'])}")
    if kind == "ami" and re.search(r"[\r\n]", d.get("secret", "")):
        raise _Invalid("dialer.secret must be on one line")
    if kind == "command" and not any("{number}" in arg for arg in d["argv"]):
        raise _Invalid(f"dialer.argv must pass {{number}} in one of its arguments, got {_show(d['argv'])}")
    if kind != "baresip":
        return
    if not _SIP_TEMPLATE.fullmatch(d["uri"]):
        raise _Invalid(
            "dialer.uri must be a full SIP URI using {number} (and no other {...}) before the @, "
            f'e.g. "sip:{{number}}@pbx.example:5060", got {_show(d["uri"])}'
        )
    own = [k for k in _OWN_BARESIP if k in d]
    if "control" in d:
        if own:
            raise _Invalid(
                f"dialer.{own[0]} is for a baresip the station starts (dialer.account); "
                "with dialer.control leadtui uses one already running"
            )
        return
    for k in ("account", "sip_port", "control_port"):
        if k not in d:
            raise _Invalid(f'dialer.{k} is required for kind "baresip" (or dialer.control, a running one)')
    if not _ACCOUNT.match(d["account"]):
        raise _Invalid(
            f'dialer.account must be a SIP account line such as "<sip:1001@pbx.example>;regint=3600", '
            f"got {_show(d['account'])}"
        )
    if ("auth_pass" in d or "auth_pass_env" in d) and "auth_pass=" in d["account"]:
        raise _Invalid("dialer.account has an auth_pass and so does dialer.auth_pass; keep one")
    if d["control_port"] in (d["sip_port"], d["sip_port"] + 1):
        raise _Invalid(
            "dialer.control_port must be neither dialer.sip_port nor sip_port + 1 (baresip takes both), "
            f"got {d['control_port']}"
        )


def _validate(raw: dict) -> None:
    _check(SCHEMA, raw, "")
    if "dialer" in raw:
        _check_dialer(raw["dialer"])
    auto = raw.get("automation", {})
    for action, target in auto.get("routes", {}).items():
        if target not in auto.get("targets", {}):
            raise _Invalid(
                f"automation.routes.{action} names target '{target}', which is not in [automation.targets]"
            )


# [keys]: what the screen's key table (ui.keys, which needs Textual) checks, checked here without it.
_KEY_NAME = re.compile(r"(.|[a-z0-9_+]+)")
_CONTROL_EXTRA_KEYS = {"next": "down", "previous": "up"}  # as ui.keys.CONTROL_ACTIONS adds them
_KEY_REPLACEMENTS = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def key_name(key: str) -> str:
    """A key as the screen names it: one punctuation character by its Unicode name (`/` is `slash`)."""
    key = key.strip()
    if len(key) != 1 or key.isalnum():
        return key
    try:
        name = unicodedata.name(key).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return key
    return _KEY_REPLACEMENTS.get(name, name)


def _check_key_names(keymap: dict[str, str]) -> None:
    for name, keys in keymap.items():
        for key in keys.split(","):
            if not _KEY_NAME.fullmatch(key.strip()):
                raise _Invalid(
                    f"keys.{name}: {key.strip()!r} is not a key name (one character, or a name "
                    "such as f5, space, ctrl+p)"
                )


def check_keys(keymap: dict[str, str], playbook: Playbook) -> None:
    """[keys] against a playbook: every name a status or control, no key given twice (the screen's rules)."""
    table = [(s.id, s.label, [s.key, *s.alt_keys]) for s in playbook.statuses if s.settable]
    table += [(c.id, c.label, [c.key, _CONTROL_EXTRA_KEYS.get(c.id, "")]) for c in CONTROLS]
    known = sorted(id_ for id_, _, _ in table)
    for name in keymap:
        if name not in known:
            raise LeadtuiError(
                f"config key keys.{name}: not a status or control (one of: {', '.join(known)})"
            )
    taken: dict[str, tuple[str, str]] = {}
    for id_, label, defaults in table:
        keys = [key_name(k) for k in keymap[id_].split(",")] if id_ in keymap else [k for k in defaults if k]
        for key in keys:
            if key in taken:
                other = taken[key]
                mine, theirs = (
                    (other, (id_, label))
                    if other[0] in keymap and id_ not in keymap
                    else ((id_, label), other)
                )
                raise LeadtuiError(f"config key keys.{mine[0]}: {key!r} is already the key of {theirs[1]}")
            taken[key] = (id_, label)


MASK = "********"
SECRET_KEYS = ("secret", "account_sid", "auth_token", "password", "auth_pass")
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^/@:]*:)([^/@]*)(@)", re.IGNORECASE)
_AUTH_PASS = re.compile(r"(auth_pass=)([^;>\s]*)")


def _masked(table: dict) -> dict:
    """A target or [dialer] to show: a secret given directly (not its *_env name), a URL's password and
    a SIP account line's auth_pass masked."""
    shown = {k: MASK if k in SECRET_KEYS else v for k, v in table.items()}
    for k in ("url", "api_base"):
        if isinstance(shown.get(k), str):
            shown[k] = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), shown[k])
    if isinstance(shown.get("account"), str):
        shown["account"] = _AUTH_PASS.sub(lambda m: m.group(1) + MASK, shown["account"])
    return shown


class StateLimits(TypedDict, total=False):
    """[calling.states.XX]: one state's window and cap, over [calling]'s."""

    window: list[str]  # ["HH:MM", "HH:MM"] in the lead's local time
    max_per_phone_24h: int


class CallingConfig(StateLimits, total=False):
    """[calling]: the default window and cap (B3), per-state overrides, the gap between two calls (D1)."""

    states: dict[str, StateLimits]  # by two-letter state code
    min_gap_minutes: int


class AutomationConfig(TypedDict):
    """[automation] with its defaults filled in and its log path resolved."""

    mode: Literal["log", "dispatch"]
    delay_seconds: int
    max_attempts: int
    log_path: str
    routes: dict[str, str]  # action -> target name
    targets: dict[str, dict[str, Any]]  # name -> a table checked by its kind (_TARGET)


class DatabaseConfig(TypedDict, total=False):
    """[database] (leadtui's own addition to the SPEC's format)."""

    busy_timeout_ms: int
    url: str  # the floor's database: a file's path (relative: from the config's folder) or postgresql://


class FloorConfig(TypedDict, total=False):
    """[floor]."""

    reserve_seconds: int  # F2: how long the lead on a station's screen stays reserved
    pause_codes: list[str]  # the reasons to pause (default core.stations.PAUSE_CODES)
    timezone: str  # IANA name: the floor's day (default: the system's zone)
    require_pin: bool  # a station opens only with its rep's own PIN (issue 16)


@dataclass(frozen=True)
class Config:
    """A loaded, validated configuration."""

    path: Path
    raw: dict
    rep: str | None
    playbook: str | None
    keys: dict[str, str]
    calling: CallingConfig
    automation: AutomationConfig
    dialer: dict = field(default_factory=lambda: dict(DIALER_BASE))
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    floor: FloorConfig = field(default_factory=FloorConfig)

    def check_keys(self, playbook: Playbook) -> None:
        """[keys] against the floor's playbook (the one stored in the database); errors name the file."""
        try:
            check_keys(self.keys, playbook)
        except LeadtuiError as exc:
            raise LeadtuiError(f"{self.path}: {exc}") from None

    def masked_automation(self) -> dict:
        """[automation] to show, secrets masked."""
        targets = {name: _masked(table) for name, table in self.automation["targets"].items()}
        return {**self.automation, "targets": targets}

    def masked_dialer(self) -> dict:
        """[dialer] to show, secrets masked."""
        return _masked(self.dialer)

    def masked_database(self) -> dict:
        """[database] to show, a password in its url masked."""
        shown: dict[str, Any] = dict(self.database)
        if "url" in shown:
            shown["url"] = masked_url(shown["url"])
        return shown


def _beside(path: Path, value: str) -> str:
    """A path from the config, relative ones taken from the config file's folder."""
    return str(path.parent / Path(value).expanduser())


def load(explicit: str | None = None) -> Config:
    """Read and validate the config; a missing file is empty unless it was named."""
    path, named = config_path(explicit)
    try:
        raw = tomllib.loads(read_regular(path).decode("utf-8"))
        _validate(raw)
        _check_key_names(raw.get("keys", {}))
    except FileNotFoundError:
        if named:
            raise LeadtuiError(f"config file not found: {path}") from None
        raw = {}
    except OSError as e:
        raise LeadtuiError(f"{path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, _Invalid) as e:
        raise LeadtuiError(f"{path}: {e}") from None
    playbook = raw.get("playbook")
    if playbook is not None and playbook not in BUILTIN_PLAYBOOKS:
        playbook = _beside(path, playbook)
    if playbook is not None and raw.get("keys"):  # the floor's own playbook is checked when it is opened
        from leadtui.core.playbook import load as load_playbook

        try:
            check_keys(raw["keys"], load_playbook(playbook))
        except LeadtuiError as exc:
            raise LeadtuiError(f"{path}: {exc}") from None
    given = raw.get("automation", {})
    log_path = (
        _beside(path, given["log_path"]) if "log_path" in given else str(data_dir() / "automation.jsonl")
    )
    targets = {
        name: (SMS_DEFAULTS if t["kind"] == "sms" else {}) | t for name, t in given.get("targets", {}).items()
    }
    routes = given.get("routes", {})
    # checked against SCHEMA by _validate above: the table is what AutomationConfig says
    automation = cast(
        AutomationConfig,
        AUTOMATION_DEFAULTS | given | {"log_path": log_path, "routes": routes, "targets": targets},
    )
    return Config(
        path,
        raw,
        raw.get("rep"),
        playbook,
        raw.get("keys", {}),
        raw.get("calling", {}),
        automation,
        _dialer(path, raw),
        database=_database(path, raw),
        floor=raw.get("floor", {}),
    )


def _database(path: Path, raw: dict) -> DatabaseConfig:
    """[database]; a relative file path in `url` taken from the config file's folder."""
    given = cast(DatabaseConfig, dict(raw.get("database", {})))
    url = given.get("url")
    if url is not None and not url.startswith(DATABASE_SCHEMES):
        given["url"] = _beside(path, url)
    return given


def masked_url(url: str | Path) -> str:
    """An address to show: a password in it (`user:PASSWORD@`, or a `password=` parameter) masked."""
    return _CREDENTIALS.sub(lambda m: f"{m.group(1) or m.group(2)}***{'@' if m.group(1) else ''}", str(url))


def _dialer(path: Path, raw: dict) -> dict:
    """[dialer] with its defaults; a relative config_dir taken from the config file's folder."""
    given = raw.get("dialer", {})
    kind = given.get("kind", "manual")
    dialer = DIALER_BASE | DIALER_DEFAULTS[kind] | given
    if "config_dir" in given:
        dialer["config_dir"] = _beside(path, given["config_dir"])
    return dialer


class OptionValue(LeadtuiError):
    """A filled argv value that a program would read as an option."""

    def __init__(self, index: int, value: str):
        super().__init__(
            f"argv[{index}] would pass {value[:40]!r}, which starts with '-': a program would read it "
            'as an option (put "--" before it in argv)'
        )
        self.index, self.value = index, value


def fill_argv(templates: list[str], fill: Callable[[int, str], str]) -> list[str]:
    """The argv of a config's `argv` templates, each filled by `fill(index, template)`. A value that came
    from outside can't become an option: an argument whose template doesn't itself start with `-` but
    whose value does raises OptionValue, unless a `--` argument comes before it (after which programs
    read no options)."""
    argv, ended = [], False
    for i, template in enumerate(templates):
        value = fill(i, template)
        if value.startswith("-") and "{" in template and not template.startswith("-") and not ended:
            raise OptionValue(i, value)
        ended = ended or template == "--"
        argv.append(value)
    return argv


def secret(table: dict, name: str, where: str) -> str | None:
    """The secret `name` of `table`, given directly or via `name_env`; None if neither."""
    env = table.get(f"{name}_env")
    if env is None:
        return table.get(name)
    if name in table:
        raise LeadtuiError(f"config.toml: {where} gives both {name} and {name}_env; keep one")
    value = os.environ.get(env)
    if not value:
        raise LeadtuiError(f"config.toml: {where}.{name}_env names {env}, which is not set")
    return value
