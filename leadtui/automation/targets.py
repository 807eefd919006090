"""Where an action goes: the automation log, a webhook, an SMS (Twilio), an email, a command.

Each target's `deliver(message)` returns a short detail for the timeline, or raises
DeliveryError; `permanent=True` means retrying can't help (the action goes dead at once).
Targets are built from the config up front, so a missing secret stops `dispatch` before
anything is sent.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import quote

from leadtui import __version__, clock
from leadtui.automation.templates import inline, render, render_inline
from leadtui.config import OptionValue, fill_argv, secret
from leadtui.core import phones
from leadtui.errors import LeadtuiError

SMS_MAX = 1600  # Twilio's limit on a message body, in characters
DEFAULT_TIMEOUT = {"webhook": 10, "sms": 10, "email": 30, "command": 30}
REPLY_CAP = 64 * 1024  # bytes of an HTTP reply read; the rest is never read (the connection is closed)


class DeliveryError(Exception):
    """A failed try; `permanent` when retrying can't help."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(" ".join(message.split())[:500])
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    """One action ready to go: the outbox row, rendered."""

    id: int
    key: str
    action: str
    lead_id: int
    attempt: int
    payload: dict
    text: str
    at: datetime

    @property
    def context(self) -> dict:
        """What templates see: `lead` (the payload, with `id`), `action`, `rep`, `key`."""
        return context(self.action, self.lead_id, self.payload, self.key)

    def document(self) -> dict:
        """The JSON a webhook, a command or the log gets (the Standard Webhooks payload shape)."""
        return {
            "type": self.action,
            "id": self.key,
            "timestamp": clock.stamp(self.at),
            "data": {**self.payload, "text": self.text, "outbox_id": self.id, "attempt": self.attempt},
        }


def context(action: str, lead_id: int, payload: dict, key: str) -> dict:
    return {"lead": {**payload, "id": lead_id}, "action": action, "rep": payload.get("rep"), "key": key}


class Target(Protocol):
    name: str
    state: str  # what a delivery marks: "sent", or "logged" for the log
    timeout: float

    def deliver(self, message: Message) -> str | None: ...


