"""Outside text shown literally: control characters (ESC, C1, ...) made visible, never obeyed."""

from __future__ import annotations

import json
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")


def safe(text: str) -> str:
    """`\\x1b[31m` stays text: every control character but tab and newline becomes `\\xNN`."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def safe_json(data: object) -> str:
    """JSON as printed to a terminal: C0 is escaped by json itself, DEL and C1 here."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
