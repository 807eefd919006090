"""The call log and notes: `calls` (D2, D3) and `note` (D5)."""

from __future__ import annotations

import click
from click.core import ParameterSource

from leadtui.cli.root import State, cli, command, emit, outcome
from leadtui.text import safe


def _talk(seconds: int | None) -> str:
    return "" if seconds is None else f"{seconds // 60}:{seconds % 60:02d}"


def call_line(call: dict) -> str:
    """One call on one line: when, who, which phone, how it went and its outcome; notes below it."""
    if call["answered_at"]:
        how = f"answered {_talk(call['duration'])}".rstrip()
    elif call["ringing_at"]:
        how = "rang"
    else:
        how = "reported" if call["reported"] else "placed"
    ended = call["end_reason"] or ("" if call["ended_at"] is None else "ended")
    result = "OPEN: no outcome yet" if call["open"] else call["outcome"] or "outcome undone"
    line = (
        f"#{call['id']:<6} {call['placed_at']}  lead {call['lead_id']:<7} {call['rep']:<10} "
        f"phone {call['phone']} {call['number']:<13} {call['system']:<8} {how:<14} {ended:<10} {result}"
    )
    notes = "\n        notes: " + call["notes"].replace("\n", "\n               ") if call["notes"] else ""
    return safe(line + notes)


@command(cli)
@click.option("--lead", "lead_id", type=int, help="Only this lead's calls.")
@click.option("--since", help="Placed from this date (YYYY-MM-DD) or ISO time on.")
@click.option("--open", "open_only", is_flag=True, help="Only calls still waiting for their outcome (D3).")
def calls(state: State, lead_id: int | None, since: str | None, open_only: bool) -> None:
    """The call log, oldest first; --rep NAME: only NAME's calls (a rep sees the calls on leads they may
    see; a manager, or no rep, all)."""
    ctx = click.get_current_context()
    rep = state.rep if ctx.get_parameter_source("rep") is ParameterSource.COMMANDLINE else None
    rows = state.service().calls(
        rep=rep, lead=lead_id, since=since, open_only=open_only, viewer=state.rep_name
    )

    def human(found: list) -> None:
        for call in found:
            click.echo(call_line(call))
        click.echo(f"{len(found)} call(s)", err=True)

    emit(state, rows, human)


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
@click.argument("text")
@click.option("--call", "call_id", type=int, help="The call the note is about (its row carries it too).")
def note(state: State, lead_id: int, text: str, call_id: int | None) -> None:
    """Write a note on a lead as --rep (stored exactly as given, at most 4,000 characters) (D5)."""
    outcome(state, state.service().note(lead_id, state.rep_name, text, call_id=call_id))
