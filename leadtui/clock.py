"""The one clock: system time, or the ISO-8601 time in env LEADTUI_NOW."""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_iso(text: str) -> datetime:
    """An aware datetime from ISO-8601 text; a naive one is taken as local time."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))  # noqa: FURB162 (kept: a date alone with Z, "2026-01-01Z", still parses)
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {text!r}") from None
    return value if value.tzinfo else value.astimezone()


def fixed() -> bool:
    """Whether env LEADTUI_NOW sets the clock (honoured on test and demo floors only: see Service)."""
    return bool(os.environ.get("LEADTUI_NOW"))


def now() -> datetime:
    """The current time, aware, honouring LEADTUI_NOW."""
    fixed = os.environ.get("LEADTUI_NOW")
    if fixed:
        return parse_iso(fixed)
    return datetime.now(UTC).astimezone()


def stamp(moment: datetime) -> str:
    """How times are stored: UTC, second precision, ISO-8601 with offset (sorts as text)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone `name` ("America/New_York"), or None if there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, malformed, or a folder's name
        return None


def system_zone() -> tzinfo:
    """The system's time zone: by its IANA name where TZ or /etc/localtime gives one (so a day starts
    at the right hour across a DST change), else the offset it has now."""
    name = os.environ.get("TZ")
    if name is None:
        target = str(Path("/etc/localtime").resolve())
        name = target.partition("/zoneinfo/")[2]
    found = zone(name.removeprefix(":")) if name else None
    return found or datetime.now(UTC).astimezone().tzinfo or UTC
