"""The station's dial key against a real baresip: key -> INVITE at the lead's phone, and key -> repaint while
a call is up.

    python benchmarks/bench_dial.py [--calls 60] [--moves 200]

Builds a small test floor in a temp folder (one rep, `--calls` pool leads in Florida, each with its own
number), a "lead's phone" (a real baresip on 127.0.0.1 with one ringing account per number, from
tests/baresip_rig.py) and runs the real app headless with `[dialer] kind = "baresip"` (the station
starts its own baresip). The clock is fixed at a weekday 15:00 New York, so every lead may be called.

- key -> INVITE: `d` posted as a key event on the queue, timed to the lead's baresip's CALL_INCOMING
  event (stamped by the rig's reader thread on arrival, TCP_QUICKACK set). Each call is then hung up
  (`h`), given its outcome (`n`) and the cursor moved on (`j`): every dial is a first dial.
- key -> repaint while a call is up: `j`/`k` posted while a call rings, timed to the end of the first
  screen refresh after the cursor moved (the call bar keeps ticking meanwhile).

Prints p50/p99/max next to the targets (INVITE p99 <= 50 ms; repaint p99 <= 50 ms: the screen never
waits on the phone system). It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the baresip rig the tests use

NOW = "2026-11-23T15:00:00-05:00"
TARGETS = {"invite": 50.0, "repaint": 50.0, "quiet": 50.0}


def quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def build(folder: Path, calls: int) -> tuple[Path, list[str]]:
    """A test floor: rep `alice` and `calls` pool leads, one phone each."""
    from leadtui.service import Service, init_database

    db = folder / "leads.db"
    init_database(db, "wholesale", test_clock=True)
    svc = Service.open(db)
    svc.add_rep("alice", pin="482916")
    numbers = [f"+1305555{i:04d}" for i in range(calls)]
    for i, number in enumerate(numbers):
        svc.add_lead(
            owner_name=f"Owner {i}", address=f"{i} Bench St", city="Miami", state="FL", phones=[number]
        )
    svc.close()
    return db, numbers


def config_file(folder: Path, callee_port: int) -> Path:
    from baresip_rig import free_port

    path = folder / "config.toml"
    path.write_text(
        "[dialer]\n"
        'kind = "baresip"\n'
        f'uri = "sip:{{number}}@127.0.0.1:{callee_port}"\n'
        'account = "<sip:station@127.0.0.1>;regint=0"\n'
        f"sip_port = {free_port(sip=True)}\n"
        f"control_port = {free_port()}\n"
        f'config_dir = "{folder / "station"}"\n'
        'sip_address = "127.0.0.1"\n'
        'audio_source = "ausine,440"\n'
        'audio_player = "aubridge,station"\n',
        "utf-8",
    )
    return path


async def measure(db: Path, settings: Path, callee, calls: int, moves: int) -> dict[str, list[float]]:
    from textual import events

    from leadtui import config
    from leadtui.ui.app import Leadtui
    from leadtui.ui.floor import Floor

    app = Leadtui(db, config.load(str(settings)), "alice")
    invite: list[float] = []
    repaint: list[float] = []
    quiet: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not (isinstance(app.screen, Floor) and app.screen.list.rows and app.phone):
            await pilot.pause(0.01)
        floor = app.screen
        await pilot.pause(0.3)

        async def until(test) -> None:
            began = time.monotonic()
            while not test():
                if time.monotonic() - began > 10:
                    raise SystemExit(
                        f"bench_dial: stuck; the station said {[n.message for n in app._notifications]}"
                    )
                await asyncio.sleep(0.001)

        async def refreshed() -> None:
            done = asyncio.Event()
            app.call_after_refresh(done.set)
            await done.wait()

        async def move(key: str, into: list[float]) -> None:
            was = floor.list.cursor
            start = time.perf_counter()
            app.post_message(events.Key(key, key))
            await until(lambda: floor.list.cursor != was)
            await refreshed()
            into.append((time.perf_counter() - start) * 1000)

        for i in range(moves):  # the same moves with no call up, for comparison
            await move("jk"[i % 2], quiet)
            await pilot.pause(0.02)
        per_call = max(2, moves // calls // 2 * 2)  # j then k: back on the call's lead
        for _ in range(calls):
            lead = floor.list.current
            number = lead["phones"][0]["number"] if lead.get("phones") else None
            after = len(callee.events)
            start = time.perf_counter()
            app.post_message(events.Key("d", "d"))
            got = await asyncio.to_thread(callee.wait, "CALL_INCOMING", number, after=after)
            invite.append((got["at"] - start) * 1000)
            await until(lambda: floor.call is not None and floor.call.state == "ringing")
            last = floor.list.cursor == len(floor.list.rows) - 1
            for i in range(per_call):  # the rep moves about while the call rings
                await move("jk"[(i + last) % 2], repaint)
                await pilot.pause(0.02)
            await until(lambda lead=lead: floor.list.current["id"] == lead["id"])
            app.post_message(events.Key("h", "h"))
            await until(lambda: floor.call.state == "ended")
            app.post_message(events.Key("n", "n"))
            await until(lambda: floor.call.outcome is not None)
            if floor.list.cursor == len(floor.list.rows) - 1:
                break
            app.post_message(events.Key("j", "j"))
            await until(lambda lead=lead: floor.list.current["id"] != lead["id"])
            await pilot.pause(0.05)
    return {"invite": invite, "repaint": repaint, "quiet": quiet}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    os.environ["LEADTUI_NOW"] = NOW
    from baresip_rig import Baresip

    with tempfile.TemporaryDirectory(prefix="bench-dial-") as tmp:
        folder = Path(tmp)
        os.environ["LEADTUI_DATA_DIR"] = str(folder / "data")
        os.environ["LEADTUI_CONFIG_DIR"] = str(folder / "config")
        db, numbers = build(folder, args.calls)
        callee = Baresip(folder / "lead", dict.fromkeys(numbers, "manual"), max_calls=8)
        try:
            figures = asyncio.run(
                measure(db, config_file(folder, callee.sip_port), callee, args.calls, args.moves)
            )
        finally:
            callee.stop()
    labels = {
        "invite": "key d -> INVITE at the lead's phone",
        "repaint": "key j/k -> repaint, a call up",
        "quiet": "key j/k -> repaint, no call (baseline)",
    }
    for name, xs in figures.items():
        print(
            f"{labels[name]:<40} n={len(xs):>4}  p50 {quantile(xs, 0.5):6.1f} ms  "
            f"p99 {quantile(xs, 0.99):6.1f} ms  max {max(xs):6.1f} ms   (target p99 <= {TARGETS[name]:.0f} ms)"
        )


if __name__ == "__main__":
    main()
