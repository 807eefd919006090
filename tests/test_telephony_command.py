"""The command adapter runs a real program (argv, no shell); the manual adapter places nothing."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
from phone_events import WAIT, Recorder

from leadtui import config
from leadtui.telephony import TelephonyError, open_phone

PLACER = """
import json, sys, time
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(sys.argv[2:]) + "\\n")
if "+19995550000" in sys.argv:
    print("first line", file=sys.stderr)
    print("the line is busy", file=sys.stderr)
    sys.exit(3)
if "+19995550001" in sys.argv:
    time.sleep(60)
"""


@pytest.fixture
def placer(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "placer.py"
    script.write_text(PLACER)
    return script, tmp_path / "placed.jsonl"


def phone(tmp_path: Path, argv: list[str], **extra: object):
    lines = ['kind = "command"', f"argv = {json.dumps(argv)}", *(f"{k} = {v}" for k, v in extra.items())]
    path = tmp_path / "config.toml"
    path.write_text("[dialer]\n" + "\n".join(lines) + "\n")
    adapter = open_phone(config.load(str(path)).dialer, station="t")
    events = Recorder()
    adapter.start(events)
    return adapter, events


def placed(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_exit_0_is_placed_and_nothing_more_is_said(tmp_path: Path, placer) -> None:
    script, log = placer
    adapter, events = phone(tmp_path, [sys.executable, str(script), str(log), "dial", "--to", "{number}"])
    assert (adapter.name, adapter.has_events) == ("command", False)
    adapter.dial("1", "+12145550101")
    adapter.dial("2", "+1214; touch pwned")  # no shell: one argument, as given
    adapter.close()  # lets them finish, joins their threads
    assert sorted(placed(log)) == [["dial", "--to", "+12145550101"], ["dial", "--to", "+1214; touch pwned"]]
    assert events.events == [] and not (tmp_path / "pwned").exists()


def test_non_zero_exit_ends_failed_with_the_last_line_of_stderr(tmp_path: Path, placer) -> None:
    script, log = placer
    adapter, events = phone(tmp_path, [sys.executable, str(script), str(log), "{number}"])
    caller = threading.current_thread().name
    adapter.dial("3", "+19995550000")
    ended = events.ended("3")
    assert [(e.state, e.reason, e.detail) for e in ended] == [
        ("ended", "failed", f"{sys.executable} exited 3: the line is busy")
    ]
    assert caller not in events.threads
    adapter.close()


def test_a_number_that_would_be_an_option_is_refused(tmp_path: Path, placer) -> None:
    script, log = placer
    adapter, events = phone(tmp_path, [sys.executable, str(script), str(log), "{number}"])
    adapter.dial("4", "--help")
    assert events.ended("4")[-1].detail == (
        "dialer.argv[3] would pass '--help', which starts with '-': a program would read it as an option "
        '(put "--" before it in argv)'
    )
    adapter.close()
    assert placed(log) == []  # never ran
    adapter, events = phone(tmp_path, [sys.executable, str(script), str(log), "--", "{number}"])
    adapter.dial("5", "-5")  # after "--" programs read no options
    adapter.close()
    assert placed(log) == [["--", "-5"]] and events.events == []


def test_a_command_past_its_timeout_is_stopped(tmp_path: Path, placer) -> None:
    script, log = placer
    adapter, events = phone(
        tmp_path, [sys.executable, str(script), str(log), "{number}"], timeout_seconds=0.5
    )
    adapter.dial("6", "+19995550001")
    assert events.ended("6")[-1].detail == f"{sys.executable} ran past 0.5 s and was stopped"
    adapter.close()


def test_close_stops_a_command_still_running(tmp_path: Path, placer) -> None:
    script, log = placer
    adapter, events = phone(tmp_path, [sys.executable, str(script), str(log), "{number}"])
    adapter.dial("7", "+19995550001")
    until = time.monotonic() + WAIT
    while not placed(log):  # until it runs (the program wrote its line)
        assert time.monotonic() < until, "the command never ran"
        time.sleep(0.01)
    adapter.close()
    assert [(e.reason, e.detail) for e in events.of("7")] == [
        ("failed", f"{sys.executable} was stopped: the station closed")
    ]


def test_start_refuses_a_program_not_on_path(tmp_path: Path) -> None:
    with pytest.raises(TelephonyError, match=r"^dialer.argv\[0\]: 'no-such-dialer-program' is not a program"):
        phone(tmp_path, ["no-such-dialer-program", "{number}"])


def test_manual_places_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[dialer]\nkind = "manual"\n')
    adapter = open_phone(config.load(str(path)).dialer, station="t")
    events = Recorder()
    adapter.start(events)
    assert (adapter.name, adapter.has_events) == ("manual", False)
    adapter.dial("8", "+12145550101")
    adapter.hangup("8")
    adapter.close()
    assert events.events == []
