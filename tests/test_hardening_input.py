"""Issue 17, hostile input at the command line: numbers and dates out of range (item 12), text that
would steer the terminal (item 16), the first manager's PIN (item 22). Real database files."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from conftest import MANAGER, PIN, REP, run_cli

from leadtui.service import Service

pytestmark = pytest.mark.engines

README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def cli_env(cli_env, monkeypatch, floor_address):
    """conftest's floor on the real clock: nothing here depends on the time. (`floor_address`
    named here too: pytest sees the engine a fixture over a fixture of its name needs only so.)"""
    monkeypatch.delenv("LEADTUI_NOW", raising=False)
    return cli_env


def _floor(cli_env) -> int:
    run_cli("init")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    run_cli("reps", "add", MANAGER, "--manager", "--pin", input=f"{PIN}\n")
    out = run_cli(
        "add",
        "--owner",
        "Jane Doe",
        "--phone",
        "(305) 555-0134",
        "--address",
        "12 Main St",
        "--city",
        "Miami",
        "--state",
        "FL",
        "--zip",
        "33101",
        "--json",
    )
    lead = json.loads(out.stdout)["id"]
    run_cli("claim", str(lead), "--rep", REP)
    return lead


def _strict(text: str):
    """json.loads that refuses the non-standard tokens Infinity, -Infinity and NaN."""

    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _one_line_naming(result, value: str) -> str:
    """The error is one line, names the value and is not the catch-all 'internal error'."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0], lines[0]
    assert value in lines[0], (value, lines[0])
    return lines[0]


def test_hardening_numbers_and_dates(cli_env):
    lead = _floor(cli_env)
    for amount in ("1e309", "inf", "nan", "-inf", "Infinity"):
        _one_line_naming(
            run_cli("set", str(lead), "offer-made", "--amount", amount, "--rep", REP, code=2), amount
        )
    assert _strict(run_cli("show", str(lead), "--json").stdout)["status"] == "new"  # nothing stored
    big = str(2**63)
    for args in (
        ("show", big),
        ("claim", big, "--rep", REP),
        ("undo", big, "--rep", REP),
        ("set", str(lead), "not-contacted", "--phone", big, "--rep", REP),
        ("leads", "--limit", "9" * 30),
        ("outbox", "--lead", big),
        ("approve", big, "--rep", MANAGER),
        ("inbox", "clear", big, "--rep", REP),
    ):
        value = big if big in args else "9" * 30
        _one_line_naming(run_cli(*args, code=2), value)
    # the appointment is lead-local (Miami): 23:59 on the last day of 9999 is past year 9999 in UTC
    _one_line_naming(
        run_cli("set", str(lead), "appointment-booked", "--at", "9999-12-31T23:59", "--rep", REP, code=2),
        "9999-12-31T23:59",
    )
    _one_line_naming(
        run_cli("set", str(lead), "appointment-booked", "--at", "10000-01-01T10:00", "--rep", REP, code=2),
        "10000-01-01T10:00",
    )
    digits = "9" * 5000
    line = _one_line_naming(run_cli("followup", str(lead), f"{digits} days", "--rep", REP, code=2), "9" * 40)
    assert len(line) < 300  # the value named, not all 5,000 digits of it
    assert _strict(run_cli("show", str(lead), "--json").stdout)["status"] == "new"


def test_hardening_json_is_strict(cli_env):
    """An Infinity already stored (an older leadtui let `--amount inf` through) prints as null."""
    lead = _floor(cli_env)
    svc = Service.open(os.environ["LEADTUI_DB"])
    try:
        svc.set_status(lead, "offer-made", REP, amount=float("inf"))
    finally:
        svc.close()
    shown = _strict(run_cli("show", str(lead), "--json").stdout)
    assert shown["offer_amount"] is None and shown["status"] == "offer-made"
    assert _strict(run_cli("leads", "--json").stdout)[0]["offer_amount"] is None


