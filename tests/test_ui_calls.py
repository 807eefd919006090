"""The station dials (issue 15) as a rep meets it, in Pilot on a real floor file: the call bar, one-key
outcome, redial, phone choice, notes typed during a call, and the gate refusing before any phone system
hears of it. Calls go to a real baresip "lead's phone" on 127.0.0.1 (tests/baresip_rig.py), or through
the manual adapter where the rep dials by hand."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from baresip_rig import Baresip, baresip_pids, free_port
from conftest import START
from textual import events
from ui_floor import build_floor, isolate, notes, press, settle
from ui_floor import lead_at as lead

from leadtui import config
from leadtui.service import Service
from leadtui.ui.app import Leadtui
from leadtui.ui.dialogs import Pick, PickPhone
from leadtui.ui.floor import Floor

REP = "alice"


def write_config(tmp_path: Path, dialer: dict | None) -> config.Config:
    """The config file a station reads, with its [dialer] table (none: manual)."""
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    lines = []
    if dialer:
        lines.append("[dialer]")
        lines += [f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in dialer.items()]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return config.load(str(path))


def baresip_dialer(tmp_path: Path, callee: Baresip, **extra) -> dict:
    return {
        "kind": "baresip",
        "uri": f"sip:{{number}}@127.0.0.1:{callee.sip_port}",
        "account": "<sip:station@127.0.0.1>;regint=0",
        "sip_port": free_port(sip=True),
        "control_port": free_port(),
        "config_dir": str(tmp_path / "station"),
        "sip_address": "127.0.0.1",
        "audio_source": "ausine,440",
        "audio_player": "aubridge,station",
        **extra,
    }


@pytest.fixture
def floor(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    return path, build_floor(path)


@pytest.fixture(autouse=True)
def nothing_left_behind(tmp_path: Path):
    yield
    assert baresip_pids(tmp_path) == []


async def ready(pilot) -> Floor:
    app = pilot.app
    for _ in range(500):
        await pilot.pause(0.02)
        screen = app.screen
        if isinstance(screen, Floor) and screen.list.rows and screen.reserved_at and app.phone:
            await settle(pilot)
            return screen
    raise AssertionError(f"the floor never became ready: {app.phone_error}")


async def on_lead(pilot, floor: Floor, lead_id: int) -> None:
    """Move the cursor to `lead_id` with j/k as a rep would."""
    for _ in range(len(floor.list.rows)):
        if floor.list.current["id"] == lead_id:
            await settle(pilot)
            return
        await press(pilot, "j")
    raise AssertionError(f"lead {lead_id} is not in the queue")


async def until(pilot, test, what: str, seconds: float = 10.0):
    for _ in range(int(seconds / 0.02)):
        value = test()
        if value:
            return value
        await pilot.pause(0.02)
    raise AssertionError(f"never: {what}")


def calls_of(path: Path, lead_id: int) -> list[dict]:
    svc = Service.open(path)
    try:
        return svc.calls(lead=lead_id)
    finally:
        svc.close()


def bar(floor: Floor) -> str:
    return str(floor.query_one("#call").render())


async def test_d1_manual_floor_d_logs_a_gated_call_and_the_outcome_key_closes_it(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, write_config(tmp_path, None), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["pool"])
        await press(pilot, "d")
        [call] = calls_of(path, ids["pool"])
        assert (call["system"], call["rep"], call["open"]) == ("manual", REP, True)
        assert "dial it by hand" in bar(f)
        await press(pilot, "n")
        [call] = calls_of(path, ids["pool"])
        assert (call["outcome"], call["open"]) == ("not-contacted", False)
        assert "done: Not Contacted" in bar(f)
        assert len([e for e in lead(path, ids["pool"], events=True)["events"] if e["kind"] == "status"]) >= 1


@pytest.fixture
def rig(floor, tmp_path):
    """The floor, and a lead's phone (real baresip) answering for the pool leads' numbers: Pat Pool's
    phone picks up, Tom Two's two phones ring until the test rejects or hangs up."""
    path, ids = floor
    number = {key: lead(path, ids[key])["phones"] for key in ("pool", "two_phones", "dnc")}
    accounts = {number["pool"][0]["number"]: "auto"}
    accounts |= {p["number"]: "manual" for p in number["two_phones"]}
    accounts |= {number["dnc"][0]["number"]: "auto"}
    callee = Baresip(tmp_path / "lead", accounts)
    yield path, ids, callee, number
    callee.stop()


