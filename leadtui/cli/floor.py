"""The floor as it stands: which station has which lead on screen (F2), and what every station is
doing (the live floor view, issue 16)."""

from __future__ import annotations

import click

from leadtui.cli.root import State, cli, command, emit
from leadtui.core.stations import span
from leadtui.text import safe


@command(cli)
def reservations(state: State) -> None:
    """Leads on stations' screens now: lead, rep, station, until (F2). A reservation is not a claim."""
    rows = state.service().reservations()
    emit(
        state,
        rows,
        lambda rs: (
            [
                click.echo(
                    safe(
                        f"lead {r['lead_id']:<8} {r['owner_name'][:28]:<28} on {r['rep']:<12} until {r['until']}  {r['station']}"
                    )
                )
                for r in rs
            ]
            or click.echo("no lead is on a station's screen")
        ),
    )


def station_line(s: dict) -> str:
    """One station on one line: rep, state for how long, the lead, today's KPIs, the last outcome."""
    lead = f"lead {s['lead_id']} {s['owner_name'][:24]}" if s["lead_id"] is not None else ""
    last = f"last {s['last_outcome_label']} {s['last_outcome_at']}" if s["last_outcome"] else ""
    return safe(
        f"{s['rep']:<12} {s['label'][:24]:<24} {span(s['seconds']):>8}  {lead:<34} "
        f"dials {s['dials']:<4} contacts {s['contacts']:<4} appts {s['appointments']:<3} "
        f"offers {s['offers']:<3} {last}".rstrip()
    )


@command(cli)
def floor(state: State) -> None:
    """The live floor: every station's rep, state (idle, on a lead, dialling, in a call, wrapping up,
    paused, offline) and for how long, its lead, the rep's KPIs today and last outcome (managers;
    W14)."""
    rows = state.service().floor(state.rep_name)
    emit(
        state,
        rows,
        lambda rs: [click.echo(station_line(s)) for s in rs] or click.echo("no station is on the floor"),
    )
