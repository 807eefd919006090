"""`twilio`: click-to-call through Twilio's Voice API.

Twilio first calls the rep (`to`: a phone or SIP endpoint) from the floor's number (`from`);
when the rep picks up, the TwiML `<Dial>` calls the lead with the floor's number as caller ID.
The call's state is read by polling its Call resource; hanging up updates it to `completed`.
All HTTP runs on the adapter's one worker thread, so the caller never waits on the network.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from leadtui import __version__
from leadtui.telephony.base import Call, Calls, Emit, TelephonyError, one_line

HTTP_SECONDS = 10.0
LOST_AFTER = 5  # polls failing in a row before a call is given up as failed
# a Call resource's status -> what the screen is told ("" = nothing yet)
RINGING, ANSWERED = {"ringing"}, {"in-progress"}
ENDED = {
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "hung-up",
}


def twiml(number: str, caller_id: str, ring_seconds: float) -> str:
    """The TwiML that connects the rep to the lead, every value XML-escaped."""
    attribute = escape(caller_id, {'"': "&quot;"})
    return (
        f'<Response><Dial callerId="{attribute}" timeout="{math.ceil(ring_seconds)}">'
        f"<Number>{escape(number)}</Number></Dial></Response>"
    )


class ApiError(Exception):
    """Twilio said no (its own message) or couldn't be reached."""


class TwilioPhone:
    """The `twilio` adapter."""

    name = "twilio"
    has_events = True

    def __init__(self, dialer: dict, *, sid: str, token: str):
        self.dialer, self.sid, self.token = dialer, sid, token
        base = dialer["api_base"].rstrip("/")
        self.account_url = f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}"
        self.poll_seconds = float(dialer["poll_seconds"])
        self.calls = Calls(dialer["ring_seconds"])
        self.jobs: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self.client: Any = None
        self.thread: threading.Thread | None = None

    # -- the caller's side: queue and return --------------------------------------------------

    def start(self, emit: Emit) -> None:
        """Check the account answers (a bad SID or token is an error now), then start the worker."""
        import httpx

        self.client = httpx.Client(
            auth=(self.sid, self.token),
            timeout=HTTP_SECONDS,
            follow_redirects=False,
            headers={"user-agent": f"leadtui/{__version__}", "accept": "application/json"},
        )
        try:
            self._request("GET", f"{self.account_url}.json")
        except ApiError as exc:
            self.client.close()
            raise TelephonyError(f"twilio: {exc}") from None
        self.calls.emit = emit
        self.thread = threading.Thread(target=self._work, name="leadtui-twilio", daemon=True)
        self.thread.start()

    def dial(self, key: str, number: str) -> None:
        self.jobs.put(("dial", key, number))

    def hangup(self, key: str) -> None:
        self.jobs.put(("hangup", key, ""))

    def close(self) -> None:
        """Hang up the calls still up, then stop the worker."""
        self.jobs.put(("close", "", ""))
        if self.thread is not None:
            self.thread.join()
        if self.client is not None:
            self.client.close()

    # -- the worker ---------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self.calls.lock:
                due = min((c.extra["poll_at"] for c in self.calls.live.values()), default=None)
            try:
                job, key, number = self.jobs.get(
                    timeout=None if due is None else max(0.0, due - time.monotonic())
                )
            except queue.Empty:
                job = ""
            if job == "close":
                for call in list(self.calls.live.values()):
                    self._hang_up(call)
                with self.calls.lock:
                    for call in list(self.calls.live.values()):
                        self.calls.ended(call, "hung-up", "the station closed")
                self.calls.flush()
                return
            if job == "dial":
                self._dial(key, number)
            elif job == "hangup" and key in self.calls.live:
                self._hang_up(self.calls.live[key])
            now = time.monotonic()
            for call in [c for c in self.calls.live.values() if c.extra["poll_at"] <= now]:
                self._poll(call)
            self.calls.flush()

    def _request(self, method: str, url: str, data: dict | None = None) -> dict:
        """One API call: its JSON; ApiError with Twilio's message (or the network's words)."""
        import httpx

        try:
            reply = self.client.request(method, url, data=data)
        except httpx.HTTPError as exc:
            raise ApiError(f"{type(exc).__name__}: {exc}") from None
        try:
            body = reply.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if reply.status_code >= 300:
            raise ApiError(str(body.get("message") or f"HTTP {reply.status_code} from {url}"))
        return body

    def _dial(self, key: str, number: str) -> None:
        with self.calls.lock:
            if key in self.calls.live:
                return
            call = self.calls.add(key, number)
        call.extra.update(poll_at=math.inf, misses=0)
        form = {
            "To": self.dialer["to"],
            "From": self.dialer["from"],
            "Twiml": twiml(number, self.dialer["from"], self.calls.ring_seconds),
            "Timeout": str(math.ceil(self.calls.ring_seconds)),
        }
        try:
            body = self._request("POST", f"{self.account_url}/Calls.json", form)
        except ApiError as exc:
            with self.calls.lock:
                self.calls.ended(call, "failed", str(exc))
            return
        call.remote_id = str(body.get("sid") or "")
        if not call.remote_id:
            with self.calls.lock:
                self.calls.ended(call, "failed", "Twilio's answer had no call sid")
            return
        self._status(call, body)

    def _hang_up(self, call: Call) -> None:
        if call.ending:
            return
        call.ending = "hung-up"
        try:
            body = self._request("POST", self._call_url(call), {"Status": "completed"})
        except ApiError as exc:
            call.ending = ""  # still up, as far as anyone knows: the rep may try again
            call.ending_detail = str(exc)
            return
        self._status(call, body)

    def _poll(self, call: Call) -> None:
        try:
            body = self._request("GET", self._call_url(call))
        except ApiError as exc:
            call.extra["misses"] += 1
            call.extra["poll_at"] = time.monotonic() + self.poll_seconds
            if call.extra["misses"] >= LOST_AFTER:
                with self.calls.lock:
                    self.calls.ended(call, call.ending or "failed", f"lost track of the call: {exc}")
            return
        call.extra["misses"] = 0
        self._status(call, body)

    def _call_url(self, call: Call) -> str:
        return f"{self.account_url}/Calls/{quote(call.remote_id, safe='')}.json"

    def _status(self, call: Call, body: dict) -> None:
        """What a Call resource says, told once; the next poll is due a poll interval later."""
        status = one_line(body.get("status") or "")
        call.extra["poll_at"] = time.monotonic() + self.poll_seconds
        with self.calls.lock:
            if status in RINGING:
                self.calls.ringing(call, status)
            elif status in ANSWERED:
                self.calls.answered(call, status)
            elif status in ENDED:
                reason = "hung-up" if call.ending and status in ("completed", "canceled") else ENDED[status]
                self.calls.ended(call, reason, status)
