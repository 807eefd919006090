"""A station's presence on the live floor (issue 16): its row on the floor (online, a heartbeat,
offline when it closes) and the rep's pause key. Every write goes through the station's writer,
behind the keys already queued; the floor view itself (ui.stations) loads on first use."""

from __future__ import annotations

from typing import Any

from leadtui.core.stations import HEARTBEAT_SECONDS, PAUSE_CODES
from leadtui.errors import LeadtuiError
from leadtui.service.writer import Job
from leadtui.ui.dialogs import Pick
from leadtui.ui.style import plain


class StationApp:
    """The app's side (a mixin of Leadtui): the station says it is on the floor, beats, and says
    goodbye when it closes; `paused` is the rep's pause reason while paused."""

    paused: str | None = None
    writer: Any
    rep: str | None

    def start_station(self) -> None:
        rep = self.rep
        self.writer.submit(Job(None, lambda svc, seen: svc.station_online(rep), self._station_said))
        self.set_interval(HEARTBEAT_SECONDS, self.beat)  # type: ignore[attr-defined]

    def beat(self) -> None:
        """The heartbeat, on the writer (behind the keys queued, so a busy floor shows a late one)."""
        self.writer.submit(Job(None, lambda svc, seen: svc.station_beat(), self._station_said))

    def close_station(self) -> None:
        """Closing cleanly: the floor view shows this station offline at once."""
        if self.writer is not None and self.rep is not None:
            self.writer.submit(Job(None, lambda svc, seen: svc.station_closed(), lambda *_: None))

    def _station_said(self, result: Any, after: dict | None) -> None:
        """The station's own row could not be written: say so once, the heartbeat tries again."""
        if isinstance(result, LeadtuiError) and not getattr(self, "_station_told", False):
            self._station_told = True
            self.notify(  # type: ignore[attr-defined]
                plain(f"The floor view can't see this station: {result}"), severity="warning", markup=False
            )


class StationKeys:
    """The Floor's keys for the live floor (a mixin: `self` is the Floor screen, whose `_key`, `say`,
    `show_title` and `reserve` it uses): pause and resume, the dial key refused while paused, and
    the manager's floor view."""

    app: Any

    def station_note(self) -> str:
        """What the title says while the station is paused."""
        paused = self.app.paused
        return f"PAUSED: {paused} ({self._key('pause')} resumes)" if paused else ""

    def action_pause(self) -> None:
        """Pause with a reason from `[floor] pause_codes`, or resume. The lead on screen is let go while
        paused (other stations may call it) and taken again on resume."""
        app = self.app
        if app.paused is not None:
            app.release("opening")  # no dialog comes: typed keys go on
            self._resume()
            return
        codes = app.config.floor.get("pause_codes", list(PAUSE_CODES))
        app.ask(
            Pick(
                "Pause: why?", [(c, c) for c in codes], hint="Type to filter, enter to pause, escape to stay"
            ),
            self._pause,
        )

    def _pause(self, reason: str | None) -> None:
        if not reason:
            return
        app, rep = self.app, self.app.rep
        app.paused = reason  # at once: the keys typed after it see the station paused (F3)
        self.show_title()
        self.say(f"Paused: {reason}. {self._key('pause')} resumes.")

        def done(result: Any, after: dict | None) -> None:
            if isinstance(result, Exception):
                app.paused = None
                self._refused(str(result))
                self.show_title()
                self.reserve()

        app.writer.submit(Job(None, lambda svc, seen: svc.pause(rep, reason), done))

    def _resume(self) -> None:
        app, rep = self.app, self.app.rep
        app.paused = None
        self.show_title()

        def done(result: Any, after: dict | None) -> None:
            if isinstance(result, Exception):
                self._refused(str(result))
            else:
                self.say(result.message)

        app.writer.submit(Job(None, lambda svc, seen: svc.resume(rep), done))
        self.reserve()  # the lead on screen again (if another station took it meanwhile, it says so)

    def _refused(self, text: str) -> None:
        self.app.notify(plain(text), title="Refused", severity="warning", timeout=6, markup=False)

    def action_dial(self) -> None:
        """A paused station places no call."""
        if self.app.paused is not None:
            self._refused(f"paused: resume with {self._key('pause')}")
            return
        super().action_dial()  # type: ignore[misc]

    def action_floor_view(self) -> None:
        self.app.run_held(self._floor_view)

    async def _floor_view(self) -> None:
        app = self.app
        rep = app.rep
        if await app.read_off(lambda svc: svc.visible_to(rep)) is not None:
            self._refused("the floor view is for managers")
            return
        from leadtui.ui.stations import FloorView

        app.push_screen(FloorView())
