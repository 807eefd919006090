"""What an adapter emitted, for the telephony tests: `Recorder` is the `emit` given to start(), and
`phones` opens adapters that are closed when the test ends."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from leadtui.telephony import CallEvent, Phone, open_phone

WAIT = 10.0  # seconds a test waits for an event before failing, so nothing hangs


class Recorder:
    """The `emit` given to start(): every event, and the thread it came on."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.threads: set[str] = set()
        self.changed = threading.Condition()

    def __call__(self, event: CallEvent) -> None:
        with self.changed:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
            self.changed.notify_all()

    def of(self, key: str) -> list[CallEvent]:
        with self.changed:
            return [e for e in self.events if e.key == key]

    def wait(self, key: str, state: str) -> list[CallEvent]:
        """The events of call `key` once one of them is `state`."""
        with self.changed:
            assert self.changed.wait_for(lambda: any(e.state == state for e in self.of(key)), WAIT), (
                self.events
            )
        return self.of(key)

    def ended(self, key: str) -> list[CallEvent]:
        return self.wait(key, "ended")


def states(events: list[CallEvent]) -> list[str]:
    return [e.state for e in events]


@contextlib.contextmanager
def phones(table: Callable[..., dict], station: str) -> Iterator[Callable[..., tuple[Phone, Recorder]]]:
    """start(**keys) -> (adapter, recorder): an adapter of the [dialer] table `table(**keys)` gives,
    started; every one is closed at the end."""
    opened: list[Phone] = []

    def start(**keys: Any) -> tuple[Phone, Recorder]:
        adapter = open_phone(table(**keys), station=station)
        events = Recorder()
        adapter.start(events)
        opened.append(adapter)
        return adapter, events

    try:
        yield start
    finally:
        for adapter in opened:
            adapter.close()
