"""Normalised keys that say two rows are the same owner or the same property."""

from __future__ import annotations

import re
import unicodedata

_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "lane": "ln",
    "court": "ct", "boulevard": "blvd", "place": "pl", "circle": "cir", "terrace": "ter",
    "parkway": "pkwy", "highway": "hwy", "square": "sq", "trail": "trl", "way": "wy",
    "north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
    "southeast": "se", "southwest": "sw", "apartment": "apt", "suite": "ste", "unit": "apt", "#": "apt",
}


def _words(text: str | None) -> list[str]:
    """Lower-case words, accents dropped: `Héctor` and `Hector` are one name."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text or "") if not unicodedata.combining(c))
    return re.findall(r"[a-z0-9]+|#", plain.casefold())


def address_key(street: str | None, zip_code: str | None) -> str | None:
    """`123 North Main Street, Apt 4` + `33101-1234` -> `123 n main st apt 4|33101`."""
    words = [_WORDS.get(w, w) for w in _words(street)]
    if not words:
        return None
    return " ".join(words) + "|" + (re.sub(r"\D", "", zip_code or "")[:5])


def owner_key(name: str | None, mailing_street: str | None, mailing_zip: str | None) -> str | None:
    """Same owner = same normalised name and mailing address."""
    who = " ".join(_words(name))
    where = address_key(mailing_street, mailing_zip)
    return f"{who}@{where}" if who and where else None
