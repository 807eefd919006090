"""The `run` command: the call-floor screen. Textual is imported only here."""

from __future__ import annotations

import click

from leadtui.cli.root import State, cli, command
from leadtui.errors import LeadtuiError


@command(cli)
@click.option("--demo", is_flag=True, help="Open a demo database of realistic leads.")
def run(state: State, demo: bool) -> None:
    """The call-floor screen (TUI)."""
    raise LeadtuiError("the call-floor screen is not built yet (tracked as its own issue); "
                       "use the commands in `leadtui --help` meanwhile")
