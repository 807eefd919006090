"""Commands for the floor: the database, reps, leads and the status controls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from leadtui.cli.root import Amount, State, as_manager, cli, command, emit, outcome, read_pin, shown, with_pin
from leadtui.core.facts import summary as facts_summary
from leadtui.errors import LeadtuiError
from leadtui.text import safe, safe_json


def lead_line(lead: dict) -> str:
    owner = lead["owner"] or "pool"
    flag = " DEAD" if lead["dead"] else ""
    return safe(
        f"{lead['id']:>7}  {lead['symbol']} {lead['status_label']:<19} {owner:<10} "
        f"{lead['owner_name'][:28]:<28}  {lead['address']}, {lead['city'] or ''} {lead['state'] or ''}{flag}"
    )


def print_lead(lead: dict) -> None:
    click.echo(safe(f"Lead {lead['id']}: {lead['owner_name']}"))
    click.echo(
        safe(
            f"  property  {lead['address']}, {lead['city'] or ''}, {lead['state'] or ''} {lead['zip'] or ''}"
        )
    )
    if lead["mailing_address"] and lead["mailing_address"] != lead["address"]:
        click.echo(
            safe(
                f"  mailing   {lead['mailing_address']}, {lead['mailing_city'] or ''}, "
                f"{lead['mailing_state'] or ''} {lead['mailing_zip'] or ''}"
            )
        )
    click.echo(
        safe(
            f"  status    {lead['symbol']} {lead['status_label']}{'  (DEAD)' if lead['dead'] else ''}"
            f"{'  source status: ' + lead['source_status'] if lead['source_status'] else ''}"
        )
    )
    holder = lead["owner"] or "the pool"
    if lead["hold_until"]:
        holder += f", held until {lead['hold_until']}"
    click.echo(safe(f"  owner     {holder}"))
    for key, label in (
        ("next_call_at", "next call"),
        ("followup_requested_at", "asked for"),
        ("appointment_at", "appt"),
        ("offer_amount", "offer"),
        ("contract_path", "contract"),
        ("cooloff_until", "cool-off"),
    ):
        if lead.get(key) is not None:
            click.echo(safe(f"  {label:<9} {lead[key]}"))
    if lead["emails"]:
        click.echo(safe(f"  email     {', '.join(lead['emails'])}"))
    for line in facts_summary(lead.get("facts") or {}):
        click.echo(safe(f"  facts     {line}"))
    for p in lead["phones"]:
        flags = [name for name in ("dnc", "litigator", "bad") if p[name]]
        if p["wrong_reports"]:
            flags.append(f"wrong x{p['wrong_reports']}")
        mark = "▶" if p["current"] else " "
        run = f"  dials this run: {lead['dial_run']}" if p["current"] and lead["dial_run"] else ""
        click.echo(
            safe(f"  {mark} phone {p['position']}  {p['number']}  {p['type'] or ''} {' '.join(flags)}{run}")
        )
    for e in lead.get("events", []):
        what = e.get("status") or ""
        detail = e.get("data") or {}
        extra = " ".join(f"{k}={v}" for k, v in detail.items() if k != "phones_before")
        head = f"    {e['at']}  {e['rep'] or 'system':<10} {e['kind']:<18} {what} "
        if e["kind"] == "note":  # D5: the text as typed, shown literally, its lines kept in the column
            on = f"(call #{detail['call']}) " if detail.get("call") else ""
            extra = on + detail["text"].replace("\n", "\n" + " " * len(head))
        undone = " (undone)" if e["undone"] else ""
        click.echo(safe(f"{head}{extra}{undone}"))
    if lead.get("calls"):
        from leadtui.cli.calls import call_line

        click.echo(f"  calls ({len(lead['calls'])})")
        for call in lead["calls"]:
            click.echo(f"    {call_line(call)}")


@command(cli)
@click.option("--playbook", help="wholesale (default), lifecycle, or a playbook TOML file.")
@click.option(
    "--test-clock", is_flag=True, help="A floor for tests and demos: env LEADTUI_NOW sets its clock."
)
def init(state: State, playbook: str | None, test_clock: bool) -> None:
    """Create the database (or switch its playbook)."""
    from leadtui.service import init_database

    pb, changed = init_database(
        state.db_path, playbook or state.settings.playbook or "wholesale", test_clock=test_clock
    )
    word = "ready" if changed else "already set up"
    emit(
        state,
        {"db": state.db_shown, "playbook": pb.name, "changed": changed},
        f"{state.db_shown}: {word} with playbook {pb.name}",
    )


@cli.group()
def reps() -> None:
    """The floor's reps and managers."""


