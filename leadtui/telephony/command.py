"""`command`: a program places the call (a desk phone's or a softphone's command line).

`argv` comes from [dialer] with `{number}` filled in, run without a shell, on a thread of its own
per call. Exit 0 means placed and nothing more is heard of the call; anything else ends it
"failed" with the program's last line of stderr. A number that would start an argument with `-`
is refused as for the automation command target (config.fill_argv).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from leadtui.config import OptionValue, fill_argv
from leadtui.telephony.base import CallEvent, Emit, TelephonyError, one_line

CLOSE_GRACE = 2.0  # seconds close() lets a command still placing its call finish


class CommandPhone:
    """The `command` adapter: no ringing, answered or ended events, only a failure to place."""

    name = "command"
    has_events = False

    def __init__(self, dialer: dict):
        self.templates: list[str] = dialer["argv"]
        self.timeout = float(dialer["timeout_seconds"])
        self.emit: Emit | None = None
        self.lock = threading.Lock()
        self.running: dict[str, subprocess.Popen] = {}
        self.threads: list[threading.Thread] = []
        self.closing = False

    def start(self, emit: Emit) -> None:
        program = self.templates[0]
        if "{number}" not in program and shutil.which(program) is None:
            raise TelephonyError(f"dialer.argv[0]: {program!r} is not a program found on PATH")
        self.emit = emit

    def dial(self, key: str, number: str) -> None:
        try:
            argv: list[str] | str = fill_argv(self.templates, lambda _, t: t.replace("{number}", number))
        except OptionValue as exc:
            argv = f"dialer.{exc}"
        thread = threading.Thread(target=self._place, args=(key, argv), name="leadtui-command", daemon=True)
        with self.lock:
            self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def _place(self, key: str, argv: list[str] | str) -> None:
        problem = argv if isinstance(argv, str) else self._run(key, argv)
        if problem:
            assert self.emit is not None
            self.emit(CallEvent(key, "ended", "failed", one_line(problem)))

    def _run(self, key: str, argv: list[str]) -> str:
        """Run `argv`; what went wrong, or "" when it exited 0."""
        # stderr to a file, not a pipe: the program's own children can't hold it open past the timeout
        with tempfile.TemporaryFile() as errors:
            with self.lock:
                if self.closing:
                    return "the station closed"
                try:
                    proc = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=errors,
                        start_new_session=True,
                    )
                except OSError as exc:
                    return f"can't run {argv[0]}: {exc.strerror or exc}"
                self.running[key] = proc
            try:
                code = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._kill(proc)
                return f"{argv[0]} ran past {self.timeout:g} s and was stopped"
            finally:
                with self.lock:
                    self.running.pop(key, None)
            if code == 0:
                return ""  # placed; what it left running (a call it holds) is its own
            if self.closing:
                return f"{argv[0]} was stopped: the station closed"
            size = errors.seek(0, os.SEEK_END)
            errors.seek(max(0, size - 4096))
            last = (errors.read().decode(errors="replace").strip().splitlines() or [""])[-1]
            return f"{argv[0]} exited {code}" + (f": {last}" if last else "")

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)  # the program's whole session
        proc.wait()

    def hangup(self, key: str) -> None:
        """Nothing: the program placed the call and leadtui holds no line to it."""

    def close(self) -> None:
        """Give commands still running a moment to finish, stop the rest (they end failed), join their threads."""
        with self.lock:
            threads = list(self.threads)
        until = time.monotonic() + min(self.timeout, CLOSE_GRACE)
        for thread in threads:
            thread.join(max(0.0, until - time.monotonic()))
        with self.lock:
            self.closing = True
            running = list(self.running.values())
        for proc in running:
            self._kill(proc)
        for thread in threads:
            thread.join()
