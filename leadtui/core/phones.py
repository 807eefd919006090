"""Phone numbers: E.164 normalisation and the time zones a number belongs to."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import timezone as phone_timezone

_EXCEL_FLOAT = re.compile(r"^(\+?\d+)\.0+$")


def normalize(raw: str, region: str = "US") -> str | None:
    """The number in E.164 ("+13055551234"), or None when it is not a valid number."""
    text = raw.strip().replace("\t", " ")  # phonenumbers refuses a tab where it takes a space
    excel = _EXCEL_FLOAT.match(text)
    if excel:
        text = excel.group(1)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def time_zones(e164: str) -> tuple[str, ...]:
    """IANA zones for an E.164 number; empty when unknown."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown")
