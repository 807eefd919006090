"""A station process for the crash test (D3): the real app, headless, on a floor file; it dials the
lead given, prints "up" once the call is answered, then waits to be killed mid-call."""

import asyncio
import sys
import time
from pathlib import Path

from leadtui import config
from leadtui.ui.app import Leadtui
from leadtui.ui.floor import Floor

db, settings, rep, lead_id = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


async def main() -> None:
    app = Leadtui(Path(db), config.load(settings), rep)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, Floor) and app.screen.list.rows and app.phone):
            await pilot.pause(0.02)
        floor = app.screen
        while floor.list.current["id"] != lead_id:
            await pilot.press("j")
        await pilot.press("d")
        while floor.call is None or floor.call.answered is None:
            await pilot.pause(0.02)
        print("up", flush=True)
        time.sleep(600)


asyncio.run(main())