def _acting_pin(state: State) -> str:
    """The acting manager's PIN (--rep names them), asked before anything else is."""
    if not state.rep_name:
        raise LeadtuiError("say which manager acts: --rep NAME (their PIN is asked)")
    return read_pin(f"PIN of acting manager {state.rep_name}")


@command(reps, "add")
@click.argument("name")
@click.option("--manager", is_flag=True, help="A manager (asks an existing manager's PIN).")
@click.option("--started", type=click.DateTime(["%Y-%m-%d"]), help="Start date (default today).")
@click.option("--pin", "set_pin", is_flag=True, help="Set the new rep's PIN (asked; stdin in scripts).")
def reps_add(state: State, name: str, manager: bool, started, set_pin: bool) -> None:
    """Add a rep. Once the floor has a manager, an acting manager's PIN (--rep) is asked. From a
    script: stdin gives the acting manager's PIN first, then the new PIN."""
    svc = state.service()
    acting_pin = None
    if any(r["manager"] and r["active"] for r in svc.reps()):
        acting_pin = _acting_pin(state)
    pin = read_pin(f"new PIN for {name}", new=True) if set_pin or manager else None
    rep = svc.add_rep(
        name,
        manager=manager,
        started=started.date() if started else None,
        pin=pin,
        acting=state.rep_name,
        acting_pin=acting_pin,
    )
    emit(state, rep, f"added {rep['role']} {rep['name']} (started {rep['started']})")


@command(reps, "deactivate")
@click.argument("name")
@click.option("--to", "to_rep", metavar="REP", help="Hand their leads and callbacks to REP (else: the pool).")
def reps_deactivate(state: State, name: str, to_rep: str | None) -> None:
    """Switch a rep off (manager PIN): they open no station and act on nothing; their leads and
    callbacks go to --to REP, or to the pool."""
    result = as_manager(state, lambda svc, pin: svc.deactivate(name, state.rep_name, pin, to=to_rep))
    emit(state, result, result["message"])


@command(reps, "activate")
@click.argument("name")
def reps_activate(state: State, name: str) -> None:
    """Switch a rep back on (manager PIN)."""
    result = as_manager(state, lambda svc, pin: svc.set_active(name, True, state.rep_name, pin))
    emit(state, result, result["message"])


@command(reps, "pin")
@click.argument("name")
def reps_pin(state: State, name: str) -> None:
    """Set or reset a rep's PIN (manager PIN, --rep). Asked on a terminal (the new one twice); from
    a script, stdin gives the acting manager's PIN first, then the new PIN."""
    svc = state.service()
    acting_pin = _acting_pin(state)
    new_pin = read_pin(f"new PIN for {name}", new=True)
    result = svc.reset_pin(name, new_pin, state.rep_name, acting_pin)
    emit(state, result, result["message"])


@command(reps, "grant")
@click.argument("name")
@click.option("--manager", is_flag=True, help="A manager's role: sees every lead (NAME must be a manager).")
@click.option("--password-env", "password_env", metavar="VAR", help="The role's password from env VAR.")
@click.option(
    "--password-stdin", is_flag=True, help="The role's password from stdin (asked twice on a terminal)."
)
def reps_grant(
    state: State, name: str, manager: bool, password_env: str | None, password_stdin: bool
) -> None:
    """PostgreSQL: let rep NAME connect with a database role of their own (made if missing, named as
    the rep, lowercase). Row security then shows them the pool's leads and theirs; a manager's role
    sees all. Run by the floor's owner (a role with CREATEROLE). No password: none is set (peer or
    certificate authentication); never one on the command line."""
    import os
    import sys

    if password_env and password_stdin:
        raise click.UsageError("--password-env or --password-stdin, not both")
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise LeadtuiError(f"--password-env {password_env}: that variable is not set or empty")
    elif password_stdin:
        if sys.stdin is not None and sys.stdin.isatty():
            password = click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
        else:
            password = (sys.stdin.readline() if sys.stdin else "").rstrip("\n")
            if not password:
                raise LeadtuiError(f"password for {name}: expected on stdin, got nothing")
    result = state.service().grant_role(name, manager=manager, password=password)
    emit(state, result, result["message"])


