"""The Textual app: opens the service, picks the rep, keeps the floor live (sweep, other stations)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from leadtui.clock import parse_iso
from leadtui.core.decide import Seen
from leadtui.errors import LeadtuiError, Refused
from leadtui.service import PinRequired, open_service
from leadtui.service.base import new_station
from leadtui.service.writer import Job, Writer
from leadtui.text import safe
from leadtui.ui.calls import CallUpdate
from leadtui.ui.dialogs import Ask, Dialog, Pick
from leadtui.ui.floor import Floor
from leadtui.ui.keys import bindings, key_table, remapped
from leadtui.ui.presence import StationApp
from leadtui.ui.signin import SignIn
from leadtui.ui.style import plain, theme_defaults

# Other stations' commits show within a second: this, a poll's read (PRAGMA data_version, or a round
# trip on a server) and the re-list.
POLL_SECONDS = 0.8
SWEEP_SECONDS = 60  # W9: held leads whose 7 days ran out go back to the pool
TYPED_AHEAD = (
    0.3  # seconds after a refused dialog key within which keys were typed for its dialog, not seen refused
)
HOLD_LIMIT = 10.0  # seconds typed keys may wait for a dialog to open or close before they go on anyway (a loaded host can take seconds)
Call = Callable[[Any, "Seen | None", "str | None"], Any]  # (service, lead as seen, manager PIN) -> Outcome


class KeyCommands(Provider):
    """The command palette: every entry of the key table, run on the floor."""

    async def discover(self) -> Hits:
        for key in self.app.table:
            yield DiscoveryHit(
                f"{key.label} ({key.display})", partial(self._run, key.action), help=key.description
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for key in self.app.table:
            text = f"{key.label} ({key.display})"
            score = matcher.match(f"{text} {key.description}")
            if score > 0:
                yield Hit(
                    score, matcher.highlight(text), partial(self._run, key.action), help=key.description
                )

    async def _run(self, action: str) -> None:
        floor = next((s for s in self.app.screen_stack if isinstance(s, Floor)), None)
        if floor is not None:
            await floor.run_action(action)


class Written(Message):
    """The station's writer is done with a job: `fn` shows its result, on the screen's thread."""

    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self.fn = fn


class Leadtui(SignIn, StationApp, App):
    """One station of the call floor. It also runs the automation worker in a thread (log or dispatch
    mode, from the config): leases keep it from sending what another station or `leadtui dispatch`
    is sending."""

    TITLE = "leadtui"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {KeyCommands}
    CSS_PATH = "leadtui.tcss"

    def __init__(self, db_path: Path, config: Any, rep: str | None, **service_options: Any) -> None:
        super().__init__()
        self.db_path, self.config = db_path, config
        service_options.setdefault("station", new_station())
        self.svc = open_service(db_path, config, **service_options)
        self._reader = open_service(db_path, config, **service_options)
        self._reader_lock = threading.Lock()
        self._writer_service = open_service(db_path, config, **service_options)
        self.writer: Writer | None = None  # started with the event loop (it posts results back to it)
        self.holds: set[str] = set()  # while a dialog opens or closes, keys wait here in order (F3)
        self.held: deque[events.Key] = deque()
        self._held_since = 0.0
        self._dropping_until = 0.0  # keys typed for a dialog that never opened are dropped until then
        self._dropped = 0
        self.table = key_table(self.svc.playbook, config.keys)
        self.floor_class = type("FloorScreen", (Floor,), {"BINDINGS": bindings(self.table)})
        self.rep = self._known_rep(rep)
        self.phone: Any = None  # the phone system, once started (off the screen's thread)
        self.phone_error: str | None = None
        self._version = self._reader.data_version()  # (the poll reads it there, off the screen's thread)
        from leadtui.automation.worker import (
            start_background,  # config errors raise here, before the screen
        )

        self._stop_worker = start_background(db_path, config, on_error=self._worker_error)

    def _known_rep(self, rep: str | None) -> str | None:
        """The rep asked for, else None (the sign-in asks); on a rep's own database role, that rep."""
        names = {r["name"].lower(): r["name"] for r in self.svc.reps() if r["active"]}
        if not names:
            raise LeadtuiError(
                "no reps yet: add one with `leadtui reps add NAME` (or try `leadtui run --demo`)"
            )
        rep = self.svc.acts_as(rep)  # on a rep's own role, that rep: no one else to pick
        if rep and rep.lower() not in names:
            raise LeadtuiError(f"no active rep named {rep!r} (one of: {', '.join(sorted(names.values()))})")
        return names[rep.lower()] if rep else None

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **theme_defaults()}

    def on_mount(self) -> None:
        self.writer = Writer(
            self._writer_service, lambda fn: self.post_message(Written(fn)), self._db_waiting
        )
        self.set_keymap(remapped(self.table))
        self.run_worker(self._open_phone, thread=True, group="phone")
        if self.rep:
            self.sign_in(self.rep)
        else:
            self.pick_rep()

    def _start(self) -> None:
        self.start_station()
        self.sweep()
        self.push_screen(self.floor_class())
        self.set_interval(SWEEP_SECONDS, self.sweep)
        self.set_interval(POLL_SECONDS, self.poll)
        self.run_worker(self._open_calls, thread=True, group="open-calls")

    # --- the phone system (issue 15) --------------------------------------------------------------

    def _open_phone(self) -> None:
        """Start the station's phone system on a worker thread: a SIP agent or a server may be slow."""
        from leadtui.telephony import open_phone

        try:
            phone = open_phone(self.config.dialer, station=self.svc.station)
            phone.start(lambda event: self.post_message(CallUpdate(event)))
        except LeadtuiError as exc:
            self.phone_error = f"Dialer: {exc}"
            self.call_from_thread(self.notify, safe(self.phone_error), severity="error", markup=False)
            return
        self.phone = phone

    def on_call_update(self, message: CallUpdate) -> None:
        floor = self.floor
        if floor is not None and not floor.closed():
            floor.call_update(message.event)
        else:
            self.writer.submit(self.call_job(message.event))

    def call_job(self, event: Any) -> Job:
        """Log a phone-system event on the call's row (D2), behind the keys already queued."""
        return Job(
            None,
            lambda svc, seen: svc.call_event(
                int(event.key),
                event.state,
                reason=event.reason,
                detail=event.detail,
                remote_id=event.remote_id,
                recording=event.recording,
            ),
            self._job_failed,
        )

    def hangup_job(self, call_id: int) -> Job:
        phone = self.phone
        return Job(None, lambda svc, seen: phone.hangup(str(call_id)), self._job_failed)

    def _job_failed(self, result: Any, after: dict | None) -> None:
        if isinstance(result, Exception):
            self.notify(safe(str(result)), title="Call", severity="error", timeout=6, markup=False)

    def _open_calls(self) -> None:
        """D3: calls this rep placed that have no outcome (a station stopped mid-call) are asked first."""

        def read(svc: Any) -> list[tuple[dict, dict]]:
            return [(call, svc.lead(call["lead_id"])) for call in svc.open_calls(rep=self.rep)]

        calls = self.read(read)
        if calls:
            self.call_from_thread(self._ask_outcome, calls)

    def _ask_outcome(self, calls: list[tuple[dict, dict]]) -> None:
        (call, lead), rest = calls[0], calls[1:]
        floor = self.floor
        if floor is None:
            return
        if not call["ended_at"] and call["system"] not in ("manual", "command"):  # those report no end
            self.writer.submit(
                Job(
                    None,
                    lambda svc, seen: svc.call_event(
                        call["id"], "ended", reason="failed", detail="the station stopped during the call"
                    ),
                    self._job_failed,
                )
            )
        choices = [
            (k.id, f"{k.display}  {k.label}")
            for k in self.table
            if k.group and not self.svc.playbook.status(k.id).requires
        ]

        def picked(status: str | None) -> None:
            if status:
                floor.record_open_call(lead, call, status)
            if rest:
                self._ask_outcome(rest)

        self.ask(
            Pick(
                f"Lead {lead['id']} {plain(lead['owner_name'])}: the call to {call['number']} "
                f"at {parse_iso(call['placed_at']).astimezone():%a %H:%M} has no outcome",
                choices,
                hint="Its outcome? Type to filter, enter to record it (escape asks again next start)",
            ),
            picked,
        )

    def on_unmount(self) -> None:
        self.close()

    def close(self) -> None:
        """Let the delivery in flight finish (its lease covers a slow one), apply the keys still
        queued, let go of the station's lead, then close the connections."""
        self._stop_worker(5)
        if self.phone is not None:
            self.phone.close()  # an open call keeps its row: the next start asks for its outcome (D3)
        if self.writer is not None:
            self.close_station()
            self.writer.close()
        else:
            self._writer_service.close()
        self.svc.close()
        self._reader.close()

    def on_written(self, message: Written) -> None:
        message.fn()

    def _worker_error(self, exc: LeadtuiError) -> None:
        self.call_from_thread(self.notify, safe(str(exc)), title="Automation", severity="error", markup=False)

    def retry_action(self, svc: Any, action_id: int) -> dict:
        """A dead or failed action goes again (from the Outbox view), on the writer's service."""
        from leadtui.automation.worker import retry

        return retry(svc.db, action_id, now=svc.now, by=self.rep)

    # --- the database ----------------------------------------------------------------------

    def read(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(service)` on the reader connection (from a worker thread)."""
        with self._reader_lock:
            return fn(self._reader)

    async def read_off(self, fn: Callable[[Any], Any]) -> Any:
        """`read`, awaited without holding up the screen's thread (on a server, a round trip)."""
        return await asyncio.to_thread(self.read, fn)

    def run_held(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run a key's action that reads first (`action`, a coroutine function) on a worker. Keys typed
        after the key wait (held from the moment it was typed: Floor.read_keys, or a dialog's key)
        and go on in order once it is done (F3): none runs ahead of it."""

        async def run() -> None:
            try:
                await action()
            finally:
                self.release("reading")

        self.run_worker(run, group="key-read")

    def act(
        self,
        call: Call,
        done: Callable[[Any, dict | None], None],
        *,
        lead: dict | None = None,
        pin: str | None = None,
    ) -> None:
        """Queue a write on the station's writer (returns at once). `lead` is the row on screen when the
        key was pressed: the write acts on it or is refused (F1). A rule's no is a notice naming the
        lead; a manager action asks for the PIN and goes again."""
        seen = Seen(lead["owner"], lead.get("current_phone"), lead.get("status")) if lead else None
        lead_id = lead["id"] if lead else None

        def finished(result: Any, after: dict | None) -> None:
            self._answer(
                result, after, lead, retry=lambda given: self.act(call, done, lead=lead, pin=given), done=done
            )
            floor = self.floor
            if floor is not None:
                floor.written(lead_id, after)

        if self.floor is not None:
            self.floor.pending_on(lead_id)
        self.writer.submit(Job(lead_id, lambda svc, seen: call(svc, seen, pin), finished, seen))

    def _answer(
        self,
        result: Any,
        after: dict | None,
        lead: dict | None,
        *,
        retry: Callable[[str], None],
        done: Callable[[Any, dict | None], None],
    ) -> None:
        """What a write came back with: done, a refusal or error (named by its lead), or a PIN to ask for."""
        if isinstance(result, PinRequired):
            self.ask(Ask("Manager PIN", str(result), password=True), lambda given: given and retry(given))
        elif isinstance(result, Refused):
            self.notify(
                safe(self.about(lead, str(result))),
                title="Refused",
                severity="warning",
                timeout=6,
                markup=False,
            )
        elif isinstance(result, Exception):
            self.notify(
                safe(self.about(lead, str(result))),
                title="Can't do that",
                severity="error",
                timeout=6,
                markup=False,
            )
        else:
            done(result, after)

    @staticmethod
    def about(lead: dict | None, text: str) -> str:
        """A notice that names its lead: `Lead 12 Jane Doe: ...`."""
        return f"Lead {lead['id']} {lead['owner_name']}: {text}" if lead else text

    @property
    def floor(self) -> Floor | None:
        return next((s for s in self.screen_stack if isinstance(s, Floor)), None)

    def _db_waiting(self, lead_id: int | None) -> None:
        if self.floor is not None:
            self.floor.say(
                "The database is busy (another station or an import): your keys are queued and land in order"
            )

    # --- typeahead (F3): keys typed while a dialog opens or closes wait, in order -------------------

    def ask(self, dialog: Dialog, callback: Callable[[Any], None]) -> None:
        """Open a dialog; keys typed before it can take them go to it once it can, in order, and
        keys after its answer go on once `callback` has queued what the answer asks for."""

        def answered(result: Any) -> None:
            try:
                callback(result)
            finally:
                self.release("closing")

        self.holds.add("opening")
        self.push_screen(dialog, answered)

    async def ask_wait(self, dialog: Dialog) -> Any:
        """`ask` from a worker: the answer, with keys after it still held until the caller releases
        "closing" (once its write is queued). A dialog that follows another takes over its hold."""
        self.holds.discard("closing")
        self.holds.add("opening")
        return await self.push_screen_wait(dialog)

    def no_dialog(self) -> None:
        """A key that was to open a dialog opened none (refused). What was typed ahead for the dialog,
        up to its Enter or Escape, is dropped, never taken as the floor's keys: `f` then `call back
        next week` would move the cursor (`k`) and press Not Contacted (space) on another lead. Keys
        typed once the refusal could be seen (TYPED_AHEAD) go on as usual."""
        if "opening" in self.holds:
            self._dropping_until = time.monotonic() + TYPED_AHEAD
            while self.held and self._dropped_ahead(self.held[0]):
                self.held.popleft()
        self.release("opening")

    def _dropped_ahead(self, event: events.Key) -> bool:
        """Whether `event` was typed for a dialog that never opened (and so is dropped)."""
        if not self._dropping_until:
            return False
        within = time.monotonic() <= self._dropping_until
        if within:
            self._dropped += 1
            if event.key not in ("enter", "escape"):
                return True
        # the dialog's Enter or Escape (dropped too), or a key typed once the refusal could be seen
        self._dropping_until = 0.0
        if self._dropped:
            self.notify(
                f"{self._dropped} key(s) typed for a dialog that did not open were dropped",
                severity="warning",
            )
            self._dropped = 0
        return within

    def release(self, why: str) -> None:
        """A reason to hold keys is gone: pass on what was typed meanwhile."""
        self.holds.discard(why)
        if not self.holds and self.held:
            self.call_later(self._drain)

    async def _drain(self) -> None:
        while self.held and not self.holds:
            if isinstance(self.screen, Dialog) and self.screen.closing:  # not gone yet: its keys are answered
                self.set_timer(0.01, self._drain)
                return
            await self._key(self.held.popleft())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._dropped_ahead(event):
                return
            if self.holds or self.held:
                if not self.held:
                    self._held_since = time.monotonic()
                self.held.append(event)
                return
            await self._key(event)
            return
        await super().on_event(event)

    async def _key(self, event: events.Key) -> None:
        screen = self.screen
        if isinstance(screen, Dialog) and screen.closes_on(event):
            self.holds.add("closing")  # whoever handles the answer releases it (after queueing its write)
        elif isinstance(screen, Floor) and screen.noting is not None and event.key in ("enter", "escape"):
            self.holds.add("closing")  # the note box closes: what follows goes to the floor (F3)
        elif isinstance(screen, Floor) and screen.list.has_focus and event.key in screen.dialog_keys:
            self.holds.add("opening")  # the key's action runs later: what follows waits for its dialog
        elif isinstance(screen, Floor) and screen.list.has_focus and event.key in screen.read_keys:
            self.holds.add("reading")  # ... or for what it reads (`run_held` lets them go)
        await super().on_event(event)

    def sweep(self) -> None:
        """W9 inside the app: expired holds back to the pool, on the writer like every write."""

        def done(released: list[int], after: dict | None) -> None:
            if released:
                self.notify(f"{len(released)} held lead(s) went back to the pool (W9)", timeout=4)
                self._others_changed()

        self.act(lambda svc, seen, pin: svc.sweep(), done)

    def poll(self) -> None:
        """Another station committed: re-read what is on screen. Renew the lead's reservation."""
        floor = self.floor
        if floor is not None and time.monotonic() - floor.reserved_at > self.svc.reserve_seconds / 3:
            floor.reserve()
        if self.held and time.monotonic() - self._held_since > HOLD_LIMIT:
            self.holds.clear()  # a dialog that never came: typed keys are not kept from the screen
            self.call_later(self._drain)
        self._read_version()

    @work(thread=True, group="poll")
    def _read_version(self) -> None:
        """The floor's change signal, read off the screen's thread (on a server, a round trip)."""
        try:
            version = self.read(lambda svc: svc.data_version())
        except Exception:  # noqa: BLE001 - a vanished database shows on the next action, not as a crash here
            return
        self.call_from_thread(self._seen_version, version)

    def _seen_version(self, version: int) -> None:
        if version != self._version:
            self._version = version
            self._others_changed()

    def _others_changed(self) -> None:
        if not self.is_running:  # the station is shutting down: nothing on screen to re-read
            return
        screen = self.screen
        if isinstance(screen, Floor) and not screen.closed():
            current = screen.list.current
            screen.load(keep=current["id"] if current else None)
        elif hasattr(screen, "reload"):
            screen.reload()
