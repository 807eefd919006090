"""The outbox worker: lease what is due, render it, deliver it, record the outcome.

At least once: a lease is taken and the outcome recorded in separate short transactions, so a
worker killed mid-delivery leaves a lease that expires and the action goes again (with the same
idempotency key). Two workers never hold one lease at once.

    worker = Worker.open(db_path, config)       # config errors raise here, before anything is sent
    worker.run_once()                           # drain what is due now
    stop = start_background(db_path, config)    # the TUI: a thread; stop() lets the delivery in flight finish
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from leadtui import clock
from leadtui.automation.targets import DeliveryError, Message, Router, Target, context
from leadtui.automation.templates import render
from leadtui.config import config_dir
from leadtui.errors import LeadtuiError, Refused
from leadtui.store import optouts
from leadtui.store import outbox as store
from leadtui.store.db import Database, connect

BACKOFF_FIRST = 30.0  # seconds before the second try; doubles each time
BACKOFF_CAP = 3600.0
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Delivery:
    """One try: the new state (`sent`, `logged`, `failed`, `dead`), or None when the lease was lost."""

    id: int
    lead_id: int
    action: str
    target: str
    state: str | None
    detail: str | None


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential, capped, with jitter: between half and all of 30 s x 2^(attempt-1)."""
    full = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 1))
    return timedelta(seconds=full * (0.5 + rng() / 2))


def user_templates() -> Path | None:
    """The user's template folder (config dir/templates), if there is one."""
    folder = config_dir() / "templates"
    return folder if folder.is_dir() else None


def _check_routes(db: Database, config: Any) -> None:
    """Every route must name an action some status of the database's playbook queues."""
    from leadtui.core.playbook import parse
    from leadtui.store.queries import meta

    source = meta(db.conn, "playbook")
    if source is None:
        raise LeadtuiError(f"{db.path}: no playbook stored; run `leadtui init --db {db.path}`")
    playbook = parse(source, "playbook stored in the database")
    config.check_keys(playbook)  # the whole config is checked, [keys] against the floor's playbook too
    known = {a for status in playbook.statuses for a in status.actions}
    for action in config.automation["routes"]:
        if action not in known:
            raise LeadtuiError(
                f"{config.path}: automation.routes.{action}: no status of playbook {playbook.name} "
                f"queues that action (it has: {', '.join(sorted(known)) or 'none'})"
            )


