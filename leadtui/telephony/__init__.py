"""Phone-system adapters behind one interface (`Phone`): baresip, twilio, ami, command, manual.

phone = open_phone(settings.dialer, station=svc.station)
phone.start(post_to_screen)          # TelephonyError (one line) when it can't
phone.dial(str(call["id"]), "+12145550185")   # returns at once; events follow on the adapter's thread
phone.hangup(str(call["id"]))
phone.close()
"""

from __future__ import annotations

from pathlib import Path

from leadtui.config import data_dir, secret
from leadtui.errors import LeadtuiError
from leadtui.telephony.base import END_REASONS, CallEvent, Phone, TelephonyError

__all__ = ["END_REASONS", "CallEvent", "Phone", "TelephonyError", "open_phone"]


def _required(dialer: dict, name: str) -> str:
    value = secret(dialer, name, "dialer")
    if value is None:
        raise LeadtuiError(
            f"config.toml: dialer.{name} (or {name}_env) is required for kind {dialer['kind']!r}"
        )
    return value


def open_phone(dialer: dict, *, station: str) -> Phone:
    """The adapter of a validated [dialer] table (config.Config.dialer), not started yet. A secret given
    as NAME_env is read here: an unset variable is an error now, before anything is dialed."""
    kind = dialer["kind"]
    if kind == "baresip":
        from leadtui.telephony.baresip import BaresipPhone

        own = "control" not in dialer
        folder = Path(dialer.get("config_dir") or data_dir() / "baresip" / str(dialer.get("control_port")))
        return BaresipPhone(
            dialer, folder=folder if own else None, auth_pass=secret(dialer, "auth_pass", "dialer")
        )
    if kind == "twilio":
        from leadtui.telephony.twilio import TwilioPhone

        return TwilioPhone(
            dialer, sid=_required(dialer, "account_sid"), token=_required(dialer, "auth_token")
        )
    if kind == "ami":
        from leadtui.telephony.ami import AmiPhone

        return AmiPhone(dialer, secret=_required(dialer, "secret"), station=station)
    if kind == "command":
        from leadtui.telephony.command import CommandPhone

        return CommandPhone(dialer)
    from leadtui.telephony.manual import ManualPhone

    return ManualPhone()
