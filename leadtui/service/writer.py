"""The station's writer (F3): the rep's keys applied strictly in order on a thread of its own, so
the screen never waits on the write lock, a busy database or another station.

Each job is a service call for one lead. Its result (an Outcome, or the refusal) comes back to the
screen through `post`, with the lead as it stands after the commit. A database that stays busy is
retried until it frees: a key pressed is never lost. A key pressed while earlier keys on the same
lead were still pending is checked against the lead as this station's own last commit left it,
which is what the rep would have seen had the screen caught up (F1)."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from leadtui.core.decide import Seen
from leadtui.errors import Busy, LeadtuiError

RETRY_SECONDS = 0.02  # a busy database is tried again this often


@dataclass
class Job:
    lead_id: int | None
    call: Callable[[Any, Seen | None], Any]  # (service, seen) -> Outcome
    done: Callable[
        [Any, dict | None], None
    ]  # (Outcome or LeadtuiError, the lead after) on the screen's thread
    seen: Seen | None = None
    chained: bool = False  # pressed while earlier keys on this lead were pending
    reserve: bool = False  # a reservation: dropped when a newer one is queued behind it


class Writer:
    """One per station, with a Service (and so a connection) of its own, used only on its thread."""

    def __init__(
        self,
        svc: Any,
        post: Callable[[Callable[[], None]], None],
        waiting: Callable[[int | None], None] | None = None,
    ) -> None:
        self.svc = svc
        self._post = post
        self._waiting = waiting or (lambda lead_id: None)
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending: Counter[int | None] = Counter()
        self._reserves = 0  # reservations queued and not yet run
        self._after: dict[int, str | None] = {}  # lead -> its owner after this station's last commit on it
        self._thread = threading.Thread(target=self._run, name="station-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job behind every earlier one (returns at once)."""
        with self._lock:
            job.chained = job.chained or self._pending[job.lead_id] > 0
            if job.reserve:
                self._reserves += 1
            else:
                self._pending[job.lead_id] += 1
        self._jobs.put(job)

    def pending(self, lead_id: int | None = None) -> int:
        """Keys queued or being applied: on one lead, or (None) on any."""
        with self._lock:
            return self._pending[lead_id] if lead_id is not None else sum(self._pending.values())

    def close(self, timeout: float = 5.0) -> None:
        """Apply what is queued (up to `timeout` seconds), let go of the station's lead, close."""
        self._jobs.put(None)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            with contextlib.suppress(LeadtuiError):  # the lease runs out by itself
                self.svc.unreserve()
            self.svc.close()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            with self._lock:
                if job.reserve:
                    self._reserves -= 1
                    if self._reserves:  # a newer reservation is queued: this one is moot
                        continue
            result, lead = self._apply(job)
            with self._lock:
                if not job.reserve:
                    self._pending[job.lead_id] -= 1
            self._post(partial(job.done, result, lead))

    def _apply(self, job: Job) -> tuple[Any, dict | None]:
        seen = job.seen
        if job.chained and job.lead_id in self._after:
            seen = Seen(self._after[job.lead_id])
        told = False
        while True:
            try:
                result = job.call(self.svc, seen)
                break
            except Busy:
                if not told:
                    told = True
                    self._post(lambda: self._waiting(job.lead_id))
                time.sleep(RETRY_SECONDS)
            except Exception as exc:  # noqa: BLE001 - a refusal, or a fault: shown, and the writer goes on
                result = exc
                break
        lead = None
        if job.lead_id is not None:
            try:
                lead = self.svc.lead(job.lead_id)
                self._after[job.lead_id] = lead["owner"]
            except LeadtuiError:
                pass
        return result, lead
