"""The Textual screen: only presentation; every rule and query is behind the service.

A key's repaint waits for the screen's next frame: at Textual's default 60 frames a second that
is up to 17 ms on top of the work, at 120 up to 8 ms (bench_floor's repaint gap: longest 40-44 ms
quiet at 60, 28-32 at 120). Frames are drawn only when something changed, so an idle station
costs nothing more. Set before Textual is first imported; TEXTUAL_FPS set by the user wins."""

import os

os.environ.setdefault("TEXTUAL_FPS", "120")
