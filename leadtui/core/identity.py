"""Normalised keys that say two rows are the same owner or the same property."""

from __future__ import annotations

import re
import unicodedata

_WORDS = {
    "street": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "boulevard": "blvd",
    "place": "pl",
    "circle": "cir",
    "terrace": "ter",
    "parkway": "pkwy",
    "highway": "hwy",
    "square": "sq",
    "trail": "trl",
    "way": "wy",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "apartment": "apt",
    "suite": "ste",
    "unit": "apt",
    "#": "apt",
}


_WORD = re.compile(r"[a-z0-9]+|#").findall
_NOT_DIGIT = re.compile(r"\D").sub


def _words(text: str | None) -> list[str]:
    """Lower-case words, accents dropped: `Héctor` and `Hector` are one name."""
    if not text:
        return []
    if not text.isascii():  # imports call this per row: skip the Unicode work when there is none
        text = "".join(
            c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
        ).casefold()
    return _WORD(text.lower())


def address_key(street: str | None, zip_code: str | None) -> str | None:
    """`123 North Main Street, Apt 4` + `33101-1234` -> `123 n main st apt 4|33101`."""
    words = _words(street)
    if not words:
        return None
    get = _WORDS.get
    zip5 = zip_code[:5] if zip_code and zip_code[:5].isdigit() else _NOT_DIGIT("", zip_code or "")[:5]
    return " ".join([get(w, w) for w in words]) + "|" + zip5


def owner_key(name: str | None, mailing_street: str | None, mailing_zip: str | None) -> str | None:
    """Same owner = same normalised name and mailing address."""
    return owner_key_at(name, address_key(mailing_street, mailing_zip))


def owner_key_at(name: str | None, mailing_key: str | None) -> str | None:
    """`owner_key` when the mailing address's `address_key` is known already (an import reuses
    the property's when the owner lives there)."""
    who = " ".join(_words(name))
    return f"{who}@{mailing_key}" if who and mailing_key else None
