"""`manual`: the rep dials by hand; the caller still logs the call the rep reports."""

from __future__ import annotations

from leadtui.telephony.base import Emit


class ManualPhone:
    """Places nothing and says nothing: `dial` is only the caller's record of a call made by hand."""

    name = "manual"
    has_events = False

    def start(self, emit: Emit) -> None:
        pass

    def dial(self, key: str, number: str) -> None:
        pass

    def hangup(self, key: str) -> None:
        pass

    def close(self) -> None:
        pass
