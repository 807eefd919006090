"""The Textual screen: only presentation; every rule and query is behind the service.

A key's repaint waits for the screen's next frame: at Textual's default 60 frames a second that
is up to 17 ms on top of the work, at 240 up to 4 ms (bench_floor's repaint gap during a 100,000-
row import: 51-52 ms at 120, 44 ms at 240; quiet, 40-44 ms at 60). Frames are drawn only when
something changed, so an idle station costs nothing more. Set before Textual is first imported;
TEXTUAL_FPS set by the user wins."""

import os

os.environ.setdefault("TEXTUAL_FPS", "240")
