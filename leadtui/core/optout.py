"""D4: is an inbound text an opt-out? Pure: the reply's text in, the opt-out word (or None) out.

A reply is an opt-out when it is nothing but opt-out words (the carriers' and the FCC's list:
STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT), in any case, with any
punctuation, symbols or spacing around or between them: "stop.", " Stop ", "STOP!", "opt out",
"opt-out", "stop all", "STOP STOP". A sentence that merely contains one ("don't stop calling",
"I can't stop by today", "STOP texting me") is a reply for a rep to read, not an opt-out.
"""

from __future__ import annotations

import re
import unicodedata

WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
_KEYWORDS = frozenset(w.casefold() for w in WORDS)
_PAIRS = {("opt", "out"): "optout", ("stop", "all"): "stopall"}  # written as two words
_WORD = re.compile(r"[^\W_]+")  # letters and digits; everything else separates words


def opt_out(text: str) -> str | None:
    """The opt-out word `text` amounts to ("STOP", "OPTOUT", ...), or None when it is not an opt-out."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    joined: list[str] = []
    for word in words:
        pair = _PAIRS.get((joined[-1], word)) if joined else None
        if pair:
            joined[-1] = pair
        else:
            joined.append(word)
    if not joined or any(w not in _KEYWORDS for w in joined):
        return None
    return joined[0].upper()
