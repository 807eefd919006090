"""Rule B3: the calling window in the lead's local time and the per-phone 24 h cap; and when the
window next opens (D1 says when a refused call can go)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadtui.errors import LeadtuiError

_NY, _CHI, _DEN, _LA = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"

STATE_TZ: dict[str, str] = {
    "AL": _CHI,
    "AK": "America/Anchorage",
    "AZ": "America/Phoenix",
    "AR": _CHI,
    "CA": _LA,
    "CO": _DEN,
    "CT": _NY,
    "DE": _NY,
    "DC": _NY,
    "FL": _NY,
    "GA": _NY,
    "HI": "Pacific/Honolulu",
    "ID": "America/Boise",
    "IL": _CHI,
    "IN": "America/Indiana/Indianapolis",
    "IA": _CHI,
    "KS": _CHI,
    "KY": _NY,
    "LA": _CHI,
    "ME": _NY,
    "MD": _NY,
    "MA": _NY,
    "MI": "America/Detroit",
    "MN": _CHI,
    "MS": _CHI,
    "MO": _CHI,
    "MT": _DEN,
    "NE": _CHI,
    "NV": _LA,
    "NH": _NY,
    "NJ": _NY,
    "NM": _DEN,
    "NY": _NY,
    "NC": _NY,
    "ND": _CHI,
    "OH": _NY,
    "OK": _CHI,
    "OR": _LA,
    "PA": _NY,
    "RI": _NY,
    "SC": _NY,
    "SD": _CHI,
    "TN": _CHI,
    "TX": _CHI,
    "UT": _DEN,
    "VT": _NY,
    "VA": _NY,
    "WA": _LA,
    "WV": _NY,
    "WI": _CHI,
    "WY": _DEN,
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "AS": "Pacific/Pago_Pago",
    "MP": "Pacific/Saipan",
}

FALLBACK_ZONES = (_NY, _CHI, _DEN, _LA)

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _state_key(state: str | None) -> str:
    return (state or "").strip().upper()


def resolve_zone(phone_zones: tuple[str, ...], state: str | None) -> str | None:
    """The phone's only zone, else the state's zone, else None (unknown: every US window must hold)."""
    if len(phone_zones) == 1:
        return phone_zones[0]
    return STATE_TZ.get(_state_key(state))


@dataclass(frozen=True)
class Window:
    """Local hours when a dial is allowed: start inclusive, end exclusive."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        return self.start <= t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class StateRule:
    """A state's overrides; None keeps the default."""

    window: Window | None = None
    max_per_phone_24h: int | None = None


def _window(value: Any, key: str) -> Window:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise LeadtuiError(f'{key}: expected ["HH:MM", "HH:MM"], got {value!r}')
    bounds = []
    for text in value:
        match = _HHMM.match(text)
        if not match:
            raise LeadtuiError(f"{key}: {text!r} is not a time HH:MM")
        bounds.append(time(int(match[1]), int(match[2])))
    if bounds[0] >= bounds[1]:
        raise LeadtuiError(f"{key}: start {value[0]!r} must be before end {value[1]!r}")
    return Window(bounds[0], bounds[1])


