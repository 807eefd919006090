"""The inbox at the command line (issue 16): `reps handover`, `callbacks`, and the lines `inbox` and
`approvals` print. Times a person reads are in the floor's zone; JSON keeps ISO-8601 with offset."""

from __future__ import annotations

from typing import Any

import click

from leadtui.cli.leads import reps
from leadtui.cli.root import State, cli, command, emit, read_pin
from leadtui.text import safe


def when(svc: Any, stamp: str | None) -> str:
    """A stored time as the floor reads it: `Mon Nov 23 15:00`."""
    return f"{svc.local(stamp):%a %b %d %H:%M}" if stamp else ""


def reply_line(svc: Any, r: dict) -> str:
    """One open reply: when, from, its lead (owner name, address, whose), and the text, literally."""
    if r["lead_id"]:
        lead = f"lead {r['lead_id']} {r['owner_name']}, {r['address']} ({r['owner'] or 'pool'})"
    else:
        lead = "no lead"
    flag = "[opted out] " if r["opted_out"] else ""
    return safe(
        f"{r['id']:>6}  {when(svc, r['received_at'])}  {r['from_number']:<13} {lead}: {flag}{r['body']}"
    )


@command(reps, "handover")
@click.argument("name")
@click.option("--to", "to_rep", metavar="REP", help="The rep who takes them (default: the pool).")
def reps_handover(state: State, name: str, to_rep: str | None) -> None:
    """Hand every live lead of rep NAME, callbacks with them, to --to REP or to the pool, in one step
    (a manager, with PIN: --rep names them). To the pool, callbacks become anyone's."""
    from leadtui.service import PinRequired

    svc = state.service()
    try:
        result = svc.hand_over(name, to_rep, state.rep_name, None)
    except PinRequired as exc:
        result = svc.hand_over(name, to_rep, state.rep_name, read_pin(f"{exc} — PIN"))
    emit(state, result, result["message"])


@command(cli, "callbacks")
@click.option("--days", type=int, default=7, show_default=True, help="How far ahead to look.")
def callbacks(state: State, days: int) -> None:
    """Callbacks overdue, due today and in the next --days, with appointments: --rep's own and the
    pool's (anyone's), or every rep's for a manager."""
    svc = state.service()
    rows = svc.callbacks(state.rep_name, days=days)

    def human(found: list[dict]) -> None:
        for r in found:
            what = "appointment" if r["kind"] == "appointment" else f"callback ({r['scope']})"
            click.echo(
                safe(
                    f"{r['rep'] or 'pool':<12} {r['section']:<9} {when(svc, r['at'])}  {what:<18} "
                    f"lead {r['lead_id']:<7} {r['owner_name']}, {r['address']}"
                )
            )
        click.echo(f"{len(found)} callback(s) and appointment(s)", err=True)

    emit(state, rows, human)
