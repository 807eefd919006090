"""The inbox at the station (issue 16): the title's badges (approvals pending, callbacks due), a
follow-up's scope, a request's reason, and the keys that open the inbox's views (ui.inbox_views,
loaded on first use like every view)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work

from leadtui.core.followup import half_way
from leadtui.core.inbox import ANYONE, reason, split_scope
from leadtui.errors import LeadtuiError
from leadtui.ui.dialogs import Ask

BADGE_SECONDS = 2.0  # the title's badges trail a new approval or a callback come due by at most this


def ask_why(label: str) -> Ask:
    """W13: the rep's one-line reason for a status a manager must approve (enter sends none)."""

    def check(text: str) -> tuple[str | None, str]:
        try:
            reason(text)
        except LeadtuiError as exc:
            return str(exc), ""
        return None, "the manager reads this with the request" if text.strip() else "enter: no reason"

    return Ask(
        f"{label} needs a manager's approval",
        "Why? One line for the manager (optional: enter sends the request without one).",
        placeholder="e.g. the owner passed away; the estate sold it",
        check=check,
    )


class InboxKeys:
    """The Floor's inbox keys and badges (a mixin: `self` is the Floor screen, whose `current`, `_done`,
    `_key`, `closed` and `show_title` it uses)."""

    app: Any
    badges: ClassVar[dict[str, int]] = {}

    def on_mount(self) -> None:
        self.set_interval(BADGE_SECONDS, self.read_badges)  # type: ignore[attr-defined]
        self.read_badges()

    @work(thread=True, group="badges", exclusive=True, exit_on_error=False)
    def read_badges(self) -> None:
        """Approvals pending (a manager's) and callbacks due, read off the UI thread."""
        rep = self.app.rep
        got = self.app.read(lambda svc: svc.badges(rep))
        self.app.call_from_thread(self._show_badges, got)

    def _show_badges(self, got: dict[str, int]) -> None:
        if self.closed() or got == self.badges:  # type: ignore[attr-defined]
            return
        self.badges = got
        self.show_title()  # type: ignore[attr-defined]

    def inbox_note(self) -> str:
        """The title's badges: `⚑ 2 approvals (m) · ☎ 3 due (g)`."""
        notes = []
        approvals, due = self.badges.get("approvals", 0), self.badges.get("callbacks_due", 0)
        if approvals:
            notes.append(f"⚑ {approvals} approval{'s' if approvals > 1 else ''} ({self._key('approvals')})")  # type: ignore[attr-defined]
        if due:
            notes.append(f"☎ {due} due ({self._key('callbacks')})")  # type: ignore[attr-defined]
        return " · ".join(notes)

    def action_followup(self) -> None:
        """W18: when the lead asked to be called; `anyone 3 weeks` leaves the callback to any rep when due."""
        lead = self.current()  # type: ignore[attr-defined]
        if lead is None:
            return
        app = self.app
        now = app.svc.now()

        def check(text: str) -> tuple[str | None, str]:
            scope, when = split_scope(text)
            try:
                asked, scheduled = half_way(now, when)
            except LeadtuiError as exc:
                return str(exc), ""
            whose = "anyone's: back to the pool then" if scope == ANYONE else "yours"
            return (
                None,
                f"asked for {asked:%a %b %d %Y} → call on {scheduled:%a %b %d %Y} (half way), {whose}",
            )

        def given(text: str | None) -> None:
            if text:
                scope, when = split_scope(text)
                app.act(
                    lambda svc, seen, pin: svc.followup(
                        lead["id"], app.rep, when, anyone=scope == ANYONE, seen=seen
                    ),
                    lambda outcome, after: self._done(lead, outcome),  # type: ignore[attr-defined]
                    lead=lead,
                )

        app.ask(
            Ask(
                "General Follow-Up",
                "When did they ask to be called? (6 months, 3 weeks, 90 days, a date) — "
                "start with `anyone` to leave the call to any rep when it is due",
                placeholder="6 months",
                check=check,
            ),
            given,
        )

    def action_replies(self) -> None:
        from leadtui.ui.inbox_views import Replies

        self.app.push_screen(Replies())

    def action_approvals(self) -> None:
        from leadtui.ui.inbox_views import Approvals

        self.app.push_screen(Approvals())

    def action_callbacks(self) -> None:
        from leadtui.ui.inbox_views import Callbacks

        self.app.push_screen(Callbacks())
