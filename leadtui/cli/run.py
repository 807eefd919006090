"""The `run` command: the call-floor screen. Textual is imported only here."""

from __future__ import annotations

import click

from leadtui.cli.root import State, cli, command


@command(cli)
@click.option("--demo", is_flag=True, help="Open a demo database of realistic leads (in its own folder).")
def run(state: State, demo: bool) -> None:
    """The call-floor screen (TUI)."""
    from pathlib import Path

    db_path = state.db_path
    rep = state.rep_name
    if demo:
        from leadtui import demo as demo_data

        db_path = Path(state.db) if state.db else demo_data.ensure_demo()
        if state.db:
            demo_data.ensure_demo(db_path)
        rep = state.rep or demo_data.DEMO_REP
    elif not db_path.exists():
        from leadtui.errors import LeadtuiError

        raise LeadtuiError(f"no database at {db_path}: create it with `leadtui init`, "
                           "or try the demo floor with `leadtui run --demo`")
    from leadtui.ui.app import Leadtui

    Leadtui(db_path, state.settings, rep).run()