HOSTILE = "Ann\u202eLee\u202c \u2066x\u2069\u200b\u200c\u200d\u2060\ufeff 👨\u200d👩\u200d👧\u200d👦"
INVISIBLE = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u2060\ufeff"


def test_hardening_bidi_and_zero_width_names_are_inert(cli_env):
    run_cli("init")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    name = HOSTILE + "".join(INVISIBLE)
    lead = json.loads(run_cli("add", "--owner", name, "--address", "1 Main St\u202e", "--json").stdout)
    assert lead["owner_name"] == name  # stored as given; JSON escapes them and decodes to the same text
    for args in (
        ("show", str(lead["id"])),
        ("leads",),
        ("show", str(lead["id"]), "--json"),
        ("leads", "--json"),
    ):
        out = run_cli(*args).stdout
        assert not set(INVISIBLE) & set(out), (args, out)
        assert "\\u202e" in out and "\\u200d" in out
    assert _strict(run_cli("leads", "--json").stdout)[0]["owner_name"] == name


# --- item 22: the first manager's PIN, typed twice on a terminal ---------------------------------


def _read_until(fd: int, wanted: bytes, seen: bytearray) -> bytes:
    """Read the terminal until `wanted` shows (a guard of 30 s so a missing prompt fails, never hangs)."""
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], 30)
        assert ready, f"no {wanted!r} on the terminal; it showed {bytes(seen)!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        assert chunk, f"the terminal closed before {wanted!r}; it showed {bytes(seen)!r}"
        seen += chunk
    at = seen.index(wanted) + len(wanted)
    got = bytes(seen[:at])
    del seen[:at]
    return got


def _on_a_terminal(args: list[str], env: dict) -> tuple[subprocess.Popen, int]:
    """`leadtui ARGS` with a pseudo-terminal as its controlling terminal, stdin, stdout and stderr."""
    master, slave = pty.openpty()

    def controlling() -> None:
        os.setsid()
        import fcntl

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "leadtui", *args],
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling,  # noqa: PLW1509 (only the child can take its controlling terminal)
        close_fds=True,
    )
    os.close(slave)
    return proc, master


def test_hardening_first_manager_pin_is_asked_twice(cli_env):
    env = dict(os.environ)  # LEADTUI_DB: the test's floor
    run_cli("init")
    proc, master = _on_a_terminal(["reps", "add", MANAGER, "--manager", "--pin"], env)
    seen = bytearray()
    try:
        _read_until(master, b"new PIN for boss:", seen)
        os.write(master, b"246813\n")
        _read_until(master, b"Repeat the new PIN:", seen)
        os.write(master, b"246814\n")  # a typo: asked again, nothing stored
        _read_until(master, b"do not match", seen)
        _read_until(master, b"new PIN for boss:", seen)
        os.write(master, b"246813\n")
        _read_until(master, b"Repeat the new PIN:", seen)
        os.write(master, b"246813\n")
        _read_until(master, b"added manager boss", seen)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert b"246813" not in seen  # hidden as typed
    # the PIN confirmed is the one stored: it lets boss add the next manager
    run_cli("reps", "add", "carol", "--manager", "--pin", "--rep", MANAGER, input="246813\n975312\n")


def test_hardening_first_manager_pin_from_a_script_is_read_once(cli_env):
    run_cli("init")
    run_cli("reps", "add", MANAGER, "--manager", "--pin", input="246813\n")
    assert json.loads(run_cli("reps", "list", "--json").stdout)[0]["manager"]


def test_hardening_quick_start_says_how_to_reach_leadtui():
    text = README.read_text("utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick, re.DOTALL)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks)  # two commands
    for word in re.findall(r"(\S*leadtui)(?= )", blocks[0]):
        assert word == ".venv/bin/leadtui", word  # the venv's, as it is not on the PATH
    assert ". .venv/bin/activate" in quick or "source .venv/bin/activate" in quick
    assert (
        ".venv/bin/leadtui" in quick.split(blocks[1])[1]
    )  # said after the two commands, before any bare `leadtui`
