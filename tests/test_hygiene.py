"""House rule: core, store, service, automation and the CLI never import Textual."""

import subprocess
import sys

MODULES = [
    "leadtui.core.playbook",
    "leadtui.core.rules",
    "leadtui.core.followup",
    "leadtui.core.calling",
    "leadtui.store.db",
    "leadtui.store.queries",
    "leadtui.service",
    "leadtui.cli",
    "leadtui.config",
    "leadtui.automation.templates",
]


def test_no_textual_outside_ui():
    code = f"import sys; import {', '.join(MODULES)}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "textual" not in out, out