@command(reps, "list")
def reps_list(state: State) -> None:
    """Every rep."""
    emit(
        state,
        state.service().reps(),
        lambda rows: [
            click.echo(
                safe(
                    f"{r['name']:<20} {r['role']:<8} started {r['started']}{'' if r['active'] else '  inactive'}"
                )
            )
            for r in rows
        ],
    )


@command(cli)
@click.option("--owner", "owner_name", required=True, help="Owner name(s).")
@click.option("--phone", "phones", multiple=True, help="A phone number (repeatable).")
@click.option("--address", required=True, help="Property street address.")
@click.option("--city")
@click.option("--state", "state_code")
@click.option("--zip", "zip_code")
@click.option("--mailing-address", help="Default: the property address.")
@click.option("--mailing-city")
@click.option("--mailing-state")
@click.option("--mailing-zip")
@click.option("--apn", help="Parcel number.")
@click.option("--county")
@click.option("--email", "emails", multiple=True)
@click.option("--list", "source_list", help="Source list name.")
@click.option("--source-status", help="The status the lead had in the system it came from.")
@click.option("--notes", default="")
def add(state: State, **fields: Any) -> None:
    """Add a lead by hand (L1: it gets the playbook's initial status)."""
    lead = state.service().add_lead(
        owner_name=fields["owner_name"],
        address=fields["address"],
        phones=fields["phones"],
        city=fields["city"],
        state=fields["state_code"],
        zip_code=fields["zip_code"],
        mailing_address=fields["mailing_address"],
        mailing_city=fields["mailing_city"],
        mailing_state=fields["mailing_state"],
        mailing_zip=fields["mailing_zip"],
        apn=fields["apn"],
        county=fields["county"],
        emails=fields["emails"],
        source_list=fields["source_list"],
        source_status=fields["source_status"],
        notes=fields["notes"],
        rep=state.rep_name,
    )
    emit(state, lead, print_lead)


@command(cli)
@click.option("--status", help="Status id, e.g. needs-offer.")
@click.option("--pool", is_flag=True, help="Only leads in the pool.")
@click.option("--owner", help="Only this rep's leads.")
@click.option("--search", "text", help="Text: owner, address, city, ZIP, source status, or phone digits.")
@click.option("--dead", is_flag=True, help="Killed leads instead of live ones.")
@click.option("--limit", type=int, help="At most N leads.")
def leads(state: State, status, pool, owner, text, dead, limit) -> None:
    """Search leads as --rep may see them (a manager, or no rep: all)."""
    if pool and owner:
        raise LeadtuiError("--pool and --owner exclude each other")
    rows = state.service().search(
        state.rep_name, status=status, pool=pool, owner=owner, text=text, dead=dead, limit=limit
    )

    def human(found: list) -> None:
        for row in found:
            click.echo(lead_line(row))
        click.echo(f"{len(found)} lead(s)", err=True)

    emit(state, rows, human)


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
def show(state: State, lead_id: int) -> None:
    """One lead with its phones and timeline (B4)."""
    emit(state, state.service().lead(lead_id, events=True, viewer=state.rep_name), print_lead)