async def test_d1_answered_call_shows_connected_and_one_outcome_key_hangs_up_and_records_it(rig, tmp_path):
    path, ids, callee, number = rig
    app = Leadtui(path, write_config(tmp_path, baresip_dialer(tmp_path, callee)), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["pool"])
        await press(pilot, "d")
        await until(pilot, lambda: "connected" in bar(f), "the call bar says connected")
        callee.wait("CALL_ESTABLISHED", number["pool"][0]["number"])
        await press(pilot, "1")  # Needs Offer: hangs up and records it, in one press
        callee.wait("CALL_CLOSED", number["pool"][0]["number"])
        await until(pilot, lambda: calls_of(path, ids["pool"])[0]["ended_at"], "the hang-up is logged")
        await settle(pilot)
        [call] = calls_of(path, ids["pool"])
        assert (call["outcome"], call["end_reason"], call["system"]) == ("needs-offer", "hung-up", "baresip")
        assert call["answered_at"] and call["duration"] is not None
        assert lead(path, ids["pool"])["status"] == "needs-offer"


async def test_d1_rejected_call_offers_not_contacted_and_d_redials_after_recording_it(rig, tmp_path):
    path, ids, callee, number = rig
    first = number["two_phones"][0]["number"]
    app = Leadtui(path, write_config(tmp_path, baresip_dialer(tmp_path, callee)), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["two_phones"])
        await press(pilot, "d")
        callee.wait("CALL_INCOMING", first)
        await until(pilot, lambda: "ringing" in bar(f), "the call bar says ringing")
        callee.hangup(first)  # the owner rejects it
        await until(pilot, lambda: "ended: rejected" in bar(f), "the call bar says rejected")
        assert "Not Contacted" in bar(f) and "redial" in bar(f)
        before = len(callee.events)
        await press(pilot, "d")  # redial: Not Contacted for the first call, then the same number again
        callee.wait("CALL_INCOMING", first, after=before)
        calls = await until(
            pilot, lambda: (got := calls_of(path, ids["two_phones"]))[1:] and got, "a second call"
        )
        assert [c["number"] for c in calls] == [first, first]
        assert (calls[0]["outcome"], calls[0]["end_reason"]) == ("not-contacted", "rejected")
        assert calls[1]["open"]
        await press(pilot, "h")
        await until(pilot, lambda: "hung up" in bar(f), "the call bar says hung up")


async def test_d1_phone_choice_next_and_by_its_number_then_the_dial_goes_to_that_number(rig, tmp_path):
    path, ids, callee, number = rig
    second = number["two_phones"][1]["number"]
    app = Leadtui(path, write_config(tmp_path, baresip_dialer(tmp_path, callee)), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["two_phones"])
        await press(pilot, "greater_than_sign")
        assert f.chosen[ids["two_phones"]] == 2
        await press(pilot, "p")
        assert isinstance(app.screen, PickPhone)
        await press(pilot, "1")
        assert f.chosen[ids["two_phones"]] == 1
        await press(pilot, "less_than_sign")
        assert f.chosen[ids["two_phones"]] == 2
        await press(pilot, "d")
        callee.wait("CALL_INCOMING", second)
        [call] = await until(pilot, lambda: calls_of(path, ids["two_phones"]), "the call is logged")
        assert (call["number"], call["phone"]) == (second, 2)
        await press(pilot, "W")  # Wrong Number reports the phone on screen: the second one
        phones = lead(path, ids["two_phones"])["phones"]
        assert [p["wrong_reports"] for p in phones] == [0, 1]


async def test_d5_a_note_typed_in_a_burst_while_the_call_rings_is_saved_exactly_on_the_call(rig, tmp_path):
    path, ids, callee, number = rig
    first = number["two_phones"][0]["number"]
    text = "wife answered, call back after 5 [b]not bold[/b] \\e[31m"
    app = Leadtui(path, write_config(tmp_path, baresip_dialer(tmp_path, callee)), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["two_phones"])
        await press(pilot, "d")
        callee.wait("CALL_INCOMING", first)
        await pilot.press("t", *[{" ": "space"}.get(c, c) for c in text], "enter")
        await settle(pilot)
        await until(pilot, lambda: "ringing" in bar(f), "the call still rings and its bar updates")
        [call] = calls_of(path, ids["two_phones"])
        assert call["notes"] == text and call["open"]
        shown = lead(path, ids["two_phones"], events=True)
        assert [e["data"]["text"] for e in shown["events"] if e["kind"] == "note"] == [text]
        panel = str(f.query_one("#panel").render())
        assert "[b]not bold[/b] \\e[31m" in panel  # literal: markup and escapes inert
        await press(pilot, "h")
        callee.wait("CALL_CLOSED", first)


