"""Who is at the station (issue 16): the start-up picker lists the active reps only, and with
`[floor] require_pin = true` the floor opens only once its rep typed their own PIN, so credit is
never recorded under someone else's name. A rep with no PIN yet is told to get one from a manager."""

from __future__ import annotations

from typing import Any

from leadtui.service.writer import Job
from leadtui.text import safe
from leadtui.ui.dialogs import Ask, Pick


class SignIn:
    """Mixed into the app (which has `svc`, `config`, `writer`, `ask`, `notify`, `exit` and `_start`):
    `pick_rep` asks who is here, `sign_in` opens the floor for them."""

    svc: Any
    config: Any
    writer: Any
    rep: str | None

    def pick_rep(self) -> None:
        """Who is at this station? Active reps only (a deactivated rep opens no station); on a
        rep's own database role, that rep only."""
        bound = self.svc.acts_as(None)
        choices = [
            (r["name"], f"{r['name']}{' (manager)' if r['manager'] else ''}")
            for r in self.svc.reps()
            if r["active"] and (bound is None or r["name"].lower() == bound.lower())
        ]
        self.ask(Pick("Who is at this station?", choices), self._picked)

    def _picked(self, name: str | None) -> None:
        if name is None:
            self.exit()
            return
        self.sign_in(name)

    def sign_in(self, name: str) -> None:
        """Open the floor for `name`, after their own PIN when the config asks for one."""
        if not self.config.floor.get("require_pin"):
            self._open_for(name)
            return
        rep = next(r for r in self.svc.reps() if r["name"] == name)
        if not rep["has_pin"]:
            self.notify(
                f"{name} has no PIN yet: this station opens only with your own PIN. Ask a manager "
                f"to set one (leadtui reps pin {name}).",
                title="PIN needed",
                severity="warning",
                timeout=10,
                markup=False,
            )
            self.pick_rep()
            return
        self.ask(
            Ask(
                f"PIN for {name}",
                "This station opens with your own PIN (escape: someone else)",
                password=True,
            ),
            lambda pin: self._pin_given(name, pin),
        )

    def _pin_given(self, name: str, pin: str | None) -> None:
        if not pin:
            self.pick_rep()
            return

        def checked(result: Any, _after: Any) -> None:
            if isinstance(result, Exception):
                self.notify(safe(str(result)), title="Refused", severity="warning", timeout=6, markup=False)
                self.sign_in(name)
            else:
                self._open_for(name)

        # scrypt and a wrong try's count run on the writer's thread, never the screen's
        self.writer.submit(Job(None, lambda svc, seen: svc.check_own_pin(name, pin), checked))

    def _open_for(self, name: str) -> None:
        self.rep = name
        self._start()
