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
DEEP_AREAS = frozenset({"246", "658", "876"})  # patterns there go to the 7th digit
_UNKNOWN = object()


class Phones:
    """A per-import cache: `read(cell, state)` -> (E.164, zone) or None."""

    def __init__(self) -> None:
        self._prefixes: dict[str, tuple[str, ...] | None] = {}  # NPA-NXX -> zones, None when invalid

    def read(self, cell: str, state: str | None) -> tuple[str, str | None] | None:
        """The number in E.164 and its zone (the number's own, else the state's: B3); None if invalid."""
        digits = cell.encode().translate(None, _ASCII_PUNCT).decode() if cell.isascii() else cell.translate(_PUNCT)
        plus = digits.startswith("+")
        if plus:
            digits = digits[1:]
        if digits.isascii() and digits.isdigit() and (len(digits) == 10 and not plus
                                                      or len(digits) == 11 and digits[0] == "1"):
            national = digits[-10:]
            if national[:3] not in DEEP_AREAS:
                zones = self._prefixes.get(national[:6], _UNKNOWN)
                if zones is _UNKNOWN:
                    zones = self._prefixes[national[:6]] = self._lookup(national)
                return None if zones is None else ("+1" + national, resolve_zone(zones, state))
        e164 = phonelib.normalize(cell)  # the slow path: rare, so not cached (zones may hang on the 7th digit)
        return None if e164 is None else (e164, resolve_zone(phonelib.time_zones(e164), state))

    @staticmethod
    def _lookup(national: str) -> tuple[str, ...] | None:
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
        if not phonenumbers.is_valid_number(number):
            return None
        return tuple(z for z in time_zones_for_number(number) if z != "Etc/Unknown")
