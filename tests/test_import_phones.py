"""The import's phone fast path agrees with phonenumbers (core.phones.normalize) cell for cell."""

from __future__ import annotations

import random
import subprocess
import sys

from leadtui.core import phones as phonelib
from leadtui.core.calling import STATE_TZ
from leadtui.importing.phones import DEEP_AREAS, Phones

FORMATS = (
    "{a}{x}{l}",
    "1{a}{x}{l}",
    "+1{a}{x}{l}",
    "({a}) {x}-{l}",
    "{a}-{x}-{l}",
    "{a}.{x}.{l}",
    "+1 {a} {x} {l}",
    "1 ({a}) {x}-{l}",
    "+{a}{x}{l}",
    "{a}{x}{l}.0",
    " {a} {x} {l} ",
    "{a}{x}{l}1",
)


def test_b2_fast_path_agrees_with_phonenumbers_on_random_nanp_cells():
    rng = random.Random(5)
    fast = Phones()
    cells = [
        rng.choice(FORMATS).format(
            a=f"{rng.randrange(200, 1000)}",
            x=f"{rng.randrange(0, 1000):03d}",
            l=f"{rng.randrange(10000):04d}",
        )
        for _ in range(6000)
    ]
    cells += [
        f"{area.decode()}{rng.randrange(200, 1000)}{rng.randrange(10000):04d}"
        for area in DEEP_AREAS
        for _ in range(300)
    ]
    cells += [
        "2465210123",
        "2465214123",
        "8766060123",
        "8766069123",
        "305-555-CALL",
        "(305) 555-0101 x12",
        "+44 20 7946 0958",
        "",
        "phone",
        "１３０５５５５０１０１",
        "305555010",
        "+1 (305) 555-0101",
        "305\u00a0555\u00a00101",
        "(305)\t555-0101",
    ]
    valid = 0
    for cell in cells:
        want = phonelib.normalize(cell)
        got = fast.read(cell, "FL")
        assert (got and got[0]) == want, cell
        if want:
            zones = phonelib.time_zones(want)
            assert got[1] == (zones[0] if len(zones) == 1 else STATE_TZ["FL"]), cell
        valid += want is not None
    assert 0 < valid < len(cells)  # both kinds were tried


def test_b3_zone_from_the_number_else_the_property_state():
    fast = Phones()
    assert fast.read("305-555-0101", "CA") == ("+13055550101", "America/New_York")
    toll_free = "800-555-0199"
    assert len(phonelib.time_zones(phonelib.normalize(toll_free))) != 1
    assert fast.read(toll_free, "AZ") == ("+18005550199", STATE_TZ["AZ"])
    assert fast.read("+44 20 7946 0958", "AZ") == ("+442079460958", "Europe/London")


def test_importing_reports_and_store_never_import_textual_or_rich():
    modules = "leadtui.importing.runner, leadtui.importing.replies, leadtui.reports, leadtui.store.imports, leadtui.store.reports"
    code = f"import sys; import {modules}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {{'textual', 'rich'}}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
