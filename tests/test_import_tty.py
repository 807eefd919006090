"""B2: a progress bar on a terminal (a real pseudo-terminal), nothing but the summary otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import on_a_terminal

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
    proc, shown = on_a_terminal(["import", str(tmp_path / "a.csv")], env)
    assert proc.returncode == 0
    assert b"importing" in shown and b"%" in shown
    assert proc.stdout.decode().startswith("imported ")
    quiet = subprocess.run(
        [*leadtui, "import", str(tmp_path / "a.csv")], env=env, capture_output=True, text=True, check=False
    )
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.startswith("imported ")
