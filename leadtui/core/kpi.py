"""W20, KPIs a manager trusts: what a key press credits, and the figures per rep per day or hour.

As built:
- A status credits the rep with its playbook `kpi` counters (dials, contacts, appointments, offers,
  contracts, under_contract) at the key press; General Follow-Up (W18) credits a dial and a contact
  (the owner asked to be called back: a conversation). An undone press credits nothing.
- Once a day: a press credits nothing, and queues none of its status's actions, when the same rep
  already pressed the same key on the same lead that floor day and that press stands (not undone).
  A press that records a dial attempt (W1 Not Contacted) counts each time: every one is a dial,
  which the B3 cap counts too.
- A contact is a conversation with the owner. The built-in playbooks credit one for Needs Offer,
  Appointment Booked, Offer Made, Offer Rejected, Not Interested, Listed With Agent, Dead Deal (and
  lifecycle's Engage, Future, Active), never for Not Contacted, Wrong Number or Already Sold (a sale
  confirmed on PropStream or the assessor, not by the owner).
- contact_rate = contacts / dials (None with no dials). From the call log (D2): calls placed or
  reported, connects (answered) and talk seconds (answered to ended).
- The day and the hour are the floor's: `[floor] timezone`, else the system's zone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from leadtui.core.playbook import KPI_COUNTERS
from leadtui.core.rules import Decision, Row

CALL_COUNTERS = ("calls", "connects", "talk_seconds")  # from the call log (D2): placed, answered, talk
FOLLOWUP = "followup"  # the press key of General Follow-Up (W18)
FOLLOWUP_KPI = ("dials", "contacts")
PRESSES = ("status", "wrong_report", "followup")  # event kinds that are a key press with credit
COUNTERS = (*KPI_COUNTERS, *CALL_COUNTERS)
# the leaderboard's order: the deepest stage first, then effort
RANKING = ("under_contract", "contracts", "offers", "appointments", "contacts", "dials")


def press_of(event: Row) -> str | None:
    """The key an event was the press of: a status, a wrong-number report's status (kept in its data),
    or a follow-up."""
    if event["kind"] == "status":
        return str(event["status"])
    if event["kind"] == FOLLOWUP:
        return FOLLOWUP
    if event["kind"] == "wrong_report":
        press = json.loads(event["data"] or "{}").get("press")
        return str(press) if press else None
    return None


def once_a_day(d: Decision, earlier: Callable[[], Iterable[Row]]) -> Decision:
    """W20: `d` as credited, given `earlier()`, the rep's standing presses on the lead this floor day
    (read only when needed). A repeat credits no counter and queues no action; a dial attempt (W1)
    always counts."""
    if d.press is None or d.dial or all(press_of(e) != d.press for e in earlier()):
        return d
    held = [*(["no new KPI credit"] if d.kpi else []), *(f"{a} not queued again" for a in d.actions)]
    note = f"already pressed on this lead today{': ' + ', '.join(held) if held else ''} (W20)"
    return replace(
        d,
        kpi=(),
        actions=(),
        data={**d.data, "repeat": True},
        message=f"{d.message}; {note}" if d.message else note,
    )


def contact_rate(contacts: int, dials: int) -> float | None:
    """Contacts per dial, to 3 places; None with no dials."""
    return round(contacts / dials, 3) if dials else None


def local_hour(quarter: str, zone: tzinfo, seen: dict[str, int]) -> int:
    """The floor-local hour of a stored UTC time cut to its quarter hour ("2026-11-23T20:45");
    `seen` caches the answers (every zone's offset is a whole number of quarter hours)."""
    hour = seen.get(quarter)
    if hour is None:
        hour = seen[quarter] = datetime.fromisoformat(quarter + ":00+00:00").astimezone(zone).hour
    return hour


def daily(rows: Iterable[Row]) -> list[dict]:
    """Rep-days (rep, day and COUNTERS, as kpi_days keeps them) sorted, with `contact_rate`; a day
    with nothing left (every press undone) is no row."""
    out = [{"rep": r["rep"], "day": r["day"], **{c: r[c] for c in COUNTERS}} for r in rows]
    out = [r for r in out if any(r[c] for c in COUNTERS)]
    out.sort(key=lambda r: (r["rep"].lower(), r["day"]))
    for row in out:
        row["contact_rate"] = contact_rate(row["contacts"], row["dials"])
    return out


def hourly(credited: Iterable[Row], calls: Iterable[Row], zone: tzinfo) -> list[dict]:
    """Per rep, floor day and floor-local hour, sorted: the counters, `contact_rate` and the call log's.

    `credited` rows: rep, day, quarter (the events' UTC quarter hour), kpi (comma-separated counters),
    n (how many such events; less than 0 for undone ones taken away); `calls` rows: rep, day, quarter,
    calls, connects, talk_seconds. An hour with nothing left is no row."""
    table: dict[tuple, dict] = {}
    seen: dict[str, int] = {}

    def entry(row: Row) -> dict:
        hour = local_hour(row["quarter"], zone, seen)
        key = (row["rep"], row["day"], hour)
        if key not in table:
            table[key] = {"rep": row["rep"], "day": row["day"], "hour": hour, **dict.fromkeys(COUNTERS, 0)}
        return table[key]

    for row in credited:
        counts = entry(row)
        for counter in row["kpi"].split(","):
            counts[counter] += row["n"]
    for row in calls:
        counts = entry(row)
        for counter in CALL_COUNTERS:
            counts[counter] += row[counter]
    keys = sorted(table, key=lambda k: (k[0].lower(), k[1], k[2]))
    out = [table[k] for k in keys if any(table[k][c] for c in COUNTERS)]
    for counts in out:
        counts["contact_rate"] = contact_rate(counts["contacts"], counts["dials"])
    return out


def total(rows: Iterable[dict], **head: object) -> dict:
    """The sum of rows' counters, with its contact rate (a floor's day from its reps' days)."""
    out: dict[str, Any] = {**head, **dict.fromkeys(COUNTERS, 0)}
    for row in rows:
        for counter in COUNTERS:
            out[counter] += row[counter]
    out["contact_rate"] = contact_rate(out["contacts"], out["dials"])
    return out


def leaderboard(rows: Sequence[dict], reps: Iterable[str], day: str) -> list[dict]:
    """Today's board: every rep named (those with nothing yet at 0), ranked by RANKING, deepest stage
    first; equal reps share a rank (1, 2, 2, 4)."""
    mine = {r["rep"].lower(): r for r in rows if r["day"] == day}
    names = {n.lower(): n for n in reps} | {r["rep"].lower(): r["rep"] for r in mine.values()}
    board = [mine.get(key) or total([], rep=name, day=day) for key, name in names.items()]
    board.sort(key=lambda r: (*(-r[k] for k in RANKING), r["rep"].lower()))
    place = 0
    for i, row in enumerate(board):
        if i == 0 or any(row[k] != board[i - 1][k] for k in RANKING):
            place = i + 1
        row["rank"] = place
    return board


def last_days(today: date, n: int) -> list[str]:
    """The `n` floor days ending today, oldest first, as stored (ISO dates)."""
    return [(today - timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


def series(rows: Iterable[dict], days: Sequence[str]) -> list[dict]:
    """One total per day in `days` (a day with nothing at 0), summed over the rows' reps."""
    by_day: dict[str, list[dict]] = {d: [] for d in days}
    for row in rows:
        if row["day"] in by_day:
            by_day[row["day"]].append(row)
    return [total(by_day[d], day=d) for d in days]
