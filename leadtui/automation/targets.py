"""Where an action goes: the automation log, a webhook, an SMS (Twilio), an email, a command.

Each target's `deliver(message)` returns a short detail for the timeline, or raises
DeliveryError; `permanent=True` means retrying can't help (the action goes dead at once).
Targets are built from the config up front, so a missing secret stops `dispatch` before
anything is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import socket
import ssl
import subprocess
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from leadtui import __version__, clock
from leadtui.automation.templates import inline, render, render_inline
from leadtui.config import secret
from leadtui.errors import LeadtuiError

SMS_MAX = 1600  # Twilio's limit on a message body, in characters
DEFAULT_TIMEOUT = {"webhook": 10, "sms": 10, "email": 30, "command": 30}


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
        return {"type": self.action, "id": self.key, "timestamp": clock.stamp(self.at),
                "data": {**self.payload, "text": self.text, "outbox_id": self.id, "attempt": self.attempt}}


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
            raise LeadtuiError(f"{self.where}.{key} (or {key}_env) is required for a {self.table['kind']} target")
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


def _post(client: Any, url: str, timeout: float, **kwargs: Any) -> Any:
    """POST; 2xx is delivered, a 4xx (but 408 and 429) permanent, the rest worth retrying."""
    import httpx

    try:
        response = client.post(url, timeout=timeout, **kwargs)
    except httpx.TimeoutException:
        raise DeliveryError(f"no answer from {url} in {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
    if response.is_success:
        return response
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
    raise DeliveryError(f"HTTP {response.status_code} from {url}: {response.text[:200]}", permanent)


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
            self.key = base64.b64decode(given[6:], validate=True) if given.startswith("whsec_") else given.encode()
        except ValueError:
            raise LeadtuiError(f"{self.where}.secret starts with whsec_ but the rest is not base64") from None

    def deliver(self, message: Message) -> str | None:
        body = json.dumps(message.document(), ensure_ascii=False).encode()
        stamp = str(int(message.at.timestamp()))
        signed = b".".join((message.key.encode(), stamp.encode(), body))
        signature = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        headers = {"content-type": "application/json", "webhook-id": message.key,
                   "webhook-timestamp": stamp, "webhook-signature": f"v1,{signature}"}
        response = _post(self.client, self.url, self.timeout, content=body, headers=headers)
        return f"HTTP {response.status_code}"


class Sms(_Configured):
    """Twilio's Messages API: form fields To, From, Body; HTTP basic auth (account SID, auth token)."""

    def __init__(self, name: str, table: dict, client: Any):
        super().__init__(name, table)
        self.client = client
        self.sid, self.token = self.secret("account_sid"), self.secret("auth_token")
        base = _http_url(f"{self.where}.api_base", table["api_base"]).rstrip("/")
        self.url = f"{base}/2010-04-01/Accounts/{quote(self.sid, safe='')}/Messages.json"

    def deliver(self, message: Message) -> str | None:
        to = self.fill("to", self.table["to"], message)
        body = message.text if len(message.text) <= SMS_MAX else message.text[:SMS_MAX - 1] + "…"
        response = _post(self.client, self.url, self.timeout, auth=(self.sid, self.token),
                         data={"To": to, "From": self.table["from"], "Body": body})
        try:
            sid = response.json().get("sid")
        except (ValueError, AttributeError):
            sid = None
        return f"HTTP {response.status_code}" + (f" {sid}" if sid else "")


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
        try:
            if self.port == 465:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=tls)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls and self.port != 465:
                    smtp.starttls(context=tls)
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"SMTP refused {', '.join(exc.recipients)}: {codes}", all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(f"SMTP {exc.smtp_code}: {text}", exc.smtp_code >= 500) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP: {exc}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from None
        return f"{mail['Message-ID']}" + (f" (refused: {', '.join(refused)})" if refused else "")


class Command(_Configured):
    """Runs `argv` (inline templates) with the action's JSON on stdin; exit 0 means sent."""

    def templated(self) -> list[tuple[str, str]]:
        return [(f"argv[{i}]", arg) for i, arg in enumerate(self.table["argv"])]

    def deliver(self, message: Message) -> str | None:
        argv = [self.fill(key, arg, message) for key, arg in self.templated()]
        stdin = json.dumps(message.document(), ensure_ascii=False).encode()
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"{argv[0]} ran past {self.timeout:g}s and was stopped") from None
        except OSError as exc:
            raise DeliveryError(f"can't run {argv[0]}: {exc.strerror or exc}", permanent=True) from None
        if done.returncode != 0:
            last = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
            raise DeliveryError(f"{argv[0]} exited {done.returncode}: {last}")
        return "exit 0"


class Router:
    """The targets of one config: which one an action goes to, and the shared HTTP client."""

    def __init__(self, automation: dict, templates_dir: Path | None = None):
        self.templates_dir = templates_dir
        self.log = Log(automation["log_path"])
        self.routes = automation["routes"] if automation["mode"] == "dispatch" else {}
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

            self.client = httpx.Client(follow_redirects=False, headers={"user-agent": f"leadtui/{__version__}"})
        return (Webhook(name, table, self.client) if kind == "webhook" else Sms(name, table, self.client)
                if kind == "sms" else Email(name, table, self.templates_dir) if kind == "email" else Command(name, table))

    def target(self, action: str) -> Target:
        """The routed target; an action with no route (or mode `log`) goes to the automation log."""
        return self.targets[self.routes[action]] if action in self.routes else self.log

    @property
    def lease_seconds(self) -> float:
        """Long enough that a live delivery never outlasts its lease."""
        return max([60.0, *(3 * t.timeout + 10 for t in self.targets.values())])

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
