"""B2: a progress bar on a terminal (a real pseudo-terminal), nothing but the summary otherwise."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).parent / "data" / "samples" / "propstream_export.csv"


def test_b2_progress_bar_on_a_terminal_only(tmp_path):
    env = {
        **os.environ,
        "LEADTUI_DB": str(tmp_path / "leads.db"),
        "LEADTUI_CONFIG_DIR": str(tmp_path / "config"),
        "LEADTUI_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "100",
    }
    leadtui = [sys.executable, "-m", "leadtui"]
    subprocess.run([*leadtui, "init"], env=env, check=True, capture_output=True)
    shutil.copy(SAMPLE, tmp_path / "a.csv")
    master, slave = pty.openpty()
    proc = subprocess.run(
        [*leadtui, "import", str(tmp_path / "a.csv")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
        if len(chunk) < 65536:
            break
    os.close(master)
    assert proc.returncode == 0
    assert b"importing" in shown and b"%" in shown
    assert proc.stdout.decode().startswith("imported ")
    quiet = subprocess.run(
        [*leadtui, "import", str(tmp_path / "a.csv")], env=env, capture_output=True, text=True, check=False
    )
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("imported ")
