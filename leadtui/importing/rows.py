"""One vendor row to one lead: fields, phones (E.164, type, flags, zone), keys, rejects.

A row without a property address is rejected whole; a bad phone cell is dropped with a
reject line and the rest of the row is kept. Text cells are kept as they are (stripped of
surrounding blanks): markup, escape sequences and NUL bytes are data, shown literally later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from leadtui.core.identity import address_key, owner_key
from leadtui.importing.phones import Phones
from leadtui.importing.presets import Layout, norm

# The lead columns an import fills (status and times are the writer's).
IMPORT_COLUMNS = (
    "owner_name", "address", "city", "state", "zip", "mailing_address", "mailing_city", "mailing_state",
    "mailing_zip", "apn", "county", "emails", "source_list", "source_status", "owner_key", "address_key",
)
YES = frozenset({"yes", "y", "true", "t", "1", "x", "dnc", "donotcall", "litigator", "optout"})
PhoneRow = tuple[str, Any, int, int, int, Any]  # number, type, dnc, litigator, bad, tz


@dataclass(frozen=True)
class Reject:
    """A rejects-file line: where, what, why."""

    line: int
    column: str
    value: str
    reason: str


@dataclass
class Lead:
    """A lead as read: its columns (IMPORT_COLUMNS), phones and match keys."""

    line: int
    fields: dict[str, Any]
    phones: list[PhoneRow]

    @property
    def parcel(self) -> tuple[str, str] | None:
        apn = self.fields["apn"]
        return (self.fields["county"] or "", apn) if apn else None

    def absorb(self, other: "Lead") -> None:
        """Same property twice in one file: keep this lead, add the other's new phones and
        the DNC / litigator flags it gives a phone this one has (as a stored lead would)."""
        mine = {p[0]: i for i, p in enumerate(self.phones)}
        for phone in other.phones:
            i = mine.get(phone[0])
            if i is None:
                self.phones.append(phone)
            else:
                number, kind, dnc, lit, bad, zone = self.phones[i]
                self.phones[i] = (number, kind, dnc | phone[2], lit | phone[3], bad, zone)


def _zip(value: str) -> str | None:
    """Excel drops a ZIP's leading zeros (02134 -> 2134): put them back."""
    if value.isdigit() and 3 <= len(value) < 5:
        return value.zfill(5)
    return value or None


def _state(value: str) -> str | None:
    return value.upper() if len(value) == 2 else value or None


def split_full_address(full: str) -> tuple[str, str | None, str | None, str | None]:
    """DealMachine's `5391 Park Ave, Jacksonville, Fl 32209` -> street, city, state, zip."""
    parts = [p.strip() for p in full.split(",")]
    if len(parts) >= 3:
        tail = parts[-1].split()
        if len(tail) == 2 and len(tail[0]) == 2 and tail[1][:5].isdigit():
            return ", ".join(parts[:-2]), parts[-2] or None, tail[0].upper(), tail[1]
    return full, None, None, None


class RowReader:
    """Turns `(line, cells)` into a Lead (or None) plus its rejects, for one layout."""

    def __init__(self, layout: Layout, header: Sequence[str], list_name: str | None, phones: Phones | None = None):
        self.layout = layout
        self.header = list(header)
        self.list_name = list_name
        self.phones = phones or Phones()
        self._fields = list(layout.cols.items())
        self._flags: dict[str, str] = {}  # raw flag cell -> its normalised form (vendors use a handful)

    def _flag(self, raw: str) -> str:
        flag = self._flags.get(raw)
        if flag is None:
            flag = self._flags[raw] = norm(raw)
        return flag

    def read(self, line: int, cells: list[str]) -> tuple[Lead | None, list[Reject]]:
        width = self.layout.width
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        v: dict[str, str] = {}
        for name, indexes in self._fields:  # per field, the first non-empty candidate
            for i in indexes:
                if value := cells[i].strip():
                    v[name] = value
                    break
        if not v and not any(c.strip() for c in cells):
            return None, []
        get = v.get
        city, state, zip_code = get("city"), _state(get("state", "")), _zip(get("zip", ""))
        address = get("address")
        if not address and (full := get("address_full")):
            address, city, state, zip_code = split_full_address(full)
        if not address:
            return None, [Reject(line, "", "", "no property address")]
        if unit := get("unit"):
            address = f"{address} {unit}" if unit[0].isalpha() or unit[0] == "#" else f"{address} #{unit}"
        name = get("owner_name")
        if not name:
            name = " ".join(filter(None, (get("first_name"), get("last_name"))))
            second = " ".join(filter(None, (get("first_name_2"), get("last_name_2"))))
            if second:
                name = f"{name} & {second}" if name else second
        if m_address := get("mailing_address"):
            mailing = (m_address, get("mailing_city"), _state(get("mailing_state", "")), _zip(get("mailing_zip", "")))
        else:
            mailing = (address, city, state, zip_code)
        emails = list(dict.fromkeys(e for i in self.layout.emails if (e := cells[i].strip())))
        fields = {
            "owner_name": name, "address": address, "city": city, "state": state, "zip": zip_code,
            "mailing_address": mailing[0], "mailing_city": mailing[1], "mailing_state": mailing[2],
            "mailing_zip": mailing[3], "apn": get("apn"), "county": get("county"),
            "emails": json.dumps(emails, ensure_ascii=False) if emails else "[]",
            "source_list": self.list_name or get("list"), "source_status": get("status"),
            "owner_key": owner_key(name, mailing[0], mailing[3]), "address_key": address_key(address, zip_code),
        }
        phones, rejects = self._phones(line, cells, state, v)
        return Lead(line, fields, phones), rejects

    def _phones(self, line: int, cells: list[str], state: str | None, v: dict[str, str]) -> tuple[list[PhoneRow], list[Reject]]:
        flag = self._flag
        scrub = flag(v.get("dnc_scrub", ""))
        row_dnc = scrub in YES or "dnc" in scrub or flag(v.get("opt_out", "")) in YES
        row_lit = flag(v.get("litigator", "")) in YES or "litig" in scrub or scrub in ("yes", "y", "true")
        phones: dict[str, list] = {}
        rejects = []
        for number_i, type_i, dnc_i, status_i in self.layout.phones:
            raw = cells[number_i].strip()
            if not raw:
                continue
            got = self.phones.read(raw, state)
            if got is None:
                rejects.append(Reject(line, self.header[number_i], raw, "not a valid phone number; phone dropped"))
                continue
            e164, zone = got
            status = flag(cells[status_i]) if status_i is not None else ""
            dnc = row_dnc or (dnc_i is not None and flag(cells[dnc_i]) in YES) or status == "donotcall"
            kind = cells[type_i].strip() or None if type_i is not None else None
            if e164 in phones:  # the same number twice in a row: keep one, with every flag either had
                known = phones[e164]
                known[1], known[2], known[4] = known[1] or kind, known[2] | dnc, known[4] | (status == "wrong")
                continue
            phones[e164] = [e164, kind, int(dnc), int(row_lit), int(status == "wrong"), zone]
        return [tuple(p) for p in phones.values()], rejects