class Log:
    """Mode `log` (and actions with no route): one JSON line per action, synced to disk."""

    name, state, timeout = "log", "logged", 5

    def __init__(self, path: str):
        self.path = Path(path)

    def deliver(self, message: Message) -> str | None:
        line = json.dumps(message.document(), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise DeliveryError(f"can't write {self.path}: {exc.strerror or exc}") from None
        return str(self.path)


class _Configured:
    """A target from `[automation.targets.NAME]`."""

    state = "sent"

    def __init__(self, name: str, table: dict):
        self.name, self.table = name, table
        self.where = f"automation.targets.{name}"
        self.timeout = float(table.get("timeout_seconds", DEFAULT_TIMEOUT[table["kind"]]))
        for key, source in self.templated():  # a syntax error stops dispatch before anything is sent
            inline(source, f"{self.where}.{key}")

    def templated(self) -> list[tuple[str, str]]:
        """The config values that are inline templates: (key, source)."""
        return [("to", self.table["to"])] if "to" in self.table else []

    def secret(self, key: str, *, required: bool = True) -> str | None:
        value = secret(self.table, key, self.where)
        if value is None and required:
            raise LeadtuiError(
                f"{self.where}.{key} (or {key}_env) is required for a {self.table['kind']} target"
            )
        return value

    def fill(self, key: str, source: str, message: Message) -> str:
        """An inline template from the config, filled; empty is a permanent failure."""
        try:
            value = render_inline(source, message.context, f"{self.where}.{key}").strip()
        except LeadtuiError as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        if not value:
            raise DeliveryError(f"{self.where}.{key} is empty for lead {message.lead_id}", permanent=True)
        return value


class _Deadline:
    """A whole delivery's time limit, however slowly the other end trickles its bytes.

    A library's own timeouts bound each read, so a server sending one byte a second never trips
    them. Here a timer shuts the delivery's socket down when the time is up, which ends whatever
    read, write or TLS handshake is in progress on it. `watch` takes the socket as soon as it is
    connected (a duplicate of its descriptor, so wrapping it in TLS later changes nothing).
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._socks:
                sock.close()
            self._socks.clear()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._socks.append(sock.dup())
            if self.expired:
                self._shut(self._socks[-1])

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed: nothing in progress to end
            sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: its status, its content encoding and at most REPLY_CAP bytes of its body."""

    status_code: int
    encoding: str
    body: bytes

    def json(self) -> Any:
        if self.encoding not in ("", "identity"):
            raise ValueError(f"a {self.encoding} body is not read")
        return json.loads(self.body)


def _post(client: Any, url: str, timeout: float, **kwargs: Any) -> Reply:
    """POST within `timeout` seconds in all; 2xx is delivered, a 4xx (but 408 and 429) permanent, the rest
    worth retrying. At most REPLY_CAP bytes of the reply are read, then the connection is closed."""
    import httpx

    with _Deadline(timeout) as deadline:

        def trace(event: str, info: dict) -> None:  # httpcore's trace extension: the new connection's socket
            if event.endswith(("connect_tcp.complete", "connect_unix_socket.complete")):
                stream = info.get("return_value")
                deadline.watch(stream.get_extra_info("socket") if stream is not None else None)

        try:
            with client.stream(
                "POST", url, timeout=timeout, extensions={"trace": trace}, **kwargs
            ) as response:
                body = bytearray()
                for chunk in response.iter_raw():
                    body += chunk
                    if len(body) >= REPLY_CAP:
                        break
                reply = Reply(
                    response.status_code,
                    response.headers.get("content-encoding", ""),
                    bytes(body[:REPLY_CAP]),
                )
        except httpx.TimeoutException:
            raise DeliveryError(f"no answer from {url} in {timeout:g}s") from None
        except httpx.HTTPError as exc:
            if deadline.expired:
                raise DeliveryError(f"no answer from {url} in {timeout:g}s (the whole delivery)") from None
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        if (
            deadline.expired and len(reply.body) < REPLY_CAP
        ):  # cut off: a reply with no length ends at the cut
            raise DeliveryError(f"no answer from {url} in {timeout:g}s (the whole delivery)")
    if 200 <= reply.status_code < 300:
        return reply
    permanent = 400 <= reply.status_code < 500 and reply.status_code not in (408, 429)
    text = reply.body[:200].decode(errors="replace")
    raise DeliveryError(f"HTTP {reply.status_code} from {url}: {text}", permanent)


def _http_url(where: str, url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise LeadtuiError(f"{where} must start with http:// or https://, got {url!r}")
    return url


class Webhook(_Configured):
    """A JSON POST signed the Standard Webhooks way; `webhook-id` is the idempotency key."""

    def __init__(self, name: str, table: dict, client: Any):
        super().__init__(name, table)
        self.client = client
        self.url = _http_url(f"{self.where}.url", table["url"])
        given = self.secret("secret")
        try:  # a "whsec_" secret is base64 (as Standard Webhooks libraries issue them); else its UTF-8 bytes
            self.key = (
                base64.b64decode(given[6:], validate=True) if given.startswith("whsec_") else given.encode()
            )
        except ValueError:
            raise LeadtuiError(f"{self.where}.secret starts with whsec_ but the rest is not base64") from None

    def deliver(self, message: Message) -> str | None:
        body = json.dumps(message.document(), ensure_ascii=False).encode()
        stamp = str(int(message.at.timestamp()))
        signed = b".".join((message.key.encode(), stamp.encode(), body))
        signature = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        headers = {
            "content-type": "application/json",
            "webhook-id": message.key,
            "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{signature}",
        }
        reply = _post(self.client, self.url, self.timeout, content=body, headers=headers)
        return f"HTTP {reply.status_code}"


def recipient(to: str) -> str:
    """An SMS `to` as the floor stores phones: E.164 when it is a phone number, else as written."""
    return phones.normalize(to) or to


def route(automation: dict, action: str) -> str | None:
    """The target `action` goes to under this config; None when it is only logged (mode `log`, no route)."""
    return automation["routes"].get(action) if automation["mode"] == "dispatch" else None


def texted_to(automation: dict, action: str, lead_id: int, payload: dict, key: str) -> str | None:
    """D4: the number this config would text the action to, or None when it sends no SMS (not routed
    to an `sms` target, or a `to` that does not fill: such an action goes dead when tried)."""
    name = route(automation, action)
    table = automation["targets"][name] if name else None
    if table is None or table["kind"] != "sms":
        return None
    try:
        to = render_inline(
            table["to"], context(action, lead_id, payload, key), f"automation.targets.{name}.to"
        ).strip()
    except LeadtuiError:
        return None
    return recipient(to) if to else None


class Sms(_Configured):
    """Twilio's Messages API: form fields To, From, Body; HTTP basic auth (account SID, auth token).

    D4: `dnc(number)` is asked as each text goes, and a DNC (or litigator) number gets none: the action
    is dead at once, saying so (the floor's phones are the truth, read at that moment)."""

    def __init__(self, name: str, table: dict, client: Any, dnc: Callable[[str], bool]):
        super().__init__(name, table)
        self.client, self.dnc = client, dnc
        self.sid, self.token = self.secret("account_sid"), self.secret("auth_token")
        base = _http_url(f"{self.where}.api_base", table["api_base"]).rstrip("/")
        self.url = f"{base}/2010-04-01/Accounts/{quote(self.sid, safe='')}/Messages.json"

    def deliver(self, message: Message) -> str | None:
        to = self.fill("to", self.table["to"], message)
        if self.dnc(recipient(to)):
            raise DeliveryError(
                f"{to} is DNC (opted out, or on a do-not-call list) or a litigator: no text goes to it (D4)",
                permanent=True,
            )
        body = message.text if len(message.text) <= SMS_MAX else message.text[: SMS_MAX - 1] + "…"
        reply = _post(
            self.client,
            self.url,
            self.timeout,
            auth=(self.sid, self.token),
            data={"To": to, "From": self.table["from"], "Body": body},
        )
        try:
            sid = reply.json().get("sid")
        except (ValueError, AttributeError):
            sid = None
        return f"HTTP {reply.status_code}" + (f" {sid}" if isinstance(sid, str) else "")


class Email(_Configured):
    """SMTP with STARTTLS (port 465: TLS from the start); the Message-ID is stable across retries.

    `from` defaults to leadtui@ this host's name.
    """

    def __init__(self, name: str, table: dict, templates_dir: Path | None):
        super().__init__(name, table)
        self.templates_dir = templates_dir
        host, port = table["smtp"].rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.username = table.get("username")
        self.password = self.secret("password", required=bool(self.username))
        self.starttls = table.get("starttls", True)
        self.sender = table.get("from") or f"leadtui@{socket.gethostname()}"

    def deliver(self, message: Message) -> str | None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.fill("to", self.table["to"], message)
        try:
            subject = render("email_subject.txt.j2", message.context, self.templates_dir)
        except LeadtuiError as exc:
            raise DeliveryError(str(exc), permanent=True) from None
        mail["Subject"] = " ".join(subject.split())
        mail["Date"] = format_datetime(message.at)
        mail["Message-ID"] = f"<{message.key}@leadtui>"
        mail.set_content(message.text)
        tls = ssl.create_default_context()
        deadline = _Deadline(self.timeout)
        try:
            with deadline:
                if self.port == 465:
                    smtp = _SMTPS(deadline, self.host, self.port, timeout=self.timeout, context=tls)
                else:
                    smtp = _SMTP(deadline, self.host, self.port, timeout=self.timeout)
                with smtp:
                    if self.starttls and self.port != 465:
                        smtp.starttls(context=tls)
                    if self.username:
                        smtp.login(self.username, self.password)
                    refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"SMTP refused {', '.join(exc.recipients)}: {codes}", all(c >= 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise DeliveryError(f"SMTP {exc.smtp_code}: {text}", exc.smtp_code >= 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP: {exc}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            if deadline.expired:
                raise DeliveryError(
                    f"SMTP {self.host}:{self.port}: no answer in {self.timeout:g}s (the whole delivery)"
                ) from None
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from None
        return f"{mail['Message-ID']}" + (f" (refused: {', '.join(refused)})" if refused else "")


class _Watched(smtplib.SMTP):
    """smtplib's client with its socket under a whole-delivery deadline (and TLS, when it comes, on top)."""

    deadline: _Deadline | None = None

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)
        if self.deadline is not None:
            self.deadline.watch(sock)
        return sock


class _SMTP(_Watched):
    def __init__(self, deadline: _Deadline, *args: Any, **kwargs: Any):
        self.deadline = deadline
        super().__init__(*args, **kwargs)


class _SMTPS(smtplib.SMTP_SSL, _Watched):  # SMTP_SSL wraps the socket _Watched has watched
    def __init__(self, deadline: _Deadline, *args: Any, **kwargs: Any):
        self.deadline = deadline
        super().__init__(*args, **kwargs)


class Command(_Configured):
    """Runs `argv` (inline templates) with the action's JSON on stdin; exit 0 means sent."""

    def templated(self) -> list[tuple[str, str]]:
        return [(f"argv[{i}]", arg) for i, arg in enumerate(self.table["argv"])]

    def argv(self, message: Message) -> list[str]:
        """The filled argv; a value from the lead that would become an option is refused (config.fill_argv)."""
        try:
            return fill_argv(self.table["argv"], lambda i, source: self.fill(f"argv[{i}]", source, message))
        except OptionValue as exc:
            raise DeliveryError(f"{self.where}.{exc} (lead {message.lead_id})", permanent=True) from None

    def deliver(self, message: Message) -> str | None:
        argv = self.argv(message)
        stdin = json.dumps(message.document(), ensure_ascii=False).encode()
        # Files, not pipes, for stdin and stderr: nothing blocks on a child that doesn't read or writes a lot,
        # and the child's own children (its session, killed as one) can't keep a pipe open past the timeout.
        with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as errors:
            given.write(stdin)
            given.seek(0)
            try:
                proc = subprocess.Popen(
                    argv, stdin=given, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True
                )
            except OSError as exc:
                raise DeliveryError(f"can't run {argv[0]}: {exc.strerror or exc}", permanent=True) from None
            try:
                returncode = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                returncode = None
            finally:
                with contextlib.suppress(OSError):  # (unless it is gone already)
                    os.killpg(proc.pid, signal.SIGKILL)  # the command's session, whatever it left running
                proc.wait()
            if returncode is None:
                raise DeliveryError(f"{argv[0]} ran past {self.timeout:g}s and was stopped")
            if returncode != 0:
                size = errors.seek(0, os.SEEK_END)
                errors.seek(max(0, size - 4096))
                last = (errors.read().decode(errors="replace").strip().splitlines() or [""])[-1]
                raise DeliveryError(f"{argv[0]} exited {returncode}: {last}")
        return "exit 0"


class Router:
    """The targets of one config: which one an action goes to, and the shared HTTP client."""

    def __init__(self, automation: dict, templates_dir: Path | None = None, *, dnc: Callable[[str], bool]):
        self.templates_dir, self.dnc = templates_dir, dnc
        self.log = Log(automation["log_path"])
        self.automation = automation
        self.client = None
        self.targets: dict[str, Target] = {}
        if automation["mode"] != "dispatch":
            return
        try:
            for name, table in automation["targets"].items():
                self.targets[name] = self._build(name, table)
        except BaseException:
            self.close()
            raise

    def _build(self, name: str, table: dict) -> Target:
        kind = table["kind"]
        if kind in ("webhook", "sms") and self.client is None:
            import httpx

            # no kept-alive connections: each delivery connects afresh, so its deadline can watch the socket
            self.client = httpx.Client(
                follow_redirects=False,
                limits=httpx.Limits(max_keepalive_connections=0),
                headers={"user-agent": f"leadtui/{__version__}", "accept-encoding": "identity"},
            )
        return (
            Webhook(name, table, self.client)
            if kind == "webhook"
            else Sms(name, table, self.client, self.dnc)
            if kind == "sms"
            else Email(name, table, self.templates_dir)
            if kind == "email"
            else Command(name, table)
        )

    def target(self, action: str) -> Target:
        """The routed target; an action with no route (or mode `log`) goes to the automation log."""
        name = route(self.automation, action)
        return self.targets[name] if name else self.log

    @property
    def lease_seconds(self) -> float:
        """Long enough that a live delivery never outlasts its lease: each target's `timeout_seconds` bounds a
        whole delivery (connect, send, the capped reply), and the lease is three times the longest plus 10 s."""
        return max([60.0, *(3 * t.timeout + 10 for t in self.targets.values())])

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
