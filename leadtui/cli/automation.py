"""Commands for the automation outbox: list it, retry a dead action, dispatch what is due."""

from __future__ import annotations

import signal
import threading

import click

from leadtui.cli.root import State, cli, command, emit
from leadtui.text import safe

STATES = ("pending", "sent", "logged", "failed", "dead", "cancelled")


@command(cli, "outbox", cls=click.Group, invoke_without_command=True)
@click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only these states.")
@click.option("--lead", "lead_id", type=int, help="Only this lead's actions.")
def outbox(state: State, states, lead_id) -> None:
    """Actions the statuses queued, and where each one is (`outbox retry ID` sends a dead one again)."""
    if click.get_current_context().invoked_subcommand:
        return
    rows = state.service().outbox(states, lead_id, viewer=state.rep_name)
    emit(
        state,
        rows,
        lambda rs: [
            click.echo(
                safe(
                    f"#{r['id']:<6} lead {r['lead_id']:<7} {r['action']:<20} {r['state']:<9} attempts {r['attempts']}"
                    f"{'  next try ' + r['due_at'] if r['state'] == 'failed' else ''}"
                    f"{'  ' + r['last_error'] if r['last_error'] else ''}"
                )
            )
            for r in rs
        ],
    )


@command(outbox, "retry")
@click.argument("action_id", metavar="ID", type=int)
def outbox_retry(state: State, action_id: int) -> None:
    """Send a dead (or failed) action again: due now, its attempts counted afresh."""
    from leadtui.automation.worker import retry

    row = retry(state.service().db, action_id, by=state.rep_name)
    emit(
        state, row, f"action #{row['id']} ({row['action']}, lead {row['lead_id']}) is pending again, due now"
    )


@command(cli)
@click.option(
    "--once", "mode", flag_value="once", default=True, help="Drain what is due, then exit (default)."
)
@click.option("--watch", "mode", flag_value="watch", help="Keep draining until SIGTERM or ctrl+c.")
def dispatch(state: State, mode: str) -> None:
    """Deliver due actions by the config's [automation] mode: log them, or send them to their routes.

    SIGTERM or ctrl+c lets the delivery in flight finish, then exits; a second ctrl+c stops at once.
    """
    from leadtui.automation.worker import Worker

    worker = Worker.open(state.db_path, state.settings)
    stop = threading.Event()

    def finish(signum, frame) -> None:
        stop.set()
        signal.signal(signum, previous[signum])

    def show(d) -> None:
        if not state.as_json:
            click.echo(
                safe(
                    f"#{d.id:<6} lead {d.lead_id:<7} {d.action:<20} -> {d.target}: "
                    f"{d.state or 'lease lost, left to the other dispatcher'}"
                    f"{'  ' + d.detail if d.detail else ''}"
                )
            )

    previous = {s: signal.signal(s, finish) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if mode == "once":
            counts = worker.run_once(stop, show)
        else:
            counts = worker.run_forever(
                stop, on_delivery=show, on_error=lambda exc: click.echo(f"error: {safe(str(exc))}", err=True)
            )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        worker.close()
    summary = {k: counts.get(k, 0) for k in ("sent", "logged", "failed", "dead")}
    emit(state, summary, lambda s: click.echo(", ".join(f"{n} {k}" for k, n in s.items()), err=True))
