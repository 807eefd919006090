"""Rule W18: read when the lead asked to be called, and schedule the call half way there."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from leadtui.errors import LeadtuiError

MAX_MONTHS = 60

_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_UNITS = {  # unit word -> (kind, multiplier)
    **dict.fromkeys(("d", "day", "days"), ("days", 1)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), ("days", 7)),
    **dict.fromkeys(("mo", "mos", "mon", "mons", "month", "months"), ("months", 1)),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), ("months", 12)),
}
_AMOUNT = re.compile(r"^(\d+|[a-z]+)\s*([a-z]+)$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, the day clamped to the month's end (Jan 31 + 1 = Feb 28/29)."""
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _on(day: date, now: datetime) -> datetime:
    return now.replace(year=day.year, month=day.month, day=day.day)


def _duration(text: str) -> tuple[str, int] | None:
    words = " ".join(text.lower().split()).removeprefix("in ").removesuffix(" from now")
    match = _AMOUNT.match(words)
    if not match or match[2] not in _UNITS:
        return None
    amount = int(match[1]) if match[1].isdigit() else _WORDS.get(match[1], 0)
    kind, multiplier = _UNITS[match[2]]
    return (kind, amount * multiplier) if amount > 0 else None


def _slashed(month: int, day: int, year: str | None, now: datetime) -> datetime | None:
    """MM/DD/YYYY, or MM/DD at its next occurrence after now."""
    years = [int(year)] if year else range(now.year, now.year + 6)  # 02/29 may be years away
    for number in years:
        try:
            candidate = _on(date(number, month, day), now)
        except ValueError:
            continue
        if year or candidate > now:
            return candidate
    return None


def _date(text: str, now: datetime) -> datetime | None:
    slashed = _SLASHED.match(text)
    if slashed:
        return _slashed(int(slashed[1]), int(slashed[2]), slashed[3], now)
    try:
        return _on(date.fromisoformat(text), now)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def _parse(text: str, now: datetime) -> tuple[datetime, str, int]:
    """(requested, kind, amount) with kind "days", "months" or "date" (amount 0)."""
    error = LeadtuiError(
        f"can't read follow-up {text!r}: say e.g. '6 months', '3 weeks', '90 days' or a date"
    )
    stripped = text.strip()
    limit = add_months(now, MAX_MONTHS)
    duration = _duration(stripped)
    if duration:
        kind, amount = duration
        if kind == "months" and amount <= MAX_MONTHS:
            return add_months(now, amount), kind, amount
        if kind == "days" and amount <= (limit - now).days:
            return now + timedelta(days=amount), kind, amount
        raise error
    requested = _date(stripped, now)
    if requested is None or not now < requested <= limit:
        raise error
    return requested, "date", 0


def parse_request(text: str, now: datetime) -> datetime:
    """When the lead asked to be called: "6 months", "in 3 weeks", "a year", "2027-03-01", ..."""
    return _parse(text, now)[0]


def half_way(now: datetime, text: str) -> tuple[datetime, datetime]:
    """(requested, scheduled): the call goes at half the requested interval, calendar-correct."""
    requested, kind, amount = _parse(text, now)
    if kind == "months":
        scheduled = add_months(now, amount // 2)
        if amount % 2:
            gap = add_months(now, amount // 2 + 1).date() - scheduled.date()
            scheduled += timedelta(days=gap.days // 2)
        return requested, scheduled
    days = amount if kind == "days" else (requested - now).days
    return requested, min(now + timedelta(days=max(1, days // 2)), requested)
