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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from leadtui.errors import LeadtuiError
from leadtui.store import queries
from leadtui.store import reports as store

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def inert(value: Any) -> Any:
    """A cell a spreadsheet shows as text: `=HYPERLINK(...)` -> `'=HYPERLINK(...)`."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _E164.fullmatch(value):
        return "'" + value
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
    n = 0
    for row in rows:
        writer.writerow([inert(v) for v in row])
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


EXPORT_HEADER = (
    "ID",
    "Owner Name",
    "Address",
    "City",
    "State",
    "Zip",
    "Mailing Address",
    "Mailing City",
    "Mailing State",
    "Mailing Zip",
    "APN",
    "County",
    "Email",
    "Status",
    "Owner",
    "List",
    "Source Status",
    "Dead",
)
EXPORT_COLUMNS = (
    "id",
    "owner_name",
    "address",
    "city",
    "state",
    "zip",
    "mailing_address",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "apn",
    "county",
    "emails",
    "status",
    "owner",
    "source_list",
    "source_status",
    "dead",
)


def export(svc, path, *, status: str | None = None, viewer: str | None = None) -> int:
    """Leads (with `status` only, if given) to a CSV a spreadsheet opens safely; returns the leads written.

    One row per lead, phones as `Phone N`, `Phone N Type`, `Phone N DNC`: a generic CSV that
    `leadtui import` reads back. Written to a temporary file, then renamed into place.
    """
    if status is not None:
        svc.playbook.status(status)
    visible_to = svc.visible_to(viewer)  # W14: a rep exports the pool and their own leads
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    try:
        with svc.db.read() as conn, open(tmp, "w", encoding="utf-8", newline="") as out:
            n = store.max_phones(conn)
            header = [
                *EXPORT_HEADER,
                *(
                    h.format(i)
                    for i in range(1, n + 1)
                    for h in ("Phone {}", "Phone {} Type", "Phone {} DNC")
                ),
            ]

            def rows():
                for row, phones in store.contacts(conn, status=status, visible_to=visible_to):
                    cells = [row[c] for c in EXPORT_COLUMNS]
                    cells[12] = "; ".join(json.loads(row["emails"]))
                    cells[17] = "yes" if row["dead"] else ""
                    for p in phones:
                        cells += [p["p_number"], p["p_type"] or "", "yes" if p["p_dnc"] else ""]
                    yield cells

            written = write_csv(out, header, rows())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LeadtuiError(f"can't write {path}: {exc.strerror}") from None
    return written