@command(cli, "set")
@click.argument("lead_id", metavar="LEAD", type=int)
@click.argument("status")
@click.option("--phone", type=int, help="Phone number N of the lead (from 1).")
@click.option("--at", help="Appointment date and time, ISO-8601 (lead-local without an offset).")
@click.option("--amount", type=Amount(), help="Offer amount.")
@click.option("--source", type=click.Choice(["propstream", "assessor"]), help="Where the sale was seen.")
@click.option("--confirm", is_flag=True, help="Confirm a status that asks for it.")
@click.option("--override", is_flag=True, help="Dial outside the window or past the cap (never DNC).")
@click.option("--why", help="One line for the manager when the status needs approval (W13).")
def set_status(state: State, lead_id, status, phone, at, amount, source, confirm, override, why) -> None:
    """Apply a status as --rep."""
    from leadtui.core.rules import NeedsConfirmation

    try:
        result = state.service().set_status(
            lead_id,
            status,
            state.rep_name,
            phone=phone,
            at=at,
            amount=amount,
            source=source,
            confirm=confirm,
            override=override,
            why=why,
        )
    except OverflowError:  # a time whose UTC moment is past year 9999
        if at is None:
            raise
        raise LeadtuiError(f"--at {shown(at)} is out of range (past year 9999)") from None
    except NeedsConfirmation as exc:
        if state.as_json:
            click.echo(safe_json({"error": str(exc), "other_properties": exc.others}))
        else:
            click.echo(f"The owner's other properties ({len(exc.others)}):", err=True)
            for other in exc.others:
                click.echo(lead_line(other), err=True)
        raise
    outcome(state, result)


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
def claim(state: State, lead_id: int) -> None:
    """Lock a pool lead to you (W14)."""
    outcome(state, state.service().claim(lead_id, state.rep_name))


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
def release(state: State, lead_id: int) -> None:
    """Put your lead back in the pool (W15)."""
    with_pin(state, lambda svc, pin: svc.release(lead_id, state.rep_name, pin))


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
@click.argument("to_rep", metavar="REP")
def assign(state: State, lead_id: int, to_rep: str) -> None:
    """Give a lead to a rep (W16; another rep's lead: manager PIN)."""
    with_pin(state, lambda svc, pin: svc.assign(lead_id, to_rep, state.rep_name, pin))


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
@click.argument("when")
@click.option("--anyone", is_flag=True, help="Anyone's callback: the lead goes back to the pool when due.")
def followup(state: State, lead_id: int, when: str, anyone: bool) -> None:
    """Schedule the call at half the interval asked ("6 months" -> 3 months) (W18); yours, or --anyone's."""
    if len(when) > 100:  # no follow-up is written that long (and a 5,000-digit number is no date)
        raise LeadtuiError(
            f"can't read follow-up {shown(when)}: say e.g. '6 months', '3 weeks', '90 days' or a date"
        )
    outcome(state, state.service().followup(lead_id, state.rep_name, when, anyone=anyone))


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
def undo(state: State, lead_id: int) -> None:
    """Reverse your last action on a lead, within 10 minutes (W19)."""
    outcome(state, state.service().undo(lead_id, state.rep_name))


@command(cli)
@click.option("--all", "all_states", is_flag=True, help="Decided ones too.")
def approvals(state: State, all_states: bool) -> None:
    """Approvals: a manager sees the pending ones; a rep their own, with why. Each with its lead's
    owner and address, the rep's reason, and STALE when the lead moved on since (it can't be approved)."""
    rows = state.service().approvals(state.rep_name, all_states=all_states)
    emit(
        state,
        rows,
        lambda rs: [
            click.echo(
                safe(
                    f"#{r['id']:<5} lead {r['lead_id']:<7} {r['status']:<14} by {r['rep']:<10} "
                    f"{'STALE (' + r['stale'] + ')' if r['stale'] else r['state']}  "
                    f"{r['lead']['owner_name']}, {r['lead']['address']}"
                    f"{'  reason: ' + r['reason'] if r['reason'] else ''}{'  why: ' + r['why'] if r['why'] else ''}"
                )
            )
            for r in rs
        ],
    )


@command(cli)
@click.argument("approval_id", metavar="ID", type=int)
def approve(state: State, approval_id: int) -> None:
    """Approve a pending status (manager; W13)."""
    with_pin(state, lambda svc, pin: svc.approve(approval_id, state.rep_name, pin))


@command(cli)
@click.argument("approval_id", metavar="ID", type=int)
@click.option("--why", required=True, help="What the rep will read.")
def reject(state: State, approval_id: int, why: str) -> None:
    """Reject a pending status (manager; W13)."""
    with_pin(state, lambda svc, pin: svc.reject(approval_id, state.rep_name, pin, why))


