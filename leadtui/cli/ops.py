"""Looking after a floor: `leadtui doctor`."""

from __future__ import annotations

import click

from leadtui.cli.root import State, cli, command, emit, scrub
from leadtui.errors import LeadtuiError
from leadtui.text import safe


class Unwell(LeadtuiError):
    """The doctor found a problem: exit status 1 (its lines say which and what to do)."""

    exit_code = 1


@command(cli)
def doctor(state: State) -> None:
    """Check the floor's database: reachable, its schema current, a playbook stored, and on a
    PostgreSQL server the settings the floor relies on. One line per check; exit 1 on a problem."""
    from leadtui.store.ops import checks

    found = checks(state.db_path)
    data = {
        "db": state.db_shown,
        "engine": "postgresql" if state.on_server else "sqlite",
        "ok": all(c.ok for c in found),
        "checks": [{**c.as_dict(), "detail": scrub(c.detail)} for c in found],
    }
    emit(
        state,
        data,
        lambda d: [
            click.echo(safe(f"{'ok' if c['ok'] else 'problem':<8} {c['name']:<23} {c['detail']}"))
            for c in d["checks"]
        ],
    )
    problems = [c.name for c in found if not c.ok]
    if problems:
        raise Unwell(f"{len(problems)} problem(s) found: {', '.join(problems)}")
