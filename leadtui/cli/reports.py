"""Reports out: `report status` (L4), `report kpi` (W20), `export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from leadtui.cli.root import State, cli, command, emit
from leadtui.core.kpi import COUNTERS
from leadtui.text import safe, safe_json

FORMATS = click.Choice(["table", "csv", "json"])


def _fmt(state: State, fmt: str | None) -> str:
    return fmt or ("json" if state.as_json else "table")


def _show(fmt: str, data, header, rows, table) -> None:
    """One document on stdout in the chosen format."""
    from leadtui.reports import csv_text

    if fmt == "json":
        click.echo(safe_json(data))
    elif fmt == "csv":
        click.echo(safe(csv_text(header, rows)), nl=False)
    else:
        table()


@cli.group()
def report() -> None:
    """The Contact Status Report and the KPIs."""


@command(report, "status")
@click.option("--format", "fmt", type=FORMATS, help="table (default), csv or json (same as --json).")
@click.option("--list", "list_name", help="Only leads from this source list.")
@click.option("--contacts", is_flag=True, help="List the contacts under each status.")
def report_status(state: State, fmt: str | None, list_name: str | None, contacts: bool) -> None:
    """Counts for every status of the playbook (L4); --rep NAME: only NAME's leads."""
    from leadtui.reports import status_report

    ctx = click.get_current_context()
    rep = state.rep if ctx.get_parameter_source("rep") is ParameterSource.COMMANDLINE else None
    data = status_report(state.service(), rep=rep, list_name=list_name, contacts=contacts)
    fmt = _fmt(state, fmt)
    if contacts:
        header = [
            "status",
            "label",
            "id",
            "owner_name",
            "address",
            "city",
            "state",
            "zip",
            "phones",
            "owner",
            "source_list",
            "source_status",
        ]
        rows = [
            [
                e["status"],
                e["label"],
                c["id"],
                c["owner_name"],
                c["address"],
                c["city"],
                c["state"],
                c["zip"],
                "; ".join(p["number"] for p in c["phones"]),
                c["owner"],
                c["source_list"],
                c["source_status"],
            ]
            for e in data
            for c in e["contacts"]
        ]
    else:
        header, rows = ["status", "label", "count"], [[e["status"], e["label"], e["count"]] for e in data]

    def table() -> None:
        for e in data:
            click.echo(safe(f"{e['label']:<22} {e['count']:>9,}"))
            for c in e.get("contacts", []):
                phones = ", ".join(p["number"] for p in c["phones"])
                click.echo(
                    safe(
                        f"    {c['id']:>7}  {c['owner_name'][:28]:<28}  {c['address']}, {c['city'] or ''} "
                        f"{c['state'] or ''}  {phones}"
                    )
                )
        click.echo(f"{'total':<22} {sum(e['count'] for e in data):>9,}")

    _show(fmt, data, header, rows, table)


@command(report, "kpi")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="From this floor day on (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Up to this floor day (YYYY-MM-DD).")
@click.option(
    "--by",
    type=click.Choice(["day", "hour"]),
    default="day",
    show_default=True,
    help="Per rep per day, or per hour too.",
)
@click.option("--format", "fmt", type=FORMATS, help="table (default), csv or json (same as --json).")
def report_kpi(state: State, since, until, by: str, fmt: str | None) -> None:
    """Per rep, per floor day ([floor] timezone), or per hour: dials, contacts, appointments, offers,
    contracts, under contract (W20, each credited once per lead per status per day); from the call
    log, calls placed, connects and talk seconds; and the contact rate (contacts per dial)."""
    data = state.service().kpis(
        since=since.date().isoformat() if since else None,
        until=until.date().isoformat() if until else None,
        by=by,
    )
    header = ["rep", "day", *(["hour"] if by == "hour" else []), *COUNTERS, "contact_rate"]
    rows = [[d[h] for h in header] for d in data]

    def table() -> None:
        click.echo(" ".join(f"{h:<12}" for h in header))
        for d, row in zip(data, rows, strict=True):
            rate = d["contact_rate"]
            cells = [*row[:-1], "-" if rate is None else f"{rate:.0%}"]
            click.echo(safe(" ".join(f"{v!s:<12}" for v in cells)))

    _show(_fmt(state, fmt), data, header, rows, table)


@command(cli)
@click.argument("target", metavar="FILE.csv", type=click.Path(dir_okay=False))
@click.option("--status", help="Only leads with this status id.")
def export(state: State, target: str, status: str | None) -> None:
    """Leads to a CSV (formula cells made inert) with everything `import` needs to give them back:
    status, owner, dates, offer, notes, property facts, each phone with its flags and wrong-number
    reports. Imported into a fresh floor (reps added first), the leads come back the same; into the
    same floor, nothing is added. A progress bar shows on a terminal."""
    from leadtui.reports import export as write_export

    svc = state.service()
    if sys.stderr.isatty() and not state.as_json:
        from leadtui.cli.imports import Bar

        with Bar("exporting") as bar:
            n = write_export(
                svc,
                Path(target),
                status=status,
                viewer=state.rep_name,
                progress=lambda done, total: bar(done, total, done),
            )
    else:
        n = write_export(svc, Path(target), status=status, viewer=state.rep_name)
    emit(state, {"file": target, "leads": n}, f"exported {n} lead(s) to {target}")
