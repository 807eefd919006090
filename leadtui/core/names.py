"""What a rep may be called: one script, not a look-alike of a rep already on the floor, not a
word the floor uses itself. Pure: the caller passes the names already taken."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

RESERVED = frozenset(
    {
        "system",
        "admin",
        "root",
        "pool",
        "manager",
        "managers",
        "everyone",
        "nobody",
        "none",
        "null",
        "anyone",
        "all",
        "you",
    }
)
# letters of other scripts drawn like Latin ones (the common part of Unicode's confusables list)
LOOKALIKE = str.maketrans(
    "аеорсухіјѕԁԛԝӏвнкмтАВЕКМНОРСТХУІЈЅαοικνρτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ0ɑ",
    "aeopcyxijsdqwlbhkmtABEKMHOPCTXYIJSaoikvptuxABEZHIKMNOPTYXoa",
)


def script(ch: str) -> str | None:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, GREEK, ...); None for others."""
    if not ch.isalpha():
        return None
    return unicodedata.name(ch, "UNKNOWN").split(" ")[0]


def skeleton(name: str) -> str:
    """What a name looks like: compatibility-folded, accents off, look-alike letters as Latin, no case."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return plain.translate(LOOKALIKE).casefold().replace(" ", "")


def rep_name_problem(name: str, taken: Iterable[str]) -> str | None:
    """Why `name` won't do for a new rep (None when it will)."""
    if (
        not name
        or len(name) > 40
        or not name.isprintable()
        or any(unicodedata.category(ch) == "Cf" for ch in name)
    ):
        return f"a rep's name must be 1-40 printable characters, got {name!r}"
    scripts = {s for s in map(script, name) if s}
    if len(scripts) > 1:
        return (
            f"a rep's name is written in one script, got {' and '.join(sorted(scripts)).lower()} in {name!r}"
        )
    if name.casefold() in RESERVED:
        return f"{name!r} is a word the floor uses itself; pick another name"
    for other in taken:
        if other.casefold() != name.casefold() and skeleton(other) == skeleton(name):
            return f"{name!r} looks like the rep {other!r}; pick a name that can't be mistaken for it"
    return None
