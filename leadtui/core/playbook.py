"""Playbooks: the status set as TOML data, loaded and checked.

A bad file gets one error naming the file, the line and the field.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from leadtui.core.controls import CONTROL_KEYS
from leadtui.errors import LeadtuiError

BUILTIN = ("wholesale", "lifecycle")
MAX_FILE_BYTES = 1 << 20  # a playbook or config file: the built-ins are ~10 KiB
GROUPS = ("grey", "purple", "green", "yellow", "red")
OWNERSHIP = ("keep", "claim", "release", "hold", "kill")
KPI_COUNTERS = ("dials", "contacts", "appointments", "offers", "contracts", "under_contract")
INPUTS = ("appointment_at", "amount")
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*$")
_KEY = re.compile(r"(.|[a-z0-9_+]+)$")


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Status:
    id: str
    label: str
    group: str
    symbol: str
    key: str
    description: str
    ownership: str
    alt_keys: tuple[str, ...] = ()
    hold_days: int = 0
    cooloff_days: int = 0
    actions: tuple[str, ...] = ()
    kpi: tuple[str, ...] = ()
    dial: bool = False
    run_length: int = 3
    cadence_days: int = 1
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    confirm_sources: tuple[str, ...] = ()
    reports_per_phone: int = 0
    approval_days: int = 0
    draft: str = ""
    suggest: tuple[str, ...] = ()

    @property
    def settable(self) -> bool:
        """A status with no key is set only by an import or `add`."""
        return bool(self.key)


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    initial: str
    groups: tuple[Group, ...]
    statuses: tuple[Status, ...]
    source: str = field(repr=False, default="")
    tabs: str = "group"

    def status(self, status_id: str) -> Status:
        for s in self.statuses:
            if s.id == status_id:
                return s
        known = ", ".join(s.id for s in self.statuses)
        raise LeadtuiError(f"unknown status {status_id!r} in playbook {self.name} (one of: {known})")

    def label(self, status_id: str) -> str:
        """The status's label, or its id when the playbook has no such status (a switched playbook)."""
        return next((s.label for s in self.statuses if s.id == status_id), status_id)

    def in_group(self, group: str) -> tuple[Status, ...]:
        return tuple(s for s in self.statuses if s.group == group)


# field -> (type, required, check); check returns an error text or None
def _one_of(values: Collection[str]) -> Callable[[Any], str | None]:
    return lambda v: None if v in values else f"{v!r} is not one of {', '.join(values)}"


def _each_of(values: Collection[str]) -> Callable[[Any], str | None]:
    return lambda v: next((f"{x!r} is not one of {', '.join(values)}" for x in v if x not in values), None)


def _positive(v: int) -> str | None:
    return None if v > 0 else "must be at least 1"


def _key(v: str) -> str | None:
    return None if v == "" or _KEY.match(v) else f"{v!r} is not a key name"


_STR_LIST = list
_STATUS_FIELDS = {
    "id": (str, True, lambda v: None if _ID.match(v) else f"{v!r} is not kebab-case"),
    "label": (str, True, None),
    "group": (str, True, _one_of(GROUPS)),
    "symbol": (str, True, lambda v: None if len(v) == 1 else "must be one character"),
    "key": (str, True, _key),
    "alt_keys": (_STR_LIST, False, lambda v: next((_key(k) for k in v if _key(k)), None)),
    "description": (str, True, None),
    "ownership": (str, True, _one_of(OWNERSHIP)),
    "hold_days": (int, False, _positive),
    "cooloff_days": (int, False, _positive),
    "actions": (
        _STR_LIST,
        False,
        lambda v: next(
            (f"{a!r} is not snake_case" for a in v if not re.fullmatch(r"[a-z][a-z0-9_]*", a)), None
        ),
    ),
    "kpi": (_STR_LIST, False, _each_of(KPI_COUNTERS)),
    "dial": (bool, False, None),
    "run_length": (int, False, _positive),
    "cadence_days": (int, False, _positive),
    "requires": (_STR_LIST, False, _each_of(INPUTS)),
    "optional": (_STR_LIST, False, _each_of(INPUTS)),
    "confirm_sources": (_STR_LIST, False, None),
    "reports_per_phone": (int, False, _positive),
    "approval_days": (int, False, _positive),
    "draft": (str, False, None),
    "suggest": (_STR_LIST, False, None),
}
_TOP_FIELDS = {"name": str, "description": str, "initial": str, "tabs": str, "group": list, "status": list}
TABS = ("group", "status")  # the screen's pipeline tabs: one per colour group (B1) or per status (L3)
_GROUP_FIELDS = {
    "id": (str, True, _one_of(GROUPS)),
    "label": (str, True, None),
    "description": (str, False, None),
}


class _Locator:
    """Maps a field of the n-th [[table]] back to its line in the text."""

    def __init__(self, filename: str, text: str):
        self.filename = filename
        self.lines = text.splitlines()

    def line(self, table: str | None, index: int, key: str | None) -> int:
        header = re.compile(r"\s*\[\[\s*" + re.escape(table) + r"\s*\]\]") if table else None
        start, seen = (0 if table is None else None), -1
        for n, text in enumerate(self.lines):
            if header and header.match(text):
                seen += 1
                if seen == index:
                    start = n
                    continue
            if start is None:
                continue
            if n > start and text.lstrip().startswith("["):
                break
            if key and re.match(r"\s*" + re.escape(key) + r"\s*=", text):
                return n + 1
        return (start or 0) + 1

    def error(self, table: str | None, index: int, key: str | None, message: str) -> LeadtuiError:
        where = f"{table}[{index + 1}]." if table else ""
        return LeadtuiError(
            f"{self.filename}:{self.line(table, index, key)}: field '{where}{key}': {message}"
        )


