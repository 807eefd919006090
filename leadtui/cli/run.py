"""The `run` command: the call-floor screen. Textual is imported only here."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from leadtui import clock
from leadtui.cli.root import State, cli, command, notice
from leadtui.errors import LeadtuiError


@command(cli)
@click.option(
    "--demo",
    is_flag=True,
    help="Open the demo floor: its own database of realistic leads (a SQLite file in the user "
    "data dir, whatever --db says), never your real one (rep alice; manager morgan, PIN 246810).",
)
def run(state: State, demo: bool) -> None:
    """The call-floor screen (TUI)."""
    settings, extra = state.settings, {}
    if demo:
        from leadtui import demo as demo_floor

        db_path = demo_floor.ensure_demo()
        rep = state.rep or demo_floor.DEMO_REP
        # the demo's actions and contract drafts stay in its folder; nothing is sent anywhere
        settings = dataclasses.replace(
            settings,
            automation={
                **settings.automation,
                "mode": "log",
                "log_path": str(db_path.parent / "automation.jsonl"),
            },
        )
        extra["contracts_dir"] = db_path.parent / "contracts"
        if not clock.fixed():
            extra["now"] = demo_floor.demo_clock(db_path)  # its own afternoon: callable leads at any hour
    else:
        db_path, rep = state.db_path, state.rep_name
        if not state.on_server and not Path(db_path).exists():  # (a server says so itself when it opens)
            raise LeadtuiError(
                f"no database at {db_path}: create it with `leadtui init`, "
                "or try the demo floor with `leadtui run --demo`"
            )
    from leadtui.ui.app import Leadtui

    app = Leadtui(db_path, settings, rep, notice=notice, **extra)  # told before the screen takes the terminal
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        app.close()
        raise LeadtuiError("leadtui run needs a terminal (its input and output are not one)")
    app.run()
    if app.return_code:  # the screen failed (it showed why): scripts see it too
        raise SystemExit(app.return_code)
