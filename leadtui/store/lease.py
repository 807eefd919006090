"""A running import's lease: an flock on a file in its scratch folder, so others tell it from a dead one.

The kernel drops an flock when its process ends, however it ends (SIGKILL, a crash, a power
cut), so a lease that nobody holds marks the leftovers of an import that is gone. No PIDs: a
PID can be reused, or belong to another machine's or container's process.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

NAME = "lease"


class Lease:
    """Holds `folder/lease` locked until `release` (or the process's end)."""

    def __init__(self, folder: Path):
        claiming = folder / f".{NAME}"
        self._fd = os.open(claiming, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.rename(claiming, folder / NAME)  # only ever seen locked under its real name

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def held(folder: Path) -> bool:
    """Whether a live process holds the lease in `folder` (False if there is no lease there)."""
    try:
        fd = os.open(folder / NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # and with it the probe's own lock
    return False
