"""One vendor row to one lead: fields, phones (E.164, type, flags, zone), keys, rejects.

A row without a property address is rejected whole; a bad phone cell is dropped with a
reject line and the rest of the row is kept. Text cells are kept as they are (stripped of
surrounding blanks): markup, escape sequences and NUL bytes are data, shown literally later.

This runs once per row of files with millions of rows, so the layout is turned into plain
index lists up front and a row is read with as few Python steps as it takes.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from leadtui.clock import parse_iso, stamp
from leadtui.core.facts import COLUMNS as FACT_COLUMNS
from leadtui.core.facts import FACTS
from leadtui.core.identity import address_key, owner_key_at
from leadtui.importing.phones import Phones
from leadtui.importing.presets import STATE_COLUMNS, Layout, norm
from leadtui.reports import uninert
from leadtui.store.imports import NOTE_LOG, key_hashes
from leadtui.store.queries import LEAD_FIELDS

# The lead columns an import fills (status and times are the writer's), in the order of Lead.values:
# the lead's fields, then its property facts.
IMPORT_COLUMNS = (
    *LEAD_FIELDS,
    "owner_key",
    "address_key",
    *FACT_COLUMNS,
)
# A leadtui export also gives each lead's state back (presets.LEADTUI): these follow, then its notes
# (NOTE_LOG, which the writer turns into note events).
RESTORE_COLUMNS = ("status", "owner", *STATE_COLUMNS)
_APN, _COUNTY, _ADDRESS_KEY = (IMPORT_COLUMNS.index(c) for c in ("apn", "county", "address_key"))
# The layout fields a row is read into, in this order (see RowReader.read).
FIELDS = (
    "address",
    "address_full",
    "unit",
    "city",
    "state",
    "zip",
    "owner_name",
    "first_name",
    "last_name",
    "first_name_2",
    "last_name_2",
    "company",
    "mailing_address",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "apn",
    "county",
    "list",
    "status",
    "dnc_scrub",
    "opt_out",
    "litigator",
)
YES = frozenset(
    {
        "yes",
        "y",
        "true",
        "t",
        "1",
        "x",
        "dnc",
        "donotcall",
        "litigator",
        "optout",
        "publicdnc",
        "federaldnc",
        "nationaldnc",
        "statednc",
        "internaldnc",
    }
)  # PropStream: `Public DNC`
PhoneRow = tuple[str, Any, int, int, int, Any, int]  # number, type, dnc, litigator, bad, tz, wrong reports
_JSON = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class Reject:
    """A rejects-file line: where, what, why; `kind`: what of the row it dropped (the row, a phone,
    or a value: a fact or a restored field)."""

    line: int
    column: str
    value: str
    reason: str
    kind: str = "phone"


@dataclass(frozen=True)
class Floor:
    """What a leadtui export's rows are checked against: the floor's playbook (a status it lacks
    becomes `initial`) and its reps (an owner who isn't one leaves the lead in the pool)."""

    initial: str
    statuses: frozenset[str]
    reps: Mapping[str, str]  # lower-case name -> the name as stored


def columns_of(layout: Layout) -> tuple[str, ...]:
    """The staged columns of a file with this layout (Lead.values' order)."""
    return IMPORT_COLUMNS + (RESTORE_COLUMNS if layout.preset.restores else ())


class Lead:
    """A lead as read: its column values (IMPORT_COLUMNS order), phones, and match keys."""

    __slots__ = ("address_key", "line", "parcel", "phones", "values")

    def __init__(self, line: int, values: tuple, phones: list[PhoneRow]):
        self.line = line
        self.values = values
        self.phones = phones
        apn, county = values[_APN], values[_COUNTY]
        self.parcel: tuple[str, str] | None = (county or "", apn) if apn else None
        self.address_key: str | None = values[_ADDRESS_KEY]

    def hashes(self) -> tuple[int | None, int | None]:
        return key_hashes(self.values[_COUNTY], self.values[_APN], self.address_key)

    def absorb(self, other: Lead) -> None:
        """Same property twice in one file: keep this lead, add the other's new phones and
        the DNC / litigator flags it gives a phone this one has (as a stored lead would)."""
        mine = {p[0]: i for i, p in enumerate(self.phones)}
        for phone in other.phones:
            i = mine.get(phone[0])
            if i is None:
                self.phones.append(phone)
            else:
                number, kind, dnc, lit, bad, zone, wrong = self.phones[i]
                self.phones[i] = (
                    number,
                    kind,
                    dnc | phone[2],
                    lit | phone[3],
                    bad | phone[4],
                    zone,
                    max(wrong, phone[6]),
                )


FACT_CACHE = 20_000  # cells a fact remembers the reading of (memory stays flat on any file)
_UNREAD = object()
KINDS = {"int": "a whole number", "real": "a number", "date": "a date", "bool": "yes or no", "text": "text"}


def _emails(cell: str) -> list[str]:
    """The emails in a cell: one, or several split by `;` (as `leadtui export` writes them)."""
    if ";" not in cell:
        return [e] if (e := cell.strip()) else []
    return [e for part in cell.split(";") if (e := part.strip())]


def _count(cell: str) -> int:
    cell = cell.strip()
    return int(cell) if cell.isdigit() else 0


_TIMES = frozenset({"hold_until", "next_call_at", "appointment_at", "followup_requested_at", "cooloff_until"})
_CALLBACKS = frozenset({"mine", "anyone"})


class Restore:
    """A leadtui export's state columns read back (RESTORE_COLUMNS): each lead's status, owner,
    dates, offer, place in its phones, notes. A value that doesn't fit this floor is dropped with a
    reject line and the lead kept: a status the playbook lacks becomes its initial one, an owner who
    is no rep here leaves the lead in the pool."""

    def __init__(self, layout: Layout, header: Sequence[str], floor: Floor):
        self.floor = floor
        blank = layout.width
        fields = {"status": "lead_status", "owner": "lead_owner"}
        self._cols = []
        for column in RESTORE_COLUMNS:
            index = layout.cols.get(fields.get(column, column), (blank,))[0]
            self._cols.append((column, index, header[index] if index < blank else column))

    def read(self, line: int, cells: list[str]) -> tuple[tuple, list[Reject]]:
        out, dropped = [], []
        for column, index, header in self._cols:
            raw = cells[index]
            value, problem = self._value(column, raw if column in ("notes", NOTE_LOG) else raw.strip())
            if problem:
                dropped.append(Reject(line, header, raw.strip(), problem, "value"))
            out.append(value)
        return tuple(out), dropped

    def _value(self, column: str, raw: str) -> tuple[Any, str | None]:
        """The stored value of one state cell, and why it was dropped (None: it wasn't)."""
        floor = self.floor
        if column == "status":
            if raw in floor.statuses:
                return raw, None
            return (
                floor.initial,
                f"status {raw!r} is not in this floor's playbook: the lead gets {floor.initial}",
            )
        if column == "notes":
            return raw, None
        if column == "dead":
            return int(norm(raw) in YES), None
        if column == "dial_run":
            return (int(raw), None) if raw.isdigit() else (0, None if not raw else "not a dial count: 0")
        if not raw:
            return None, None
        if column == "owner":
            name = floor.reps.get(raw.casefold())
            return (
                (name, None)
                if name
                else (None, f"owner {raw!r} is no rep of this floor: the lead goes to the pool")
            )
        if column in _TIMES:
            try:
                return stamp(parse_iso(raw)), None
            except (ValueError, OverflowError):
                return None, "not an ISO-8601 time: dropped"
        if column == "offer_amount":
            try:
                amount = float(raw)
            except ValueError:
                amount = float("nan")
            return (amount, None) if math.isfinite(amount) else (None, "not an amount: dropped")
        if column == "cur_phone":
            return (
                (int(raw), None)
                if raw.isdigit() and int(raw) > 0
                else (None, "not a phone number's place: dropped")
            )
        if column == "callback":
            return (raw, None) if raw in _CALLBACKS else (None, "a callback is mine or anyone: dropped")
        if column == NOTE_LOG:
            return _note_log(raw)
        return raw, None  # contract_path


def _note_log(raw: str) -> tuple[str | None, str | None]:
    """A Note Log cell: JSON [{"at", "rep", "text"}], checked and kept as JSON."""
    try:
        notes = json.loads(raw)
        ok = isinstance(notes, list) and all(
            isinstance(n, dict)
            and isinstance(n.get("text"), str)
            and isinstance(n.get("rep"), (str, type(None)))
            and stamp(parse_iso(n["at"]))
            for n in notes
        )
    except (ValueError, TypeError, KeyError, OverflowError):
        ok = False
    if not ok:
        return None, 'not a note log (JSON [{"at", "rep", "text"}]): the notes are left out'
    return _JSON([{"at": stamp(parse_iso(n["at"])), "rep": n["rep"], "text": n["text"]} for n in notes]), None


def _zip(value: str) -> str | None:
    """Excel drops a ZIP's leading zeros (02134 -> 2134): put them back."""
    if 3 <= len(value) < 5 and value.isdigit():
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

    def __init__(
        self,
        layout: Layout,
        header: Sequence[str],
        list_name: str | None,
        phones: Phones | None = None,
        floor: Floor | None = None,
    ):
        self.layout = layout
        self.header = list(header)
        self.list_name = list_name
        self.phones = phones or Phones()
        blank = self._width = layout.width  # a field the file lacks reads cell `width`: "", appended per row
        # a row too short to reach every column a lead's fields come from is cut off or shifted
        self._needed = 1 + max((i for c in layout.cols.values() for i in c), default=-1)
        # Each field reads its first candidate column; the few with more candidates fall back in order.
        self._pick = itemgetter(*(layout.cols.get(f, (blank,))[0] for f in FIELDS))
        self._fallbacks = [
            (n, layout.cols[f][1:]) for n, f in enumerate(FIELDS) if len(layout.cols.get(f, ())) > 1
        ]
        self._slots = [(*columns, self.header[columns[0]]) for columns in layout.phones]
        self._emails = layout.emails
        self._facts = [  # (place, first column, other columns, reader, its cells read, header, fact)
            (n, cols[0], cols[1:], fact.read, {}, self.header[cols[0]], fact)
            for n, fact in enumerate(FACTS)
            if (cols := layout.cols.get(fact.column))
        ]
        self._no_facts = (None,) * len(FACTS)
        self._restore: Restore | None = None
        if layout.preset.restores:
            if floor is None:
                raise ValueError("a leadtui export is read against the floor it goes into")
            self._restore = Restore(layout, self.header, floor)
        self._flags: dict[str, str] = {}  # raw flag cell -> its normalised form (vendors use a handful)
        self._yeses: dict[str, bool] = {}  # raw flag cell -> whether it says yes

    def _flag(self, raw: str) -> str:
        flag = self._flags.get(raw)
        if flag is None:
            flag = self._flags[raw] = norm(raw)
        return flag

    def _yes(self, raw: str) -> bool:
        yes = self._yeses.get(raw)
        if yes is None:
            yes = self._yeses[raw] = self._flag(raw) in YES
        return yes

    def rows(
        self, records: Iterable[tuple[int, list[str]]], counts: Counter
    ) -> Iterator[tuple[Lead | None, list[Reject]]]:
        """`read` over records, blank ones left out; `counts` gets rows, rows_rejected, phones_rejected and
        values_rejected (facts and restored fields dropped, the lead kept)."""
        read = self.read
        for line, cells in records:
            lead, bad = read(line, cells)
            if lead is None and not bad:
                continue
            counts["rows"] += 1
            if lead is None:
                counts["rows_rejected"] += len(bad)
            else:
                for reject in bad:
                    counts[f"{reject.kind}s_rejected"] += 1
            yield lead, bad

    def read(self, line: int, cells: list[str]) -> tuple[Lead | None, list[Reject]]:
        width = self._width
        if len(cells) < self._needed and any(c.strip() for c in cells):
            return None, [
                Reject(
                    line,
                    "",
                    f"{len(cells)} cells",
                    f"the row has {len(cells)} cells but the lead's "
                    f"columns run to column {self._needed}: the row is cut off or shifted",
                )
            ]
        if len(cells) != width:
            cells = (cells + [""] * (width - len(cells)))[:width]
        if self._restore is not None:  # leadtui wrote the file: its formula-looking cells were made inert
            cells = [uninert(c) for c in cells]
        cells.append("")
        v = [c.strip() for c in self._pick(cells)]
        for n, more in self._fallbacks:
            if not v[n]:
                v[n] = next((value for i in more if (value := cells[i].strip())), "")
        (
            address,
            address_full,
            unit,
            city,
            state,
            zip_code,
            name,
            first,
            last,
            first2,
            last2,
            company,
            m_address,
            m_city,
            m_state,
            m_zip,
            apn,
            county,
            list_name,
            status,
            scrub,
            opt_out,
            litigator,
        ) = v
        if not any(v) and not any(c.strip() for c in cells):
            return None, []
        state, zip_code = _state(state), _zip(zip_code)
        if not address and address_full:
            address, city, state, zip_code = split_full_address(address_full)
        if not address:
            return None, [Reject(line, "", "", "no property address")]
        if unit:
            address = f"{address} {unit}" if unit[0].isalpha() or unit[0] == "#" else f"{address} #{unit}"
        if not name:
            name = f"{first} {last}" if first and last else first or last
            if first2 or last2:
                second = f"{first2} {last2}" if first2 and last2 else first2 or last2
                name = f"{name} & {second}" if name else second
            name = name or company  # an LLC or a trust, with no person named
        key = address_key(address, zip_code)
        if m_address:
            m_state, m_zip = _state(m_state), _zip(m_zip)
            where = key if (m_address, m_zip) == (address, zip_code) else address_key(m_address, m_zip)
        else:
            m_address, m_city, m_state, m_zip, where = address, city, state, zip_code, key
        emails = [e for i in self._emails for e in _emails(cells[i])]
        if len(emails) == 1 and emails[0].isprintable() and '"' not in emails[0] and "\\" not in emails[0]:
            emails_json = f'["{emails[0]}"]'  # the usual case, as JSON would write it
        else:
            emails_json = _JSON(list(dict.fromkeys(emails))) if emails else "[]"
        values = (
            name,
            address,
            city or None,
            state,
            zip_code,
            m_address,
            m_city or None,
            m_state,
            m_zip,
            apn or None,
            county or None,
            emails_json,
            self.list_name or list_name or None,
            status or None,
            owner_key_at(name, where),
            key,
        )
        facts, dropped = self._read_facts(line, cells) if self._facts else (self._no_facts, [])
        if self._restore is not None:
            state_values, more = self._restore.read(line, cells)
            facts, dropped = facts + state_values, dropped + more
        phones, rejects = self._phones(line, cells, state, scrub, opt_out, litigator)
        return Lead(line, values + facts, phones), rejects + dropped if dropped else rejects

    def _read_facts(self, line: int, cells: list[str]) -> tuple[tuple, list[Reject]]:
        """The row's property facts (FACTS' order; None where the file has none); a cell that isn't
        one is dropped with a reject line, the lead kept. Cells repeat (3 beds, Yes, a sale date):
        each fact remembers what its cells read as, up to FACT_CACHE of them."""
        got: list[Any] = list(self._no_facts)
        dropped: list[Reject] = []
        for n, first, more, read, seen, header, fact in self._facts:
            cell = cells[first]
            value = seen.get(cell, _UNREAD)
            if value is _UNREAD:
                raw = cell.strip()
                own = bool(raw) or not more  # read off this cell alone: what it reads as is kept
                if not own:  # the fact's other columns, if the file has some
                    raw = next((v for i in more if (v := cells[i].strip())), "")
                    if not raw:
                        continue
                try:
                    value = read(raw) if raw else None
                except ValueError:
                    why = f"not {KINDS[fact.kind]}: the lead is kept without its {fact.label}"
                    dropped.append(Reject(line, header, raw, why, "value"))
                    continue
                if own and len(seen) < FACT_CACHE:
                    seen[cell] = value
            got[n] = value
        return tuple(got), dropped

    def _phones(
        self, line: int, cells: list[str], state: str | None, scrub: str, opt_out: str, litigator: str
    ) -> tuple[list[PhoneRow], list[Reject]]:
        flag, yes, read = self._flag, self._yes, self.phones.read
        scrub = flag(scrub) if scrub else ""
        row_dnc = scrub in YES or "dnc" in scrub or (bool(opt_out) and yes(opt_out))
        row_lit = int(
            (bool(litigator) and yes(litigator)) or "litig" in scrub or scrub in ("yes", "y", "true")
        )
        phones: dict[str, PhoneRow] = {}
        rejects = []
        for number_i, type_i, dnc_i, status_i, lit_i, bad_i, wrong_i, column in self._slots:
            raw = cells[number_i]
            if not raw or not (raw := raw.strip()):
                continue
            got = read(raw, state)
            if got is None:
                rejects.append(Reject(line, column, raw, "not a valid phone number; phone dropped"))
                continue
            e164, zone = got
            status = flag(cells[status_i]) if status_i is not None else ""
            dnc = int(row_dnc or (dnc_i is not None and yes(cells[dnc_i])) or status == "donotcall")
            kind = (cells[type_i].strip() or None) if type_i is not None else None
            bad = int(status == "wrong" or (bad_i is not None and yes(cells[bad_i])))
            lit = int(row_lit or (lit_i is not None and yes(cells[lit_i])))
            wrong = _count(cells[wrong_i]) if wrong_i is not None else 0
            known = phones.get(e164)
            if known is not None:  # the same number twice in a row: keep one, with every flag either had
                kind, dnc, lit, bad = known[1] or kind, known[2] | dnc, known[3] | lit, known[4] | bad
                wrong = max(known[6], wrong)
            phones[e164] = (e164, kind, dnc, lit, bad, zone, wrong)
        return list(phones.values()), rejects
