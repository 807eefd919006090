"""Phone normalisation (B2) and the zones a number belongs to (B3)."""

from __future__ import annotations

import pytest

from leadtui.core.phones import normalize, time_zones


@pytest.mark.parametrize(
    "raw",
    [
        "(305) 555-1234",
        "305.555.1234",
        "305-555-1234",
        "13055551234",
        "1-305-555-1234",
        "+1 305 555 1234",
        "+13055551234",
        "3055551234.0",
        "  305 555 1234  ",
    ],
)
def test_b2_vendor_formats_normalise_to_e164(raw):
    assert normalize(raw) == "+13055551234"


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "not a phone", "555-0100", "1234567890", "305555123", "305555123456", "(000) 555-1234"],
)
def test_b2_invalid_numbers_are_none(raw):
    assert normalize(raw) is None


def test_b2_foreign_number_with_plus_kept():
    assert normalize("+44 20 7946 0958") == "+442079460958"


def test_b2_region_applies_to_national_numbers():
    assert normalize("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("e164", "zone"),
    [
        ("+13055551234", "America/New_York"),
        ("+12135551234", "America/Los_Angeles"),
        ("+13125551234", "America/Chicago"),
        ("+16025551234", "America/Phoenix"),
        ("+18085551234", "Pacific/Honolulu"),
    ],
)
def test_b3_zone_from_area_code(e164, zone):
    assert time_zones(e164) == (zone,)


def test_b3_toll_free_has_many_zones():
    zones = time_zones("+18005551234")
    assert len(zones) > 1 and "America/New_York" in zones


def test_b3_unknown_zone_dropped():
    assert time_zones("+15550100") == ()
    assert time_zones("garbage") == ()
