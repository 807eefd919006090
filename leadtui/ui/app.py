"""The Textual app: opens the service, picks the rep, keeps the floor live (sweep, other stations)."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable

from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider

from leadtui.errors import LeadtuiError, Refused
from leadtui.service import PinRequired, open_service
from leadtui.text import safe
from leadtui.ui.dialogs import Ask, Pick
from leadtui.ui.floor import Floor
from leadtui.ui.keys import bindings, key_table, remapped
from leadtui.ui.style import theme_defaults

POLL_SECONDS = 1.0  # other stations' commits show within this (PRAGMA data_version)
SWEEP_SECONDS = 60  # W9: held leads whose 7 days ran out go back to the pool


class KeyCommands(Provider):
    """The command palette: every entry of the key table, run on the floor."""

    async def discover(self) -> Hits:
        for key in self.app.table:
            yield DiscoveryHit(f"{key.label} ({key.display})", partial(self._run, key.action), help=key.description)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for key in self.app.table:
            text = f"{key.label} ({key.display})"
            score = matcher.match(f"{text} {key.description}")
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._run, key.action), help=key.description)

    async def _run(self, action: str) -> None:
        floor = next((s for s in self.app.screen_stack if isinstance(s, Floor)), None)
        if floor is not None:
            await floor.run_action(action)


class Leadtui(App):
    """One station of the call floor. It also runs the automation worker in a thread (log or dispatch
    mode, from the config): leases keep it from sending what another station or `leadtui dispatch`
    is sending."""

    TITLE = "leadtui"
    COMMANDS = {KeyCommands}
    CSS_PATH = "leadtui.tcss"

    def __init__(self, db_path: Path, config: Any, rep: str | None, **service_options: Any) -> None:
        super().__init__()
        self.db_path, self.config = db_path, config
        self.svc = open_service(db_path, config, **service_options)
        self._reader = open_service(db_path, config, **service_options)
        self._reader_lock = threading.Lock()
        self.table = key_table(self.svc.playbook, config.keys)
        self.floor_class = type("FloorScreen", (Floor,), {"BINDINGS": bindings(self.table)})
        self.rep = self._known_rep(rep)
        self._version = self.svc.data_version()
        from leadtui.automation.worker import start_background  # config errors raise here, before the screen

        self._stop_worker = start_background(db_path, config, on_error=self._worker_error)

    def _known_rep(self, rep: str | None) -> str | None:
        names = {r["name"].lower(): r["name"] for r in self.svc.reps() if r["active"]}
        if not names:
            raise LeadtuiError("no reps yet: add one with `leadtui reps add NAME` (or try `leadtui run --demo`)")
        if rep and rep.lower() not in names:
            raise LeadtuiError(f"no active rep named {rep!r} (one of: {', '.join(sorted(names.values()))})")
        return names[rep.lower()] if rep else None

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **theme_defaults()}

    def on_mount(self) -> None:
        self.set_keymap(remapped(self.table))
        if self.rep:
            self._start()
        else:
            choices = [(r["name"], f"{r['name']}{' (manager)' if r['manager'] else ''}")
                       for r in self.svc.reps() if r["active"]]
            self.push_screen(Pick("Who is at this station?", choices), self._picked)

    def _picked(self, name: str | None) -> None:
        if name is None:
            self.exit()
            return
        self.rep = name
        self._start()

    def _start(self) -> None:
        self.sweep()
        self.push_screen(self.floor_class())
        self.set_interval(SWEEP_SECONDS, self.sweep)
        self.set_interval(POLL_SECONDS, self.poll)

    def on_unmount(self) -> None:
        """Let the delivery in flight finish (its lease covers a slow one), then close."""
        self._stop_worker(5)
        self.svc.close()
        self._reader.close()

    def _worker_error(self, exc: LeadtuiError) -> None:
        self.call_from_thread(self.notify, safe(str(exc)), title="Automation", severity="error", markup=False)

    def retry_action(self, action_id: int) -> dict:
        """A dead or failed action goes again (from the Outbox view)."""
        from leadtui.automation.worker import retry

        return retry(self.svc.db, action_id, now=self.svc.now, by=self.rep)

    # --- the database ----------------------------------------------------------------------

    def read(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(service)` on the reader connection (from a worker thread)."""
        with self._reader_lock:
            return fn(self._reader)

    def act(self, call: Callable[[str | None], Any], done: Callable[[Any], None]) -> None:
        """Run a write; a rule's no is a notice, a manager action asks for the PIN and runs again."""
        try:
            outcome = call(None)
        except PinRequired as exc:
            def with_pin(pin: str | None) -> None:
                if pin:
                    self.act(lambda _: call(pin), done)

            self.push_screen(Ask("Manager PIN", str(exc), password=True), with_pin)
            return
        except Refused as exc:
            self.notify(safe(str(exc)), title="Refused", severity="warning", timeout=6, markup=False)
            return
        except LeadtuiError as exc:
            self.notify(safe(str(exc)), title="Can't do that", severity="error", timeout=6, markup=False)
            return
        done(outcome)

    def sweep(self) -> None:
        """W9 inside the app: expired holds back to the pool."""
        try:
            released = self.svc.sweep()
        except LeadtuiError as exc:
            self.notify(safe(str(exc)), severity="error", markup=False)
            return
        if released:
            self.notify(f"{len(released)} held lead(s) went back to the pool (W9)", timeout=4)
            self._others_changed()

    def poll(self) -> None:
        """Another station committed: re-read what is on screen."""
        try:
            version = self.svc.data_version()
        except Exception:  # noqa: BLE001 - a vanished database shows on the next action, not as a crash here
            return
        if version != self._version:
            self._version = version
            self._others_changed()

    def _others_changed(self) -> None:
        screen = self.screen
        if isinstance(screen, Floor):
            current = screen.list.current
            screen.load(keep=current["id"] if current else None)
        elif hasattr(screen, "reload"):
            screen.reload()
