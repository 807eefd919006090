"""The station's call (issue 15): the phone system's events on screen, and the keys that dial, hang up,
choose the phone and write notes. The phone system runs on its own threads; the dial itself goes out
on the station's writer right after its gate and log row commit, so nothing here waits on it (D1-D5)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Input

from leadtui.telephony import CallEvent
from leadtui.ui.dialogs import PickPhone
from leadtui.ui.style import plain

REASONS = {
    "no-answer": "no answer",
    "busy": "busy",
    "rejected": "rejected",
    "failed": "failed",
    "hung-up": "hung up",
    "completed": "they hung up",
}
NOTE_LIMIT = 4000  # characters in one note (the service refuses more)


class CallUpdate(Message):
    """A phone-system event, posted from the adapter's thread."""

    def __init__(self, event: CallEvent) -> None:
        super().__init__()
        self.event = event


@dataclass
class LiveCall:
    """The station's current call as the phone system reports it (monotonic times, for the screen)."""

    id: int
    lead: dict
    number: str
    position: int | None
    events: bool  # whether the phone system reports ringing, answered and ended
    state: str = "placed"
    reason: str = ""
    detail: str = ""
    placed: float = field(default_factory=time.monotonic)
    answered: float | None = None
    ended: float | None = None
    outcome: str | None = None  # the status recorded for it

    @property
    def up(self) -> bool:
        """The line may be up: not ended, and (with no events to say so) no outcome yet."""
        return self.outcome is None and self.state != "ended"

    @property
    def unanswered(self) -> bool:
        return self.state == "ended" and self.answered is None

    def apply(self, event: CallEvent) -> None:
        if self.state == "ended":
            return
        now = time.monotonic()
        self.state = event.state
        if event.state == "answered":
            self.answered = now
        elif event.state == "ended":
            self.ended, self.reason, self.detail = now, event.reason, event.detail

    def line(self, keys: dict[str, str], system: str) -> Text:
        """One line for the call bar: who, which number, the state and the keys that matter now."""
        now = time.monotonic()
        out = Text("☎ ", style="bold")
        out.append(f"Lead {self.lead['id']} {plain(self.lead['owner_name'])} · {self.number} · ")
        if self.outcome:
            out.append(f"done: {self.outcome}", style="dim")
            return out
        if self.state == "ended":
            talked = f" after {_clock(self.ended - self.answered)}" if self.answered and self.ended else ""
            out.append(f"ended: {REASONS.get(self.reason, self.reason)}{talked}", style="bold")
            if self.detail and self.reason == "failed":
                out.append(f" ({plain(self.detail)})")
            if self.unanswered:
                out.append(f" · {keys['unanswered']} Not Contacted · {keys['dial']} redial", style="bold")
            else:
                out.append(" · press its outcome")
            return out
        if not self.events:
            verb = "dial it by hand" if system == "manual" else f"placed through {system}"
            out.append(f"{verb} · press the outcome when done", style="bold")
            return out
        if self.state == "answered" and self.answered is not None:
            out.append(f"connected {_clock(now - self.answered)}", style="bold reverse")
            out.append(f" · {keys['hangup']} hang up · an outcome key hangs up and records it")
            return out
        word = "ringing" if self.state == "ringing" else "calling"
        out.append(f"{word} {_clock(now - self.placed)}", style="bold")
        out.append(f" · {keys['hangup']} hang up")
        return out


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class CallKeys:
    """The Floor's call keys and call bar (a mixin: `self` is the Floor screen)."""

    call: LiveCall | None = None
    reserving: int | None
    chosen: dict[int, int]  # lead id -> the phone position the rep chose for it
    _early: dict[str, list[CallEvent]]  # events that came before their call's placement returned

    app: Any

    def call_keys(self) -> dict[str, str]:
        return {
            "unanswered": self._key(self.unanswered_status()),
            "dial": self._key("dial"),
            "hangup": self._key("hangup"),
        }

    def unanswered_status(self) -> str:
        """The outcome an unanswered call offers: the playbook's dial status (W1's Not Contacted)."""
        return next(s.id for s in self.app.svc.playbook.statuses if s.dial)

    def show_call(self) -> None:
        """Repaint the call bar (no layout: it is one line)."""
        bar = self.query_one("#call")
        bar.set_class(self.call is not None, "shown")
        if self.call is not None:
            system = self.app.phone.name if self.app.phone else "manual"
            bar.update(self.call.line(self.call_keys(), system), layout=False)

    def tick_call(self) -> None:
        if self.call is not None and self.call.up and not self.closed():
            self.show_call()

    # --- dialling ----------------------------------------------------------------------------

    def action_dial(self) -> None:
        """D1: dial the lead on screen's current phone; after an unanswered end, record Not Contacted
        for that call and dial again (the run's next number comes from W1)."""
        lead = self.current()
        if lead is None:
            return
        app, call = self.app, self.call
        if call is not None and call.up:
            told = (
                f"a call is up: {self._key('hangup')} hangs up first"
                if call.events
                else "this call has no outcome yet: go back to the lead and press its outcome"
            )
            self.say(app.about(call.lead, told))
            return
        if app.phone is None:
            self.notify(app.phone_error or "The phone system is still starting.", severity="warning")
            return
        if lead["id"] != self.reserving:  # the cursor just moved: its reservation goes first (D1, F2)
            self.reserve()
        if call is not None and call.unanswered and call.lead["id"] == lead["id"]:
            self.set_status(lead, self.unanswered_status(), {})
        phone, rep = app.phone, app.rep
        position = lead.get("current_phone")

        def place(svc, seen, pin) -> dict:
            placed = svc.place_call(lead["id"], rep, station=svc.station, seen=seen, system=phone.name)
            phone.dial(str(placed["id"]), placed["number"])
            return placed

        def placed(result: dict, after) -> None:
            self.call = LiveCall(
                result["id"], lead, result["number"], result.get("phone", position), phone.has_events
            )
            for event in self._early.pop(str(result["id"]), []):
                self.call.apply(event)
            self.show_call()

        app.act(place, placed, lead=lead)

    def call_update(self, event: CallEvent) -> None:
        """A phone-system event: show it, and log it (D2) on the writer, in order with the keys."""
        call = self.call
        if call is None or str(call.id) != event.key:
            self._early.setdefault(event.key, []).append(event)
        else:
            call.apply(event)
            self.show_call()
            if event.state == "ended" and call.unanswered and call.outcome is None:
                self.say(
                    self.app.about(
                        call.lead,
                        f"{REASONS.get(event.reason, event.reason)} · "
                        f"{self._key(self.unanswered_status())} Not Contacted · {self._key('dial')} redial",
                    )
                )
        self.app.writer.submit(self.app.call_job(event))

    def action_hangup(self) -> None:
        call = self.call
        if call is None or not call.up:
            self.say("No call is up.")
            return
        phone = self.app.phone
        if phone is not None and phone.has_events:
            self.app.writer.submit(self.app.hangup_job(call.id))
        else:
            self.say(self.app.about(call.lead, "hang up on your phone, then press the outcome"))

    def with_call(self, lead: dict) -> dict:
        """What a status key adds when this lead's call has no outcome yet: the call (hung up first)."""
        call = self.call
        if call is None or call.outcome is not None or call.lead["id"] != lead["id"]:
            return {}
        return {"call_id": call.id, "hang_up": call.up and self.app.phone is not None}

    def record_open_call(self, lead: dict, call: dict, status: str) -> None:
        """D3: the outcome of a call a stopped station left open (asked at the next start)."""
        rep = self.app.rep
        self.app.act(
            lambda svc, seen, pin: svc.set_status(lead["id"], status, rep, call_id=call["id"], seen=seen),
            lambda outcome, after: self.say(self.app.about(lead, outcome.message)),
            lead=lead,
        )

    def call_done(self, call_id: int | None, status: str) -> None:
        if self.call is not None and self.call.id == call_id:
            self.call.outcome = self.app.svc.playbook.status(status).label
            self.show_call()

    # --- the phone -----------------------------------------------------------------------------

    def action_phone(self, delta: int) -> None:
        """The lead's next (or previous) phone that may be dialled becomes the one keys act on."""
        self.app.run_held(lambda: self._next_phone(delta))

    async def _next_phone(self, delta: int) -> None:
        lead = self.current()
        if lead is None:
            return
        shown = await self.shown_lead(lead)
        if shown is None:
            return
        usable = [p["position"] for p in shown["phones"] if not (p["bad"] or p["dnc"] or p["litigator"])]
        if not usable:
            self.say(self.app.about(lead, "no phone that may be dialled"))
            return
        at = lead.get("current_phone")
        i = usable.index(at) if at in usable else 0  # none yet: the first usable one is current
        self.choose_phone(lead, usable[(i + delta) % len(usable)])

    def action_pick_phone(self) -> None:
        """Choose the phone by its number in the list (one key)."""
        lead = self.current()
        if lead is not None:
            self.app.run_held(lambda: self._pick_phone(lead))

    async def _pick_phone(self, lead: dict) -> None:
        shown = await self.shown_lead(lead)
        if shown is None:
            self.app.no_dialog()
            return
        self.app.ask(
            PickPhone(lead, shown["phones"]),
            lambda position: position is not None and self.choose_phone(lead, position),
        )

    def choose_phone(self, lead: dict, position: int) -> None:
        self.chosen[lead["id"]] = position
        self.say(self.app.about(lead, f"phone {position} is current"))
        self.show_lead(lead["id"])

    # --- notes (D5) ------------------------------------------------------------------------------

    def action_note(self) -> None:
        """A note box under the list: typed while the call goes on; enter saves, escape drops it."""
        lead = self.current()
        if lead is None:
            return
        box = self.query_one("#note", Input)
        box.border_title = f"Note on lead {lead['id']}"
        self.noting = lead
        box.value = ""
        box.add_class("shown")
        box.focus()
        self.call_after_refresh(self.app.release, "opening")

    def save_note(self, text: str) -> None:
        lead, self.noting = self.noting, None
        self.close_note()
        if lead is None or not text.strip():
            return
        call = self.call
        call_id = call.id if call is not None and call.lead["id"] == lead["id"] else None
        rep = self.app.rep
        self.app.act(
            lambda svc, seen, pin: svc.note(lead["id"], rep, text, call_id=call_id, seen=seen),
            lambda outcome, after: self.say(self.app.about(lead, "note saved")),
            lead=lead,
        )

    def close_note(self) -> None:
        box = self.query_one("#note", Input)
        box.value = ""
        box.remove_class("shown")
        self.list.focus()
        self.call_after_refresh(self.app.release, "closing")  # keys typed after enter/escape go on