@command(cli)
@click.argument("lead_id", metavar="LEAD", type=int)
def revive(state: State, lead_id: int) -> None:
    """Bring a killed lead back to its previous status (manager; W10)."""
    with_pin(state, lambda svc, pin: svc.revive(lead_id, state.rep_name, pin))


@command(cli, "migrate-statuses")
@click.option("--map", "map_spec", required=True, help="legacy, or a TOML map file.")
@click.option("--dry-run", is_flag=True, help="Only count.")
def migrate_statuses(state: State, map_spec: str, dry_run: bool) -> None:
    """Map source statuses onto the playbook (L5)."""
    from leadtui.service import LEGACY_DEFAULT, LEGACY_MAP

    if map_spec == "legacy":
        mapping, default = LEGACY_MAP, LEGACY_DEFAULT
    else:
        mapping, default = _read_map(Path(map_spec))
    result = state.service().migrate_statuses(mapping, default, rep=state.rep_name, dry_run=dry_run)

    def human(r: dict) -> None:
        for row in r["map"]:
            click.echo(safe(f"{row['count']:>8}  {row['from']} -> {row['to']}"))
        click.echo(f"{r['changed']} lead(s) {'would change' if r['dry_run'] else 'changed'}")

    emit(state, result, human)


def _read_map(path: Path) -> tuple[dict, str | None]:
    """A migration map file: `default = "future"` and a [map] table of source -> status id."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise LeadtuiError(f"can't read map {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LeadtuiError(f"{path}: {exc}") from None
    unknown = set(data) - {"default", "map"}
    if unknown:
        raise LeadtuiError(f"{path}: unknown key {min(unknown)!r} (expected default, [map])")
    mapping, default = data.get("map", {}), data.get("default")
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise LeadtuiError(f"{path}: [map] must map source statuses to status ids (strings)")
    if default is not None and not isinstance(default, str):
        raise LeadtuiError(f"{path}: default must be a status id (string)")
    return mapping, default


@command(cli)
def sweep(state: State) -> None:
    """Send leads whose 7-day hold ran out back to the pool (W9)."""
    released = state.service().sweep()
    emit(state, {"released": released}, f"{len(released)} lead(s) back to the pool")


@command(cli)
@click.argument("target", type=click.Path(dir_okay=False))
def backup(state: State, target: str) -> None:
    """An online, consistent copy of the database (safe while stations work). A PostgreSQL floor's
    is made by pg_dump (custom format: restore it with pg_restore)."""
    if state.on_server:
        from leadtui.store.ops import dump

        made = dump(str(state.db_path), Path(target))
        emit(
            state,
            {"backup": target, "engine": "postgresql", **made},
            f"backed up {state.db_shown} to {target} (pg_dump; restore with pg_restore)",
        )
        return
    from leadtui.store.db import backup_to

    pages = backup_to(state.db_path, Path(target))
    emit(state, {"backup": target, "pages": pages}, f"backed up {state.db_path} to {target}")


@cli.group("config")
def config_group() -> None:
    """Where the config file is, and what it says."""


@command(config_group, "path")
def config_path_cmd(state: State) -> None:
    """Print where the config, database and data live."""
    from leadtui import config

    path, _named = config.config_path(state.config)
    try:
        db = state.db_shown
    except LeadtuiError as exc:  # the config can't be read ([database] url): still say where things are
        db = f"unknown ({exc})"
    data = {
        "config": str(path),
        "config_exists": path.exists(),
        "db": db,
        "data_dir": str(config.data_dir()),
    }
    emit(state, data, lambda d: [click.echo(f"{k:<14} {v}") for k, v in d.items()])


@command(config_group, "show")
def config_show(state: State) -> None:
    """Print the config as loaded and checked."""
    settings = state.settings
    data = {
        "path": str(settings.path),
        "rep": settings.rep,
        "playbook": settings.playbook,
        "keys": settings.keys,
        "calling": settings.calling,
        "automation": settings.masked_automation(),
        "dialer": settings.masked_dialer(),
        "database": settings.masked_database(),
    }  # no secret in clear
    emit(state, data, lambda d: click.echo(safe(json.dumps(d, indent=2, default=str))))
