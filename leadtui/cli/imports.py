"""Lists in: `import` (B2) and the drip-reply inbox (W17)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Self

import click

from leadtui.cli.root import GLOBALS, State, _global_options, cli, command, emit, outcome
from leadtui.errors import LeadtuiError
from leadtui.text import safe


class Bar:
    """A rich progress bar on stderr (a terminal only): how far (bytes read, leads written), rows,
    time left, and what it is doing."""

    def __init__(self, doing: str = "importing") -> None:
        self.doing = doing

    def __enter__(self) -> Self:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task(self.doing, total=1, rows=0)
        return self

    def __call__(self, done: int, size: int, rows: int) -> None:
        self.progress.update(self.task, completed=done, total=max(size, 1), rows=rows)

    def note(self, message: str) -> None:
        self.progress.update(self.task, description=message)

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


@command(cli, "import")
@click.argument("file", type=click.Path())
@click.option(
    "--preset",
    help="propstream, propstream-contacts (propstream-skip-trace), batchleads,"
    " directskip (batchskiptracing), reisift, dealmachine, generic.",
)
@click.option(
    "--list", "list_name", help="Source list name for every lead (default: the file's own list column)."
)
@click.option(
    "--rejects", type=click.Path(dir_okay=False), help="Rejects CSV (default: FILE.rejects.csv beside it)."
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar='"Header=field"',
    help="Read a column as a lead field (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Read and match everything, store nothing.")
def import_cmd(
    state: State,
    file: str,
    preset: str | None,
    list_name: str | None,
    rejects: str | None,
    maps: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Import a vendor lead list (B2): presets detected, phones E.164, duplicates merged."""
    from leadtui.importing.runner import run_import

    svc = state.service()
    options: dict[str, Any] = dict(
        status=svc.playbook.initial,
        now=svc.now(),
        rep=state.rep_name,
        preset=preset,
        list_name=list_name,
        rejects_path=Path(rejects) if rejects else None,
        maps=maps,
        dry_run=dry_run,
        statuses=[s.id for s in svc.playbook.statuses],
    )
    if sys.stderr.isatty() and not state.as_json:
        with Bar() as bar:
            summary = run_import(svc.db, Path(file), progress=bar, notice=bar.note, **options)
    else:
        summary = run_import(svc.db, Path(file), **options)

    def human(s: dict) -> None:
        verb = "would import" if s["dry_run"] else "imported"
        click.echo(
            safe(
                f"{verb} {s['file']} ({s['preset']}): {s['rows']} rows, {s['inserted']} new, "
                f"{s['merged']} merged, {s['rejected']} rejected"
            )
        )
        if s["rejects_path"]:
            click.echo(safe(f"rejects: {s['rejects_path']}"))

    emit(state, summary, human)
    if summary["file_changed"]:
        raise LeadtuiError(
            f"{file} changed while it was imported ({summary['rows']} rows read and stored); "
            "run the import again once it is whole: what is in already is matched, not added twice"
        )


@cli.group("inbox", invoke_without_command=True)
@_global_options
@click.pass_context
def inbox(ctx: click.Context, **params: Any) -> None:
    """Drip replies matched to leads by phone (W17); `inbox` alone lists the open ones, as --rep may
    see them (their own leads', the pool's and unmatched ones; a manager, or no rep: all)."""
    state = ctx.find_object(State)
    for key in GLOBALS:
        if params[key] is not None:
            setattr(state, key, params[key])
    if ctx.invoked_subcommand is None:
        from leadtui.cli.inbox import reply_line

        svc = state.service()
        emit(
            state,
            svc.replies(state.rep_name),
            lambda rows: [click.echo(reply_line(svc, r)) for r in rows] or click.echo("no open replies"),
        )


@command(inbox, "import")
@click.argument("file", type=click.Path())
def inbox_import(state: State, file: str) -> None:
    """Load replies from CSV (From, Body, Received At) or JSON lines."""
    from leadtui.clock import parse_iso
    from leadtui.importing.replies import read_replies
    from leadtui.importing.rows import Reject

    svc = state.service()
    added, duplicates, rejects, items = [], 0, [], []
    for item in read_replies(Path(file)):  # every line read and checked before any is stored
        if isinstance(item, Reject):
            rejects.append({"line": item.line, "reason": item.reason})
            continue
        line, number, body, received = item
        try:
            items.append((line, (number, body, parse_iso(received))))
        except (ValueError, OverflowError):
            rejects.append({"line": line, "reason": f"not a date and time: {received[:40]!r}"})
    stored = svc.add_replies([reply for _, reply in items])  # one transaction
    for (line, _), got in zip(items, stored, strict=True):
        if isinstance(got, LeadtuiError):
            rejects.append({"line": line, "reason": str(got)})
        elif got is None:
            duplicates += 1
        else:
            added.append(got)
    rejects.sort(key=lambda r: r["line"])
    new = set(added)
    mine = [r for r in svc.replies() if r["id"] in new]
    matched = sum(1 for r in mine if r["lead_id"])
    summary = {
        "added": len(added),
        "matched": matched,
        "unmatched": len(added) - matched,
        "opted_out": sum(1 for r in mine if r["opted_out"]),  # D4: their numbers are DNC now
        "duplicates": duplicates,
        "rejected": len(rejects),
        "rejects": rejects,
    }
    emit(
        state,
        summary,
        lambda s: [
            click.echo(
                f"{s['added']} replies added ({s['matched']} matched to a lead, "
                f"{s['opted_out']} opted out), "
                f"{s['duplicates']} already in, {s['rejected']} rejected"
            ),
            *(click.echo(safe(f"  line {r['line']}: {r['reason']}"), err=True) for r in s["rejects"]),
        ],
    )


@command(inbox, "clear")
@click.argument("reply_id", metavar="ID", type=int)
def inbox_clear(state: State, reply_id: int) -> None:
    """Mark a reply handled (W17)."""
    outcome(state, state.service().clear_reply(reply_id, state.rep_name))
