"""Reports out: the Contact Status Report (L4), KPIs per rep per day (W20), CSV export.

Every cell written to a CSV goes through `inert`: a spreadsheet would run a cell that
starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a formula,
so such a cell gets a leading `'` (the OWASP advice). An E.164 phone number (`+13055550101`)
is left alone: a spreadsheet reads it as a number, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from leadtui.core.facts import FACTS
from leadtui.errors import LeadtuiError
from leadtui.store import queries
from leadtui.store import reports as store

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 1000  # leads between two progress reports of an export
Progress = Callable[[int, int], None]  # leads written, leads to write
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_FIRST = frozenset(FORMULA_START)


def inert(value: Any) -> Any:
    """A cell a spreadsheet shows as text: `=HYPERLINK(...)` -> `'=HYPERLINK(...)`."""
    if value.__class__ is str and value[:1] in _FIRST and not _E164.fullmatch(value):
        return "'" + value
    return value


def uninert(value: str) -> str:
    """`inert` undone, for a file leadtui wrote: `'=HYPERLINK(...)` -> `=HYPERLINK(...)`."""
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A small CSV document (reports), cells made inert."""
    out = io.StringIO()
    write_csv(out, header, rows, lineterminator="\n")
    return out.getvalue()


def write_csv(
    stream, header: Sequence[str], rows: Iterable[Sequence[Any]], lineterminator: str = "\r\n"
) -> int:
    """Write header and rows (cells made inert) to an open text stream; returns the rows written."""
    writer = csv.writer(stream, lineterminator=lineterminator)
    writer.writerow(header)
    n, first, e164 = 0, _FIRST, _E164.fullmatch
    for row in rows:  # `inert` on each cell, inline: an export writes tens of millions of cells
        writer.writerow(
            ["'" + v if v.__class__ is str and v[:1] in first and not e164(v) else v for v in row]
        )
        n += 1
    return n


def _contact(row, phones) -> dict:
    return {
        "id": row["id"],
        "owner_name": row["owner_name"],
        "address": row["address"],
        "city": row["city"],
        "state": row["state"],
        "zip": row["zip"],
        "status": row["status"],
        "owner": row["owner"],
        "source_list": row["source_list"],
        "source_status": row["source_status"],
        "dead": bool(row["dead"]),
        "emails": json.loads(row["emails"]),
        "phones": [
            {
                "number": p["p_number"],
                "type": p["p_type"],
                "dnc": bool(p["p_dnc"]),
                "litigator": bool(p["p_litigator"]),
                "bad": bool(p["p_bad"]),
            }
            for p in phones
        ],
    }


def status_report(
    svc, *, rep: str | None = None, list_name: str | None = None, contacts: bool = False
) -> list[dict]:
    """L4, the Contact Status Report: every status of the playbook with its count (killed leads
    included, under their red status), and with `contacts` the leads in each."""
    with svc.db.read() as conn:
        if rep is not None:
            row = queries.rep(conn, rep)  # names match without case: the stored spelling from here on
            if row is None:
                raise LeadtuiError(f"no rep named {rep!r}")
            rep = row["name"]
        counts = store.status_counts(conn, rep, list_name)
        people = [_contact(r, p) for r, p in store.contacts(conn, rep, list_name)] if contacts else []
    known = [(s.id, s.label, s.group) for s in svc.playbook.statuses]
    known += [
        (sid, sid, "grey") for sid in sorted(set(counts) - {k[0] for k in known})
    ]  # from an older playbook
    out = [
        {"status": sid, "label": label, "group": group, "count": counts.get(sid, 0)}
        for sid, label, group in known
    ]
    if contacts:
        for entry in out:
            entry["contacts"] = [c for c in people if c["status"] == entry["status"]]
    return out


