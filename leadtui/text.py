"""Outside text shown literally: control characters (ESC, C1, ...) made visible, never obeyed.

The same goes for the invisible characters a terminal would act on: bidi overrides, embeddings,
isolates and marks (a name could reorder the text around it) and zero-width characters (a ZWJ
joins emoji into one glyph whose width terminals disagree on, shifting the columns after it).
"""

from __future__ import annotations

import json
import math
import re

# bidi: ALM, LRM/RLM, LRE..RLO, LRI..PDI; zero-width: ZWSP, ZWNJ, ZWJ, WJ, invisible operators,
# BOM (ZWNBSP), Mongolian vowel separator, variation selectors; line and paragraph separators
_INVISIBLE = "\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufe00-\ufe0f\ufeff"
_UNSAFE = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_JSON_UNSAFE = re.compile(rf"[\x7f-\x9f{_INVISIBLE}]")


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe(text: str) -> str:
    """`\\x1b[31m` stays text: every control character but tab and newline becomes `\\xNN`, and
    every bidi or zero-width character `\\uNNNN`."""
    return _UNSAFE.sub(lambda m: _shown(m.group()), text)


def _finite(data: object) -> object:
    """JSON has no Infinity or NaN: such a float (an old database may hold one) is null."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def safe_json(data: object) -> str:
    """Strict JSON as printed to a terminal: C0 is escaped by json itself, DEL, C1, bidi and
    zero-width characters here (as `\\uNNNN`, so the decoded text is unchanged)."""
    text = json.dumps(_finite(data), ensure_ascii=False, default=str, allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