class Worker:
    """Delivers the outbox of one database through the targets of one config."""

    def __init__(
        self,
        db: Database,
        automation: dict,
        *,
        now: Callable[[], datetime] = clock.now,
        templates_dir: Path | None = None,
        rng: Callable[[], float] = random.random,
    ):
        self.db, self.now, self.rng = db, now, rng
        self.templates_dir = templates_dir
        self.max_attempts = automation["max_attempts"]
        self.router = Router(automation, templates_dir, dnc=self._dnc)

    @classmethod
    def open(cls, db_path: Path | str, config: Any, **kwargs: Any) -> Worker:
        """A worker with its own connection; config errors (a missing secret, ...) raise LeadtuiError."""
        kwargs.setdefault("templates_dir", user_templates())
        db = connect(db_path, busy_timeout_ms=config.database.get("busy_timeout_ms"))
        # The worker's own commits need not survive a power cut: a lost lease is taken again, a lost
        # outcome means one more delivery under the same idempotency key (at least once either way).
        # The floor's commits, on their own connections, stay synchronous=FULL.
        try:
            if db.engine == "sqlite":  # (a server's commits are the server's own business)
                db.conn.execute("PRAGMA synchronous = NORMAL")
            _check_routes(db, config)
            return cls(db, config.automation, **kwargs)
        except BaseException:
            db.close()
            raise

    def _dnc(self, number: str) -> bool:
        """D4: whether `number` is DNC, as the database has it the moment a text goes."""
        with self.db.read() as conn:
            return optouts.is_dnc(conn, number)

    def close(self) -> None:
        self.router.close()
        self.db.close()

    def step(self) -> Delivery | None:
        """Lease one due action and try it once; None when nothing is due."""
        now = self.now()
        with self.db.write(background=True, shared=True) as conn:
            leased = store.lease(conn, now, now + timedelta(seconds=self.router.lease_seconds))
        if leased is None:
            return None
        target = self.router.target(leased["action"])
        try:
            detail = target.deliver(self._message(leased, now))
        except DeliveryError as exc:
            return self._failed(leased, target, exc)
        except Exception as exc:  # noqa: BLE001 (a bug in a target must not stop the worker; the action is retried)
            return self._failed(leased, target, DeliveryError(f"internal error {type(exc).__name__}: {exc}"))
        with self.db.write(background=True, shared=True) as conn:
            kept = store.finish(conn, leased, self.now(), target.state, target.name, detail)
        return self._delivery(leased, target, target.state if kept else None, detail)

    def _message(self, row: Any, now: datetime) -> Message:
        payload = json.loads(row["payload"])
        ctx = context(row["action"], row["lead_id"], payload, row["idempotency_key"])
        try:
            text = render([f"{row['action']}.txt.j2", "action.txt.j2"], ctx, self.templates_dir).strip()
        except LeadtuiError as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        return Message(
            row["id"],
            row["idempotency_key"],
            row["action"],
            row["lead_id"],
            row["attempts"],
            payload,
            text,
            now,
        )

    def _failed(self, leased: Any, target: Target, exc: DeliveryError) -> Delivery:
        now = self.now()
        last = exc.permanent or leased["attempts"] >= self.max_attempts
        retry_at = None if last else now + backoff(leased["attempts"], self.rng)
        with self.db.write(background=True, shared=True) as conn:
            state = store.fail(conn, leased, now, str(exc), target.name, retry_at)
        return self._delivery(leased, target, state, str(exc))

    @staticmethod
    def _delivery(row: Any, target: Target, state: str | None, detail: str | None) -> Delivery:
        return Delivery(row["id"], row["lead_id"], row["action"], target.name, state, detail)

    def run_once(
        self, stop: threading.Event | None = None, on_delivery: Callable[[Delivery], None] | None = None
    ) -> Counter:
        """Drain what is due now (or until `stop` is set); returns a count per outcome."""
        counts: Counter = Counter()
        while not (stop and stop.is_set()):
            delivery = self.step()
            if delivery is None:
                break
            counts[delivery.state or "lost"] += 1
            if on_delivery:
                on_delivery(delivery)
        return counts

    def run_forever(
        self,
        stop: threading.Event,
        *,
        poll: float = POLL_SECONDS,
        on_delivery: Callable[[Delivery], None] | None = None,
        on_error: Callable[[LeadtuiError], None] | None = None,
    ) -> Counter:
        """Drain, wait `poll` seconds, again, until `stop` is set; returns a count per outcome.

        The delivery in flight always finishes.

        A database error (say, locked too long) goes to `on_error` and the loop goes on; an action
        whose outcome could not be recorded goes again when its lease expires.
        """
        counts: Counter = Counter()
        while not stop.is_set():
            try:
                counts += self.run_once(stop, on_delivery)
            except LeadtuiError as exc:
                if on_error is None:
                    raise
                on_error(exc)
            stop.wait(poll)
        return counts


def start_background(
    db_path: Path | str,
    config: Any,
    *,
    on_delivery: Callable[[Delivery], None] | None = None,
    on_error: Callable[[LeadtuiError], None] | None = None,
    poll: float = POLL_SECONDS,
) -> Callable[[float | None], bool]:
    """Run the worker in a daemon thread; returns `stop(timeout=None) -> finished`.

    Config errors raise here, in the caller. The callbacks run in the worker's thread.
    `stop` lets the delivery in flight finish; it returns False if that outlasted `timeout`
    (the action's lease then expires and it goes again: at least once).
    """
    worker = Worker.open(db_path, config)
    halt = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever,
        args=(halt,),
        name="leadtui-dispatch",
        daemon=True,
        kwargs={"poll": poll, "on_delivery": on_delivery, "on_error": on_error},
    )
    thread.start()

    def stop(timeout: float | None = None) -> bool:
        halt.set()
        thread.join(timeout)
        if thread.is_alive():
            return False
        worker.close()
        return True

    return stop


def retry(
    db: Database, action_id: int, *, now: Callable[[], datetime] = clock.now, by: str | None = None
) -> dict:
    """`leadtui outbox retry ID`: a dead or failed action goes back in line, due now, attempts reset."""
    moment = now()
    with db.write() as conn:
        row = store.action(conn, action_id)
        if row is None:
            raise LeadtuiError(f"no action {action_id}")
        if row["state"] not in ("dead", "failed"):
            raise Refused(
                f"action #{action_id} is {row['state']}; only a dead or failed action can be retried"
            )
        if row["lease_until"] and row["lease_until"] > clock.stamp(moment):
            raise Refused(f"action #{action_id} is being delivered right now")
        fresh = store.retry(conn, row, moment, by)
    return {
        "id": fresh["id"],
        "lead_id": fresh["lead_id"],
        "action": fresh["action"],
        "state": fresh["state"],
        "attempts": fresh["attempts"],
        "due_at": fresh["due_at"],
        "last_error": fresh["last_error"],
    }
