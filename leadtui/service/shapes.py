"""JSON shapes of leads, events and calls, as the CLI prints them and the screen reads them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from leadtui.clock import parse_iso
from leadtui.core.calling import resolve_zone
from leadtui.core.facts import COLUMNS as FACT_COLUMNS
from leadtui.core.playbook import Playbook
from leadtui.core.rules import Row
from leadtui.errors import LeadtuiError


def zone_of(lead: Row, phones: Sequence[Row]) -> str | None:
    """The lead's time zone: its first phone's, else its property state's."""
    tzs = [p["tz"] for p in phones if p["tz"]]
    return tzs[0] if tzs else resolve_zone((), lead["state"])


def status_shown(playbook: Playbook, status: str) -> tuple[str, str, str]:
    """A status's label, group and symbol; a status the playbook no longer has shows as its id, grey."""
    try:
        st = playbook.status(status)
    except LeadtuiError:
        return status, "grey", "?"
    return st.label, st.group, st.symbol


def lead_json(playbook: Playbook, row: sqlite3.Row, phones: list[sqlite3.Row]) -> dict:
    label, group, symbol = status_shown(playbook, row["status"])
    cur = row["cur_phone"]
    return {
        "id": row["id"],
        "owner_name": row["owner_name"],
        "address": row["address"],
        "city": row["city"],
        "state": row["state"],
        "zip": row["zip"],
        "mailing_address": row["mailing_address"],
        "mailing_city": row["mailing_city"],
        "mailing_state": row["mailing_state"],
        "mailing_zip": row["mailing_zip"],
        "apn": row["apn"],
        "county": row["county"],
        "emails": json.loads(row["emails"]),
        "source_list": row["source_list"],
        "source_status": row["source_status"],
        "status": row["status"],
        "status_label": label,
        "group": group,
        "symbol": symbol,
        "owner": row["owner"],
        "hold_until": row["hold_until"],
        "next_call_at": row["next_call_at"],
        "appointment_at": row["appointment_at"],
        "offer_amount": row["offer_amount"],
        "contract_path": row["contract_path"],
        "followup_requested_at": row["followup_requested_at"],
        "callback": row["callback"],  # mine | anyone: whose call it is when next_call_at comes
        "cooloff_until": row["cooloff_until"],
        "facts": {c: row[c] for c in FACT_COLUMNS if row[c] is not None},  # the vendor's (core.facts)
        "dead": bool(row["dead"]),
        "notes": row["notes"],
        "current_phone": cur,
        "dial_run": row["dial_run"],
        "zone": zone_of(row, phones),
        "phones": [
            {
                "position": p["position"],
                "number": p["number"],
                "type": p["type"],
                "dnc": bool(p["dnc"]),
                "litigator": bool(p["litigator"]),
                "bad": bool(p["bad"]),
                "wrong_reports": p["wrong_reports"],
                "tz": p["tz"],
                "current": p["position"] == cur,
            }
            for p in phones
        ],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def event_json(row: sqlite3.Row, undone: set[int]) -> dict:
    out = {"id": row["id"], "at": row["at"], "rep": row["rep"], "kind": row["kind"]}
    if row["status"]:
        out["status"] = row["status"]
    for name in ("before", "after", "data"):
        if row[name]:
            out[name] = json.loads(row[name])
    if row["kpi"]:
        out["kpi"] = row["kpi"].split(",")
    if row["undoes"]:
        out["undoes"] = row["undoes"]
    out["undone"] = row["id"] in undone
    return out


def call_json(row: sqlite3.Row) -> dict:
    """One call of the log (D2): `phone` is the phone's position on the lead, `duration` the seconds from
    answered to ended (null unless both), `outcome` the status recorded for it (null until then, or once
    undone), `open` true until it has an outcome (D3), `reported` true for a row logged from a status
    key on a floor that dials by hand."""
    answered, ended = row["answered_at"], row["ended_at"]
    duration = None
    if answered and ended:
        duration = max(0, round((parse_iso(ended) - parse_iso(answered)).total_seconds()))
    return {
        "id": row["id"],
        "lead_id": row["lead_id"],
        "phone": row["phone_position"],
        "number": row["number"],
        "rep": row["rep"],
        "station": row["station"],
        "system": row["system"],
        "remote_id": row["remote_id"],
        "placed_at": row["placed_at"],
        "ringing_at": row["ringing_at"],
        "answered_at": answered,
        "ended_at": ended,
        "duration": duration,
        "end_reason": row["end_reason"],
        "detail": row["detail"],
        "outcome": None if row["outcome_undone"] else row["outcome_status"],
        "notes": row["notes"],
        "recording": row["recording"],
        "open": row["outcome_event_id"] is None,
        "reported": bool(row["reported"]),
    }