def _check(spec: dict, entry: dict, table: str, index: int, loc: _Locator) -> dict:
    for name in entry:
        if name not in spec:
            raise loc.error(table, index, name, "unknown field")
    out = {}
    for name, (kind, required, check) in spec.items():
        if name not in entry:
            if required:
                raise loc.error(table, index, name, "missing")
            continue
        value = entry[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise loc.error(
                table, index, name, f"must be {'a list' if kind is list else kind.__name__}, got {value!r}"
            )
        if kind is list and not all(isinstance(x, str) for x in value):
            raise loc.error(table, index, name, "must be a list of strings")
        problem = check(value) if check else None
        if problem:
            raise loc.error(table, index, name, problem)
        out[name] = tuple(value) if kind is list else value
    return out


def _syntax_error(filename: str, text: str, exc: tomllib.TOMLDecodeError) -> LeadtuiError:
    """A TOML syntax error as `file:line: field 'x': message`, the field read off that line."""
    message = str(exc)
    found = re.search(r"\(at line (\d+), column \d+\)", message)
    if not found:
        return LeadtuiError(f"{filename}: {message}")
    line = int(found.group(1))
    lines = text.splitlines()
    key = re.match(r"\s*([A-Za-z0-9_-]+)\s*=", lines[line - 1]) if line <= len(lines) else None
    field = f" field '{key.group(1)}':" if key else ""
    return LeadtuiError(f"{filename}:{line}:{field} {message}")


def parse(text: str, filename: str) -> Playbook:
    """Build a Playbook from TOML text; LeadtuiError names file, line and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(filename, text, exc) from None
    loc = _Locator(filename, text)
    for name, value in data.items():
        if name not in _TOP_FIELDS:
            raise loc.error(None, 0, name, "unknown field")
        if not isinstance(value, _TOP_FIELDS[name]):
            raise loc.error(None, 0, name, f"must be {_TOP_FIELDS[name].__name__}")
    for name in ("name", "initial", "status"):
        if name not in data:
            raise loc.error(None, 0, name, "missing")
    groups = tuple(
        Group(**_check(_GROUP_FIELDS, g, "group", i, loc)) for i, g in enumerate(data.get("group", []))
    )
    if not groups:
        groups = tuple(Group(g, g.title()) for g in GROUPS)
    statuses: list[Status] = []
    keys: dict[str, str] = {}  # key -> the status it sets
    for i, entry in enumerate(data["status"]):
        status = Status(**_check(_STATUS_FIELDS, entry, "status", i, loc))
        if any(s.id == status.id for s in statuses):
            raise loc.error("status", i, "id", f"{status.id!r} is used twice")
        if status.group not in {g.id for g in groups}:
            raise loc.error("status", i, "group", f"{status.group!r} has no [[group]]")
        for name, key in [("key", status.key), *(("alt_keys", k) for k in status.alt_keys)]:
            if not key:
                continue
            if key in CONTROL_KEYS:
                raise loc.error("status", i, name, f"{key!r} is a control's key")
            if key in keys:
                raise loc.error("status", i, name, f"{key!r} is also the key of {keys[key]}")
            keys[key] = status.id
        if status.ownership == "hold" and not status.hold_days:
            raise loc.error("status", i, "hold_days", "ownership 'hold' needs hold_days")
        if status.cooloff_days and status.ownership != "release":
            why = "only a status releasing the lead (ownership 'release') cools off"
            raise loc.error("status", i, "cooloff_days", why)
        statuses.append(status)
    ids = {s.id for s in statuses}
    if data["initial"] not in ids:
        raise loc.error(None, 0, "initial", f"{data['initial']!r} is not a status")
    if data.get("tabs", "group") not in TABS:
        raise loc.error(None, 0, "tabs", f"{data['tabs']!r} is not one of {', '.join(TABS)}")
    for i, status in enumerate(statuses):
        for target in status.suggest:
            if target not in ids:
                raise loc.error("status", i, "suggest", f"{target!r} is not a status")
    return Playbook(
        data["name"],
        data.get("description", ""),
        data["initial"],
        groups,
        tuple(statuses),
        text,
        data.get("tabs", "group"),
    )


def read_regular(path: Path, cap: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `cap` bytes.

    A FIFO, a device (/dev/zero) or a folder is refused before anything is read, and opening never
    blocks (O_NONBLOCK: a FIFO would wait for a writer). Errors opening it are OSError, as `open`'s;
    the rest is one LeadtuiError naming the file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise LeadtuiError(
                f"{path}: not a regular file (a FIFO, a device or a folder can't be read here)"
            )
        data = f.read(cap + 1)
    if len(data) > cap:
        raise LeadtuiError(f"{path}: larger than {cap >> 20} MiB; a playbook or config is far smaller")
    return data


def load(name_or_path: str) -> Playbook:
    """A built-in playbook by name, or a playbook file by path."""
    if name_or_path in BUILTIN:
        text = (resources.files("leadtui") / "playbooks" / f"{name_or_path}.toml").read_text("utf-8")
        return parse(text, f"{name_or_path}.toml")
    path = Path(name_or_path)
    try:
        text = read_regular(path).decode("utf-8")
    except OSError as exc:
        raise LeadtuiError(f"can't read playbook {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LeadtuiError(f"{path}: not UTF-8 text") from None
    return parse(text, str(path))
