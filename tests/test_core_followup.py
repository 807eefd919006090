"""Rule W18: the lead asks for a call in N units or on a date; the call goes half way there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leadtui.core.followup import add_months, half_way, parse_request
from leadtui.errors import LeadtuiError

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=NY)


def on(year: int, month: int, day: int, hour: int = 10, minute: int = 30) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def test_w18_six_months_schedules_three():
    assert half_way(NOW, "6 months") == (on(2027, 5, 22), on(2027, 2, 22))


@pytest.mark.parametrize(
    ("text", "requested"),
    [
        ("6 months", on(2027, 5, 22)),
        ("in 2 months", on(2027, 1, 22)),
        ("six months", on(2027, 5, 22)),
        ("Six Months From Now", on(2027, 5, 22)),
        ("3 mo", on(2027, 2, 22)),
        ("3 mon", on(2027, 2, 22)),
        ("1 month", on(2026, 12, 22)),
        ("twelve months", on(2027, 11, 22)),
        ("a year", on(2027, 11, 22)),
        ("2 years", on(2028, 11, 22)),
        ("1 yr", on(2027, 11, 22)),
        ("an y", on(2027, 11, 22)),
        ("3 weeks", on(2026, 12, 13)),
        ("2 wks", on(2026, 12, 6)),
        ("1w", on(2026, 11, 29)),
        ("a week", on(2026, 11, 29)),
        ("90 days", on(2027, 2, 20)),
        ("1 day", on(2026, 11, 23)),
        ("5d", on(2026, 11, 27)),
        ("IN   ten  DAYS", on(2026, 12, 2)),
    ],
)
def test_w18_durations_parsed(text, requested):
    assert parse_request(text, NOW) == requested


@pytest.mark.parametrize(
    ("text", "requested"),
    [
        ("2027-01-01", on(2027, 1, 1)),
        ("20270101", on(2027, 1, 1)),
        ("01/01/2027", on(2027, 1, 1)),
        ("1/1/2027", on(2027, 1, 1)),
        ("1/1", on(2027, 1, 1)),
        ("12/25", on(2026, 12, 25)),
        ("11/22", on(2027, 11, 22)),
        ("11/23", on(2026, 11, 23)),
        ("02/29", on(2028, 2, 29)),
        ("2026-12-01T15:00:00-05:00", on(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00", on(2026, 12, 1, 15, 0)),
        ("2026-12-01 15:00", on(2026, 12, 1, 15, 0)),
    ],
)
def test_w18_dates_parsed(text, requested):
    assert parse_request(text, NOW) == requested


def test_w18_iso_datetime_keeps_its_offset():
    requested = parse_request("2026-12-01T20:00:00Z", NOW)
    assert requested.utcoffset() == timedelta(0) and requested == on(2026, 12, 1, 15, 0)


@pytest.mark.parametrize(
    ("text", "scheduled"),
    [
        ("2 months", on(2026, 12, 22)),
        ("a year", on(2027, 5, 22)),
        ("2 years", on(2027, 11, 22)),
        ("3 weeks", on(2026, 12, 2)),
        ("90 days", on(2027, 1, 6)),
        ("5 days", on(2026, 11, 24)),
        ("1 day", on(2026, 11, 23)),
        ("2027-01-01", on(2026, 12, 12)),
        ("2026-12-01T15:00", on(2026, 11, 26)),
    ],
)
def test_w18_half_way(text, scheduled):
    assert half_way(NOW, text)[1] == scheduled


def test_w18_odd_months_add_half_the_next_month():
    # 5 months: 2 months (2027-01-22) plus half of the 31 days to 2027-02-22.
    assert half_way(NOW, "5 months") == (on(2027, 4, 22), on(2027, 2, 6))
    # 3 months from mid-January: 1 month (Feb 15) plus half of February's 28 days.
    assert half_way(on(2026, 1, 15), "3 months") == (on(2026, 4, 15), on(2026, 3, 1))


def test_w18_month_end_clamped():
    assert parse_request("1 month", on(2026, 1, 31)) == on(2026, 2, 28)
    assert half_way(on(2026, 1, 31), "1 month")[1] == on(2026, 2, 14)
    assert half_way(on(2026, 8, 31), "6 months") == (on(2027, 2, 28), on(2026, 11, 30))


def test_w18_leap_years():
    assert parse_request("1 month", on(2024, 1, 31)) == on(2024, 2, 29)
    assert half_way(on(2024, 2, 29), "a year") == (on(2025, 2, 28), on(2024, 8, 29))
    assert half_way(on(2023, 12, 31), "4 months")[1] == on(2024, 2, 29)


def test_w18_add_months_crosses_years():
    assert add_months(on(2026, 11, 30), 3) == on(2027, 2, 28)
    assert add_months(on(2026, 1, 1), 24) == on(2028, 1, 1)


def test_w18_time_of_day_kept_across_dst():
    now = datetime(2026, 3, 1, 10, 30, tzinfo=NY)  # EST; DST starts 2026-03-08
    requested, scheduled = half_way(now, "2 weeks")
    assert scheduled == datetime(2026, 3, 8, 10, 30, tzinfo=NY)
    assert (requested.hour, scheduled.hour) == (10, 10)
    assert scheduled.utcoffset() == timedelta(hours=-4)


def test_w18_scheduled_never_after_requested():
    requested, scheduled = half_way(NOW, "2026-11-22T12:30:00-05:00")
    assert scheduled == requested == on(2026, 11, 22, 12, 30)


@pytest.mark.parametrize(
    "text",
    ["1 day", "2 days", "1 week", "1 month", "3 months", "11 months", "5 years", "11/23", "2031-11-22"],
)
def test_w18_scheduled_strictly_after_now(text):
    requested, scheduled = half_way(NOW, text)
    assert NOW < scheduled <= requested


def test_w18_five_years_is_the_limit():
    assert parse_request("5 years", NOW) == on(2031, 11, 22)
    assert parse_request("60 months", NOW) == on(2031, 11, 22)
    assert parse_request("1826 days", NOW) == on(2031, 11, 22)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "soon",
        "0 days",
        "-3 days",
        "3 fortnights",
        "thirteen months",
        "months",
        "a",
        "61 months",
        "6 years",
        "1827 days",
        "99999999999 days",
        "2032-01-01",
        "2026-11-21",
        "2026-11-22",
        "13/45/2027",
        "01/01/0000",
        "02/30",
        "2026-11-22T10:30:00-05:00",
        "next tuesday",
    ],
)
def test_w18_bad_input_refused(text):
    with pytest.raises(LeadtuiError) as caught:
        half_way(NOW, text)
    assert str(caught.value) == (
        f"can't read follow-up {text!r}: say e.g. '6 months', '3 weeks', '90 days' or a date"
    )


def test_w18_utc_now_supported():
    now = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
    assert half_way(now, "6 months")[1] == datetime(2027, 2, 22, 15, 30, tzinfo=UTC)
