"""Make the README's screenshots (screenshots/*.svg) from the real app on the demo floor.

    python scripts/screenshots.py            # writes screenshots/*.svg

The demo is built in a temp data dir with the clock fixed at 2026-11-23 15:00 New York, so
the pictures only change when the screen does.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

NOW = "2026-11-23T15:00:00-05:00"
OUT = Path(__file__).resolve().parent.parent / "screenshots"

# name, terminal size, keys pressed after the floor is up, rep (default: the demo's rep)
SHOTS = (
    ("floor", (120, 40), ()),
    ("floor-80x24", (80, 24), ()),
    ("appointment-dialog", (100, 30), ("2", *"2026-11-25 14:30")),
    ("already-sold", (100, 30), ("j", "j", "j", "S")),
    ("excluded", (120, 40), ("e",)),
    ("lead-timeline", (120, 40), ("j", "enter")),
    ("drip-replies", (120, 30), ("i",)),
    ("help", (100, 40), ("question_mark",)),
    ("board", (120, 40), ("b",)),
    ("callbacks", (120, 40), ("g",)),
    ("approvals", (120, 40), ("m",), "morgan"),
    ("floor-view", (120, 40), ("v",), "morgan"),
    ("call-note", (120, 40), ("d", "t", *"wife answered, call back after 5")),  # last: it leaves a call open
)


async def shoot(name: str, size: tuple[int, int], keys: tuple[str, ...], db: Path, rep: str) -> None:
    from leadtui import config
    from leadtui.ui.app import Leadtui
    from leadtui.ui.floor import Floor

    app = Leadtui(db, config.load(None), rep, contracts_dir=db.parent / "contracts")
    async with app.run_test(size=size) as pilot:
        while not (isinstance(app.screen, Floor) and app.screen.list.rows and app.screen.counts):
            await pilot.pause(0.02)
        await pilot.press(*keys)
        await pilot.pause(0.5)  # pages load in workers; a dialog's flow is a worker that waits
        app.save_screenshot(f"{name}.svg", str(OUT))
    print(f"screenshots/{name}.svg")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(LEADTUI_NOW=NOW, LEADTUI_DATA_DIR=tmp, LEADTUI_CONFIG_DIR=tmp)
        from leadtui import demo

        db = demo.ensure_demo()
        OUT.mkdir(exist_ok=True)
        for name, size, keys, *rep in SHOTS:
            asyncio.run(shoot(name, size, keys, db, rep[0] if rep else demo.DEMO_REP))


if __name__ == "__main__":
    sys.exit(main())
