"""Manager PINs: what a new one must be, salted scrypt hashes checked in constant time, and the
lockout after wrong tries. Pure computation, no storage."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from itertools import pairwise

MIN_DIGITS = 6
TRIES = 5  # wrong PINs in a row that lock a manager's PIN
LOCK = timedelta(minutes=15)


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def pin_ok(stored: str | None, pin: str) -> bool:
    if not stored:
        return False
    _, n, r, p, salt, digest = stored.split("$")
    got = hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(got.hex(), digest)


def pin_problem(pin: str) -> str | None:
    """Why a new PIN won't do (None when it will): 6 to 12 digits, not one digit repeated nor a run."""
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= 12):
        return f"a PIN must be {MIN_DIGITS} to 12 digits"
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if len(steps) == 1 and steps <= {-1, 0, 1}:
        return (
            f"a PIN can't be a run like 000000 or 123456: {'one digit repeated' if steps == {0} else 'a run'}"
        )
    return None


def locked(until: str | None, now: datetime) -> bool:
    return datetime.fromisoformat(until) > now if until else False


def lock_until(now: datetime) -> datetime:
    return now + LOCK