# The export, one row per lead: (header, field). Everything a lead is, so that `leadtui import`
# of the file into a fresh floor gives the same leads (importing.presets.LEADTUI reads it back),
# and into the same floor adds nothing. Times are ISO-8601 as stored (UTC).
EXPORT: tuple[tuple[str, str], ...] = (
    ("ID", "id"),
    ("Owner Name", "owner_name"),
    ("Address", "address"),
    ("City", "city"),
    ("State", "state"),
    ("Zip", "zip"),
    ("Mailing Address", "mailing_address"),
    ("Mailing City", "mailing_city"),
    ("Mailing State", "mailing_state"),
    ("Mailing Zip", "mailing_zip"),
    ("APN", "apn"),
    ("County", "county"),
    ("Email", "emails"),
    ("Status", "status"),
    ("Owner", "owner"),
    ("List", "source_list"),
    ("Source Status", "source_status"),
    ("Dead", "dead"),
    ("Hold Until", "hold_until"),
    ("Next Call", "next_call_at"),
    ("Appointment", "appointment_at"),
    ("Offer", "offer_amount"),
    ("Contract", "contract_path"),
    ("Follow-Up Asked", "followup_requested_at"),
    ("Callback", "callback"),
    ("Cool-Off Until", "cooloff_until"),
    ("Current Phone", "cur_phone"),
    ("Dial Run", "dial_run"),
    ("Notes", "notes"),
    ("Note Count", "note_count"),
    ("Note Log", "note_log"),  # the lead's notes (D5) as JSON: [{"at", "rep", "text"}], oldest first
    *((fact.header, fact.column) for fact in FACTS),
)
# Each phone, numbered from 1 in the lead's order: (header template, phone field).
EXPORT_PHONE: tuple[tuple[str, str], ...] = (
    ("Phone {}", "number"),
    ("Phone {} Type", "type"),
    ("Phone {} DNC", "dnc"),
    ("Phone {} Litigator", "litigator"),
    ("Phone {} Bad", "bad"),
    ("Phone {} Wrong Reports", "wrong_reports"),
)


def _yes(value: Any) -> str:
    return "yes" if value else ""


def _yes_no(value: Any) -> str | None:
    return None if value is None else "yes" if value else "no"


# The fields written otherwise than as stored (None is an empty cell): flags "yes" or empty, a
# yes/no fact "yes", "no" or empty (unknown), the emails one cell split by "; ".
WRITTEN = {
    "dead": _yes,
    "dnc": _yes,
    "litigator": _yes,
    "bad": _yes,
    "emails": lambda value: "; ".join(json.loads(value)),
    **{f.column: _yes_no for f in FACTS if f.kind == "bool"},
}


def export(
    svc, path, *, status: str | None = None, viewer: str | None = None, progress: Progress | None = None
) -> int:
    """Leads (with `status` only, if given) to a CSV a spreadsheet opens safely; returns the leads written.

    One row per lead (EXPORT), its phones after (EXPORT_PHONE), written to a temporary file, then
    renamed into place. `progress(done, total)` hears how far it got.
    """
    if status is not None:
        svc.playbook.status(status)
    visible_to = svc.visible_to(viewer)  # W14: a rep exports the pool and their own leads
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    try:
        with svc.db.read() as conn, open(tmp, "w", encoding="utf-8", newline="") as out:
            n = store.max_phones(conn)
            total = store.count_contacts(conn, status=status, visible_to=visible_to) if progress else 0
            header = [
                *(h for h, _ in EXPORT),
                *(h.format(i) for i in range(1, n + 1) for h, _ in EXPORT_PHONE),
            ]

            fields = [f for _, f in EXPORT]
            written_as = [(i, WRITTEN[f]) for i, f in enumerate(fields) if f in WRITTEN]
            phone_fields = [f"p_{f}" for _, f in EXPORT_PHONE]
            phone_written = [(i, WRITTEN[f]) for i, (_, f) in enumerate(EXPORT_PHONE) if f in WRITTEN]

            def rows():
                for done, (row, phones) in enumerate(
                    store.contacts(conn, status=status, visible_to=visible_to, export=True), 1
                ):
                    cells = [row[f] for f in fields]
                    for i, write in written_as:
                        cells[i] = write(cells[i])
                    for p in phones:
                        cell = [p[f] for f in phone_fields]
                        for i, write in phone_written:
                            cell[i] = write(cell[i])
                        cells += cell
                    if progress and done % PROGRESS_EVERY == 0:
                        progress(done, total)
                    yield cells

            written = write_csv(out, header, rows())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LeadtuiError(f"can't write {path}: {exc.strerror}") from None
    if progress:
        progress(written, total)
    return written
