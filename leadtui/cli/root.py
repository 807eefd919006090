"""The root `leadtui` group: global options, the state they fill, output and errors.

Exit status: 0 done, 1 refused by a rule, 2 bad usage or input. Errors are one line.
Textual is imported only by `run`.
"""

from __future__ import annotations

import functools
import math
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from leadtui.errors import LeadtuiError, Refused
from leadtui.text import safe, safe_json

GLOBALS = ("db", "rep", "config", "as_json")


class State:
    """Global options, given before or after the command name."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.rep: str | None = None
        self.config: str | None = None
        self.as_json = False
        self._config = None

    @property
    def settings(self):
        if self._config is None:
            from leadtui import config

            self._config = config.load(self.config)
        return self._config

    @property
    def db_path(self) -> Path | str:
        """The floor's database: a SQLite file's path, or a `postgresql://` address kept as the
        string it is (--db, env LEADTUI_DB, then the config's [database] url, then the default)."""
        from leadtui.config import DATABASE_SCHEMES, default_db_path, masked_url

        address = self.db or self.settings.database.get("url")
        if not address:
            return default_db_path()
        if address.startswith(DATABASE_SCHEMES):
            hide(address)
            return address
        if "://" in address:
            raise LeadtuiError(
                f"{masked_url(address)}: not a database address (a SQLite file's path, or postgresql://…)"
            )
        return Path(address)

    @property
    def db_shown(self) -> str:
        """The database's address for messages: a password in it masked."""
        from leadtui.config import masked_url

        return masked_url(self.db_path)

    @property
    def on_server(self) -> bool:
        """Whether the floor is on a PostgreSQL server (else a SQLite file)."""
        return isinstance(self.db_path, str)

    @property
    def rep_name(self) -> str | None:
        return self.rep or self.settings.rep

    def service(self):
        from leadtui.service import open_service

        return open_service(self.db_path, self.settings, notice=notice)


def _global_options(f: Callable) -> Callable:
    options = [
        click.option(
            "--db",
            "db",
            type=click.Path(dir_okay=False),
            envvar="LEADTUI_DB",
            help="Database: a file, or a postgresql:// address (env LEADTUI_DB; config [database] url; "
            "default leads.db in the user data dir).",
        ),
        click.option("--rep", "rep", envvar="LEADTUI_REP", help="Who is acting (env LEADTUI_REP)."),
        click.option(
            "--config",
            "config",
            type=click.Path(dir_okay=False),
            envvar="LEADTUI_CONFIG",
            help="Config file (env LEADTUI_CONFIG).",
        ),
        click.option("--json", "as_json", is_flag=True, default=None, help="Print one JSON document."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class Integer(click.ParamType):
    """An integer SQLite can hold (ids, counts, phone numbers): a bigger one is bad input naming
    the value, never an OverflowError from the database."""

    name = "integer"
    LIMIT = 2**63 - 1

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = click.INT.convert(value, param, ctx)
        if not -self.LIMIT <= number <= self.LIMIT:
            self.fail(f"{shown(str(value))} is out of range (at most {self.LIMIT})", param, ctx)
        return number


INTEGER = Integer()


class Amount(click.ParamType):
    """A money amount: a finite number (`1e309`, `inf` and `nan` are refused naming the value)."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{shown(str(value))} is not an amount (a finite number, like 125000)", param, ctx)
        return number


def shown(value: str, limit: int = 40) -> str:
    """A value in an error line: quoted, and cut (with its length) if it is long."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def command(group: click.Group, name: str | None = None, **kwargs: Any) -> Callable:
    """A subcommand that also takes the global options and gets the State first. Its integer
    arguments and options are SQLite integers (see Integer)."""

    def wrap(f: Callable) -> Callable:
        @group.command(name, **kwargs)
        @_global_options
        @functools.wraps(f)
        def run(**params: Any) -> Any:
            ctx = click.get_current_context()
            state = ctx.find_object(State)
            for key in GLOBALS:  # typed after the command: wins; from the env: the group has it already
                value = params.pop(key)
                if (
                    value not in (None, False)
                    and ctx.get_parameter_source(key) is ParameterSource.COMMANDLINE
                ):
                    setattr(state, key, value)
            return f(state, **params)

        for param in run.params:
            if param.type is click.INT:
                param.type = INTEGER
        return run

    return wrap


_SECRETS: set[str] = set()  # passwords in the database addresses this run uses: never shown


def hide(address: str) -> None:
    """Never show the password of this postgresql:// address (as written, and decoded) in an error."""
    from urllib.parse import parse_qs, unquote, urlsplit

    try:
        parts = urlsplit(address)
        found = [parts.password or "", *parse_qs(parts.query).get("password", [])]
    except ValueError:  # a malformed address: its error line is masked by pattern (config.masked_url)
        return
    for word in found:
        if len(word) >= 3:  # a shorter one would mask ordinary text; the pattern still masks it in addresses
            _SECRETS.update({word, unquote(word)})


def scrub(text: str) -> str:
    """`text` without a password: an address's masked (config.masked_url), and any password of
    this run's database addresses (`hide`) replaced by ***."""
    from leadtui.config import masked_url

    text = masked_url(text)
    for word in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(word, "***")
    return text


def _error(line: str) -> None:
    """An error line on stderr: one line, terminal-safe, no password."""
    click.echo(safe(scrub(line)), err=True)


def guarded(run: Callable[[], Any]) -> int:
    """Run the CLI: one-line errors, exit 0 / 1 (refused) / 2 (bad usage or input)."""
    try:
        run()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        _error("error: aborted")
        return 1
    except click.ClickException as exc:
        _error(f"error: {exc.format_message()}")
        return 2
    except LeadtuiError as exc:
        _error(f"{'refused' if isinstance(exc, Refused) else 'error'}: {exc}")
        return exc.exit_code
    except sqlite3.Error as exc:
        from leadtui.store.db import describe

        _error(f"error: {describe('database', exc)}")
        return 2
    except KeyboardInterrupt:
        return 130
    except OverflowError as exc:  # a number or date past what Python or SQLite holds: bad input, not a bug
        _error(f"error: a value is out of range ({exc})")
        return 2
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("LEADTUI_DEBUG"):
            raise
        if _server_error(exc):
            from leadtui.store.postgres import describe as describe_server

            _error(f"error: {describe_server('database', exc)}")
            return 2
        _error(f"error: internal error {type(exc).__name__}: {exc} (LEADTUI_DEBUG=1 shows the traceback)")
        return 2
    return 0


def _server_error(exc: BaseException) -> bool:
    """A PostgreSQL server's error the store let through (psycopg is imported only for a server's floor)."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


class Leadtui(click.Group):
    """The root group: every error ends as one line and an exit status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        sys.exit(guarded(lambda: super(Leadtui, self).main(args, prog_name, complete_var, False, **extra)))


@click.group(
    cls=Leadtui, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@_global_options
@click.pass_context
def cli(ctx: click.Context, **params: Any) -> None:
    """leadtui: a keyboard-only call floor for real-estate phone reps."""
    state = ctx.ensure_object(State)
    for key in GLOBALS:
        if params[key] is not None:
            setattr(state, key, params[key])
    if ctx.invoked_subcommand is None:
        from leadtui.cli.run import run

        ctx.invoke(run)


def notice(message: str) -> None:
    """Slow work about to start, told on a terminal only (scripts get quiet stderr)."""
    if sys.stderr.isatty():
        click.echo(f"leadtui: {safe(message)}", err=True)


def emit(state: State, data: Any, human: Callable[[Any], None] | str) -> None:
    """JSON with --json, else the human form."""
    if state.as_json:
        click.echo(safe_json(data))
    elif isinstance(human, str):
        click.echo(safe(human))
    else:
        human(data)


def outcome(state: State, result) -> None:
    data = {
        "lead_id": result.lead_id,
        "message": result.message,
        "event_id": result.event_id,
        "advance": result.advance,
        "approval_id": result.approval_id,
        "warnings": result.warnings,
    }
    emit(state, data, result.message)
    if not state.as_json:
        for warning in result.warnings:
            click.echo(f"warning: {safe(warning)}", err=True)


def read_pin(prompt: str, *, new: bool = False) -> str:
    """The PIN from the terminal (hidden; a `new` one typed twice), or one line of stdin when it
    is not a terminal (a script gives it once)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt(
            prompt, hide_input=True, confirmation_prompt="Repeat the new PIN" if new else False
        )
    line = sys.stdin.readline() if sys.stdin else ""
    if not line.strip():
        raise LeadtuiError(f"{prompt}: expected on stdin, got nothing")
    return line.strip()


def as_manager(state: State, action: Callable[[Any, str | None], Any]) -> Any:
    """`action(service, pin)`'s result; if it needs a manager PIN, ask for it and run it again."""
    from leadtui.service import PinRequired

    svc = state.service()
    try:
        return action(svc, None)
    except PinRequired as exc:
        return action(svc, read_pin(f"{exc} — PIN"))


def with_pin(state: State, action: Callable[[Any, str | None], Any]) -> None:
    """Run `action(service, pin)` (asking a manager PIN if it needs one) and print its outcome."""
    outcome(state, as_manager(state, action))


# --- entry point ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """The console script."""
    cli.main(args=argv, prog_name="leadtui")