def _cap(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LeadtuiError(f"{key}: expected a whole number of at least 1, got {value!r}")
    return value


def _gap(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LeadtuiError(f"{key}: expected a whole number of minutes (0 or more), got {value!r}")
    return value


def _overrides(table: Mapping[str, Any], key: str) -> tuple[Window | None, int | None]:
    """The window and cap a config table sets, None where it is silent."""
    window = _window(table["window"], f"{key}.window") if "window" in table else None
    cap = table.get("max_per_phone_24h")
    return window, None if cap is None else _cap(cap, f"{key}.max_per_phone_24h")


@dataclass(frozen=True)
class CallingRules:
    """The default window and cap, with per-state overrides keyed by two-letter code, and the
    minimum gap between two calls to one number (D1)."""

    window: Window = Window(time(8), time(21))
    max_per_phone_24h: int = 3
    states: Mapping[str, StateRule] = field(default_factory=dict)
    min_gap_minutes: int = 0

    def window_for(self, state: str | None) -> Window:
        rule = self.states.get(_state_key(state))
        return rule.window if rule and rule.window else self.window

    def cap_for(self, state: str | None) -> int:
        rule = self.states.get(_state_key(state))
        cap = rule.max_per_phone_24h if rule else None
        return self.max_per_phone_24h if cap is None else cap

    def windows(self) -> list[Window]:
        return [self.window] + [r.window for r in self.states.values() if r.window]

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CallingRules:
        """Rules from the `[calling]` config table; every key optional."""
        window, cap = _overrides(section, "calling")
        states = {
            _state_key(code): StateRule(*_overrides(table, f"calling.states.{code}"))
            for code, table in section.get("states", {}).items()
        }
        gap = _gap(section.get("min_gap_minutes", 0), "calling.min_gap_minutes")
        return cls(window or cls.window, cap or cls.max_per_phone_24h, states, gap)


@dataclass(frozen=True)
class Verdict:
    """May this phone be dialled now; reason is one line for the screen and the CLI."""

    ok: bool
    reason: str = ""
    overridable: bool = True
    local: datetime | None = None


def check_dial(
    now: datetime,
    *,
    zone: str | None,
    state: str | None,
    dnc: bool,
    litigator: bool,
    bad: bool,
    dials_24h: int,
    rules: CallingRules,
    override: bool = False,
) -> Verdict:
    """Rule B3 for one dial; override skips only the window and the cap."""
    if litigator:
        return Verdict(False, "phone is flagged litigator: never dialled", overridable=False)
    if dnc:
        return Verdict(False, "phone is on the do-not-call list: never dialled", overridable=False)
    if bad:
        return Verdict(False, "phone is marked bad", overridable=False)
    local = now.astimezone(ZoneInfo(zone)) if zone else None
    if not override:
        window = rules.window_for(state)
        for name in (zone,) if zone else FALLBACK_ZONES:
            there = now.astimezone(ZoneInfo(name))
            if not window.contains(there.time()):
                where = f"lead-local ({name})" if zone else f"in {name}, local time unknown"
                reason = f"outside calling hours: {there:%H:%M} {where}, window {window}"
                return Verdict(False, reason, local=local)
        cap = rules.cap_for(state)
        if dials_24h >= cap:
            noun = "dial" if dials_24h == 1 else "dials"
            reason = f"{dials_24h} {noun} to this phone in the last 24 h (cap {cap})"
            return Verdict(False, reason, local=local)
    return Verdict(True, local=local)


def next_open(moment: datetime, zone: str | None, window: Window) -> datetime | None:
    """The first moment from `moment` on inside `window` in the zone's local time (zone unknown: in
    every fallback zone at once), or None when those zones' windows never overlap."""
    zones = [ZoneInfo(name) for name in ((zone,) if zone else FALLBACK_ZONES)]
    at = moment
    for _ in range(2 * len(zones) + 1):
        closed = [z for z in zones if not window.contains(at.astimezone(z).time())]
        if not closed:
            return at
        local = at.astimezone(closed[0])
        day = local.date() + timedelta(days=0 if local.time() < window.start else 1)
        at = datetime.combine(day, window.start, tzinfo=closed[0])
    return None


class OpenNow:
    """Is a lead's zone (its phone's, else its state's) inside `window` at `now`: a coarse filter for
    the queue's SQL, worked out once per zone."""

    def __init__(self, now: datetime, window: Window):
        self.now, self.window = now, window
        self._seen: dict[str | None, bool] = {}

    def __call__(self, phone_zone: str | None, state: str | None) -> bool:
        zone = phone_zone or STATE_TZ.get(_state_key(state))
        if zone not in self._seen:
            zones = (zone,) if zone else FALLBACK_ZONES
            self._seen[zone] = all(
                self.window.contains(self.now.astimezone(ZoneInfo(z)).time()) for z in zones
            )
        return self._seen[zone]


def widest(windows: list[Window]) -> Window:
    return Window(min(w.start for w in windows), max(w.end for w in windows))


def narrowest(windows: list[Window]) -> Window:
    return Window(max(w.start for w in windows), min(w.end for w in windows))