async def test_d3_a_station_killed_mid_call_asks_for_the_outcome_at_its_next_start(rig, tmp_path):
    path, ids, callee, _ = rig
    settings = write_config(tmp_path, baresip_dialer(tmp_path, callee))
    station = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "dial_station.py"),
            str(path),
            str(settings.path),
            REP,
            str(ids["pool"]),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert station.stdout.readline().strip() == "up"
    finally:
        station.kill()
        station.wait()
    [call] = calls_of(path, ids["pool"])
    assert call["open"] and call["answered_at"] and not call["ended_at"]
    app = Leadtui(path, config.load(str(settings.path)), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            pilot,
            lambda: isinstance(app.screen, Pick) and app.screen.query(".title"),
            "the open call is asked",
        )
        assert "has no outcome" in str(app.screen.query_one(".title").render())
        await pilot.press(*"needs", "enter")
        await settle(pilot)
        [call] = await until(
            pilot, lambda: [c for c in calls_of(path, ids["pool"]) if not c["open"]], "the outcome lands"
        )
        assert call["outcome"] == "needs-offer" and call["ended_at"]
        assert call["detail"] == "the station stopped during the call"


async def test_d2_the_detail_view_shows_the_lead_s_calls_and_notes_on_its_timeline(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, write_config(tmp_path, None), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["pool"])
        await press(pilot, "d")
        await pilot.press("t", *"[i]wife[/i]", "enter")
        await settle(pilot)
        await press(pilot, "n")
        await press(pilot, "enter")
        table = app.screen.query_one("DataTable")
        rows = [" ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("call +1" in r and "(manual)" in r and "→ not-contacted" in r for r in rows), rows
        assert any("note : [i]wife[/i]" in r for r in rows), rows


def _outside_window(svc, lead_id):
    svc.db.conn.execute("UPDATE phones SET tz = 'Pacific/Guam' WHERE lead_id = ?", (lead_id,))  # 6:00 there


def _dnc(svc, lead_id):
    svc.db.conn.execute("UPDATE phones SET dnc = 1 WHERE lead_id = ?", (lead_id,))


def _litigator(svc, lead_id):
    svc.db.conn.execute("UPDATE phones SET litigator = 1 WHERE lead_id = ?", (lead_id,))


def _one_call_before(svc, lead_id):
    svc.claim(lead_id, REP)
    call = svc.place_call(lead_id, REP, system="manual")
    svc.set_status(lead_id, "needs-offer", REP, call_id=call["id"])  # not a dial run: the gap applies


def _a_call_logged_meanwhile(svc, lead_id):
    """A call to the lead's phone logged a minute ago, by bob before the lead went back to the pool."""
    svc.db.conn.execute(
        "INSERT INTO calls (lead_id, phone_id, number, rep, station, system, placed_at, day, reported)"
        " SELECT lead_id, id, number, ?, 'other', 'manual', ?, ?, 1 FROM phones WHERE lead_id = ?",
        ("bob", (START - timedelta(minutes=1)).isoformat(), START.date().isoformat(), lead_id),
    )


def _reserved_by_bob(svc, lead_id):
    svc.db.conn.execute(
        "UPDATE reservations SET rep = 'bob', station = 'bob-station' WHERE lead_id = ?", (lead_id,)
    )


# rule -> (what the floor gets: before the station opens, or once the lead is on its screen; the
# [calling] table; words of the refusal)
GATES = {
    "b3_outside_the_calling_window": (None, _outside_window, {}, "outside calling hours"),
    "b3_dnc": (None, _dnc, {}, "no phone left to use"),  # e.g. an opt-out landing while it is on screen
    "b3_litigator": (None, _litigator, {}, "no phone left to use"),
    "b3_over_the_cap": (
        None,
        _a_call_logged_meanwhile,
        {"states": {"FL": {"max_per_phone_24h": 1}}},
        "cap 1",
    ),
    "d1_inside_the_minimum_gap": (_one_call_before, None, {"min_gap_minutes": 30}, "gap"),
    "f2_reserved_by_another_rep": (None, _reserved_by_bob, {}, "bob"),
}


def _on_floor(path: Path, change, lead_id: int) -> None:
    if change is not None:
        svc = Service.open(path)
        change(svc, lead_id)
        svc.close()


@pytest.mark.parametrize("rule", GATES)
async def test_gate_refuses_before_the_phone_system_hears_of_the_call(rule, rig, tmp_path):
    """B3, D1, F2: a refused dial is a notice naming the lead and why; the lead's phone sees no INVITE."""
    path, ids, callee, _ = rig
    early, late, calling, words = GATES[rule]
    _on_floor(path, early, ids["pool"])
    settings = write_config(tmp_path, baresip_dialer(tmp_path, callee))
    if calling:
        table = tmp_path / "config" / "config.toml"
        lines = ["[calling]"] + [f"{k} = {v}" for k, v in calling.items() if k != "states"]
        for state, limits in calling.get("states", {}).items():
            lines += [f"[calling.states.{state}]"] + [f"{k} = {v}" for k, v in limits.items()]
        table.write_text(table.read_text("utf-8") + "\n".join(lines) + "\n", "utf-8")
        settings = config.load(str(table))
    app = Leadtui(path, settings, REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["pool"])
        _on_floor(path, late, ids["pool"])
        logged = len(calls_of(path, ids["pool"]))
        await press(pilot, "d")
        refusal = [n for n in notes(app) if n.startswith(f"Lead {ids['pool']} Pat Pool:")]
        assert refusal and words in refusal[-1], notes(app)
        assert len(calls_of(path, ids["pool"])) == logged and f.call is None
        await pilot.pause(0.3)
        assert callee.seen("CALL_INCOMING") == [] and callee.seen("CALL_ESTABLISHED") == []


async def test_f3_d5_a_burst_through_the_note_box_keys_after_enter_reach_the_floor(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, write_config(tmp_path, None), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["pool"])
        for ch in "dtcall after 5\rn":  # one write: a paste, a slow link
            app.post_message(
                events.Key("enter" if ch == "\r" else {" ": "space"}.get(ch, ch), None if ch == "\r" else ch)
            )
        await settle(pilot)
        [call] = await until(
            pilot, lambda: [c for c in calls_of(path, ids["pool"]) if not c["open"]], "n lands"
        )
        assert (call["notes"], call["outcome"]) == ("call after 5", "not-contacted")


async def test_d1_f2_j_then_d_in_one_burst_dials_the_lead_moved_to(floor, tmp_path):
    path, ids = floor
    app = Leadtui(path, write_config(tmp_path, None), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["two_phones"])
        after = f.list.rows[f.list.cursor + 1]["id"]  # the next lead, a pool lead in this floor
        for ch in "jd":  # one write: the dial comes before the screen has handled the move
            app.post_message(events.Key(ch, ch))
        await settle(pilot)
        assert not [n for n in notes(app) if "not on your screen" in n], notes(app)
        [call] = calls_of(path, after)
        assert call["open"] and not call["reported"]


async def test_f3_phone_keys_read_off_the_screens_thread_and_keys_typed_meanwhile_keep_their_order(
    floor, tmp_path
):
    """`>` (next phone) and `p` (the picker) read the lead's phones when the panel has not: off the
    screen's thread, which goes on while the reader is busy. `> p 1` typed in one burst meanwhile
    lands in order once it reads: the second phone, then the picker, then phone 1."""
    path, ids = floor
    app = Leadtui(path, write_config(tmp_path, None), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["two_phones"])
        f._details.clear()  # as if the panel's read had not landed yet
        with app._reader_lock:  # the reader busy (a slow server): the screen must not wait on it
            await pilot.press("greater_than_sign", "p", "1")
            await pilot.pause(0.1)
            assert "reading" in app.holds and len(app.held) == 2  # `p` and `1` wait behind `>`'s read
            assert ids["two_phones"] not in f.chosen
        await settle(pilot)
        assert not isinstance(app.screen, PickPhone) and f.chosen[ids["two_phones"]] == 1


async def test_f3_a_phone_key_read_from_the_panel_still_lands_before_the_keys_typed_after_it(floor, tmp_path):
    """The panel has read the lead: `>` needs no read, and still `> n` in one burst lands in order:
    the Not Contacted is on the second phone, never on the first with `>` after it."""
    path, ids = floor
    app = Leadtui(path, write_config(tmp_path, None), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        f = await ready(pilot)
        await on_lead(pilot, f, ids["two_phones"])
        assert ids["two_phones"] in f._details
        app.post_message(events.Key("greater_than_sign", ">"))
        app.post_message(events.Key("n", "n"))
        await settle(pilot)
    [event] = [e for e in lead(path, ids["two_phones"], events=True)["events"] if e["kind"] == "status"]
    assert event["data"]["phone"] == 2
