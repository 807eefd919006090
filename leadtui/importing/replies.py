"""Drip-campaign replies from a file: CSV (`From, Body, Received At`) or JSON lines.

Headers and JSON keys are matched loosely (`received_at`, `Received At`, `receivedAt`).
Yields `(line, from, body, received_at)`; a line missing one of them is a Reject.
The body is kept exactly as sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from leadtui.errors import LeadtuiError
from leadtui.importing.presets import norm
from leadtui.importing.rows import Reject
from leadtui.importing.source import Table

NAMES = {
    "from": ("from", "fromnumber", "phone", "number", "sender"),
    "body": ("body", "text", "message"),
    "received_at": ("receivedat", "received", "date", "time", "timestamp", "sentat"),
}


def _pick(keys: dict[str, int | str]) -> dict[str, int | str]:
    out = {}
    for name, aliases in NAMES.items():
        found = next((keys[a] for a in aliases if a in keys), None)
        if found is not None:
            out[name] = found
    return out


def read_replies(path: Path) -> Iterator[tuple[int, str, str, str] | Reject]:
    """The replies in `path`, CSV or JSON lines (by the first character)."""
    with Table(path) as table:
        if table.header and table.header[0].startswith("{"):
            yield from _json_lines(path, table.sniffed.encoding)
            return
        cols = _pick({norm(h): i for i, h in enumerate(table.header)})
        if missing := [n for n in NAMES if n not in cols]:
            raise LeadtuiError(
                f"{path}: not a replies file: no column for {', '.join(missing)} (expected From, Body, Received At)"
            )
        for line, row in table:
            cells = row + [""] * (len(table.header) - len(row))
            values = [cells[cols[n]] for n in NAMES]
            if not any(v.strip() for v in cells):
                continue
            yield _checked(line, *values)


def _json_lines(path: Path, encoding: str) -> Iterator[tuple[int, str, str, str] | Reject]:
    with open(path, encoding="utf-8-sig" if encoding == "cp1252" else encoding, errors="replace") as lines:
        for n, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                item = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Reject(n, "", text.strip()[:200], f"not JSON ({exc.msg})")
                continue
            if not isinstance(item, dict):
                yield Reject(n, "", text.strip()[:200], "not a JSON object")
                continue
            keys = _pick({norm(str(k)): k for k in item})
            yield _checked(n, *(str(item.get(keys.get(name), "") or "") for name in NAMES))


def _checked(line: int, number: str, body: str, received: str) -> tuple[int, str, str, str] | Reject:
    for name, value in (("from", number), ("received_at", received)):
        if not value.strip():
            return Reject(line, name, "", f"no {name.replace('_', ' ')}")
    return line, number.strip(), body, received.strip()
