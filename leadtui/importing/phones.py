"""Phone cells to E.164 at import speed, with the time zone per number.

Most vendor cells are plain NANP numbers: `(305) 555-0101`, `305.555.0101`, `+1 305 555 0101`,
`13055550101`. For those the digits are read directly, and validity and zones come from
phonenumbers once per NPA-NXX (area code + exchange): its NANP metadata looks no deeper than
those six digits, except in Barbados (246) and Jamaica (876, 658), whose numbers always take
the slow path; its +1 time-zone prefixes are at most six digits long, and the zones also
depend on the number's type (fixed or mobile), decided by the same six digits. (Checked once over
every NPA-NXX with five line numbers each: 3 prefixes varied, all in those areas;
tests/test_import_phones.py keeps checking samples against phonenumbers.) Anything else
(letters, extensions, other countries, Excel's `3055550101.0`) goes to `core.phones.normalize`.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers.timezone import time_zones_for_number

from leadtui.core import phones as phonelib
from leadtui.core.calling import resolve_zone

_PUNCT = str.maketrans("", "", " ()-.\u00a0\t")
_ASCII_PUNCT = b" ()-.\t"  # the same, for ASCII cells: bytes.translate is ~2x faster than str.translate
DEEP_AREAS = frozenset({b"246", b"658", b"876"})  # patterns there go to the 7th digit
_UNKNOWN, _SLOW, _STATE = (
    object(),
    object(),
    (),
)  # a prefix not looked up yet; one in DEEP_AREAS; zone by state


class Phones:
    """A per-import cache: `read(cell, state)` -> (E.164, zone) or None."""

    def __init__(self) -> None:
        # NPA-NXX -> the number's zone, _STATE (the state's), None (invalid) or _SLOW
        self._prefixes: dict[bytes, object] = {}

    def read(self, cell: str, state: str | None) -> tuple[str, str | None] | None:
        """The number in E.164 and its zone (the number's own, else the state's: B3); None if invalid."""
        digits = (
            cell.encode().translate(None, _ASCII_PUNCT) if cell.isascii() else cell.translate(_PUNCT).encode()
        )
        size, national = len(digits), digits[-10:]
        if (
            size == 10 or (size == 11 and digits[0] == 49) or (size == 12 and digits[:2] == b"+1")
        ) and national.isdigit():
            zone = self._prefixes.get(national[:6], _UNKNOWN)
            if zone is _UNKNOWN:
                zone = self._prefixes[national[:6]] = (
                    _SLOW if national[:3] in DEEP_AREAS else self._lookup(national)
                )
            if zone is None:
                return None
            if zone is not _SLOW:
                return "+1" + national.decode(), resolve_zone(zone, state) if zone is _STATE else zone
        e164 = phonelib.normalize(
            cell
        )  # the slow path: rare, so not cached (zones may hang on the 7th digit)
        return None if e164 is None else (e164, resolve_zone(phonelib.time_zones(e164), state))

    @staticmethod
    def _lookup(national: bytes) -> object:
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
        if not phonenumbers.is_valid_number(number):
            return None
        zones = [z for z in time_zones_for_number(number) if z != "Etc/Unknown"]
        return zones[0] if len(zones) == 1 else _STATE
