"""The floor as it stands: which station has which lead on screen (F2)."""

from __future__ import annotations

import click

from leadtui.cli.root import State, cli, command, emit
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
