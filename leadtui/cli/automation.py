"""Commands for the automation outbox."""

from __future__ import annotations

import click

from leadtui.cli.root import State, cli, command, emit
from leadtui.text import safe


@command(cli)
@click.option("--state", "states", multiple=True,
              type=click.Choice(["pending", "sent", "logged", "failed", "dead", "cancelled"]), help="Only these states.")
@click.option("--lead", "lead_id", type=int, help="Only this lead's actions.")
def outbox(state: State, states, lead_id) -> None:
    """Actions the statuses queued, and where each one is."""
    rows = state.service().outbox(states, lead_id)
    emit(state, rows, lambda rs: [click.echo(safe(
        f"#{r['id']:<6} lead {r['lead_id']:<7} {r['action']:<20} {r['state']:<9} attempts {r['attempts']}"
        f"{'  ' + r['last_error'] if r['last_error'] else ''}")) for r in rs])
