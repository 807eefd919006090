"""Phone cells to E.164 at import speed, with the time zone per number.

Most vendor cells are plain NANP numbers: `(305) 555-0101`, `305.555.0101`, `+1 305 555 0101`,
`13055550101`. For those the digits are read directly and validity comes from phonenumbers
once per NPA-NXX (area code + exchange): its NANP metadata looks no deeper than those six
digits, except in Barbados (246) and Jamaica (876, 658), whose numbers always take the slow
path. Checked once over every NPA-NXX with five line numbers each (3 prefixes varied, all in
those areas); tests/test_import_phones.py keeps checking samples against phonenumbers. Anything else
(letters, extensions, other countries, Excel's `3055550101.0`) goes to
`core.phones.normalize`. Zones are cached per NPA-NXX as well, the longest prefix
phonenumbers' time-zone data uses for +1.
"""

from __future__ import annotations

from leadtui.core import phones as phonelib
from leadtui.core.calling import resolve_zone

_PUNCT = str.maketrans("", "", " ()-.\u00a0\t")
DEEP_AREAS = frozenset({"246", "658", "876"})  # patterns there go to the 7th digit


class Phones:
    """A per-import cache: `normalize(cell)` and `zone(e164, state)`."""

    def __init__(self) -> None:
        self._valid: dict[str, bool] = {}
        self._zones: dict[str, tuple[str, ...]] = {}

    def normalize(self, cell: str) -> str | None:
        """E.164, or None when the cell holds no valid number."""
        digits = cell.translate(_PUNCT)
        plus = digits.startswith("+")
        if plus:
            digits = digits[1:]
        if digits.isascii() and digits.isdigit():
            if len(digits) == 11 and digits[0] == "1":
                digits = digits[1:]
            elif len(digits) != 10 or plus:
                return phonelib.normalize(cell)
            if digits[:3] in DEEP_AREAS:
                return phonelib.normalize(cell)
            prefix = digits[:6]
            valid = self._valid.get(prefix)
            if valid is None:
                valid = self._valid[prefix] = phonelib.normalize("+1" + digits) is not None
            return "+1" + digits if valid else None
        return phonelib.normalize(cell)

    def zone(self, e164: str, state: str | None) -> str | None:
        """The number's zone when it has one, else the property state's (B3)."""
        key = e164[:8] if e164.startswith("+1") else e164
        zones = self._zones.get(key)
        if zones is None:
            zones = self._zones[key] = phonelib.time_zones(e164)
        return resolve_zone(zones, state)
