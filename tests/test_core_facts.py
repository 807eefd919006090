"""The lead's facts (issue 16): how a vendor's cell is read, how the panel says them, and search
filters on them. Pure: no database."""

from __future__ import annotations

import pytest

from leadtui.core.facts import (
    FACTS,
    Filter,
    chips,
    pack,
    parse_filters,
    read_bool,
    read_date,
    read_int,
    read_real,
    summary,
)
from leadtui.errors import LeadtuiError
from leadtui.importing.presets import norm


@pytest.mark.parametrize(
    ("cell", "value"),
    [("269000", 269000), ("$269,000", 269000), ("269000.00", 269000), ("-12,500", -12500), ("250k", 250000)],
)
def test_facts_money_cells_read_as_whole_numbers(cell, value):
    assert read_int(cell) == value


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("09/03/2019", "2019-09-03"),
        ("04-29-2013", "2013-04-29"),
        ("2019-9-3", "2019-09-03"),
        ("3/9/87", "1987-03-09"),
    ],
)
def test_facts_dates_read_month_first_as_vendors_write_them(cell, value):
    assert read_date(cell) == value


@pytest.mark.parametrize("cell", ["13/01/2019", "N/A", "2019", "yesterday"])
def test_facts_a_date_that_is_none_is_refused(cell):
    with pytest.raises(ValueError):
        read_date(cell)


def test_facts_numbers_and_yes_no():
    assert read_real("2.5") == 2.5 and read_real("48%") == 48.0
    assert (read_bool("Yes"), read_bool("no"), read_bool("1")) == (1, 0, 1)
    for bad in ("maybe", ""):
        with pytest.raises(ValueError):
            read_bool(bad)
    with pytest.raises(ValueError):
        read_int("N/A")


def test_facts_export_headers_are_read_back_by_their_own_sources():
    """`leadtui export` writes each fact under a header every preset reads (round trip)."""
    for fact in FACTS:
        assert norm(fact.header) in fact.sources, fact


def test_facts_summary_is_two_short_lines():
    lines = summary(
        {
            "est_value": 269000,
            "equity": 82080,
            "equity_pct": 48.0,
            "beds": 4,
            "baths": 2.5,
            "sqft": 2291,
            "year_built": 1997,
            "last_sale_date": "2019-09-03",
            "last_sale_price": 102600,
            "mls_status": "Active",
            "vacant": 1,
            "property_type": "Condo",
        }
    )
    assert lines == [
        "$269k value · $82k equity (48%) · sold 2019-09 $103k",
        "4 bd · 2.5 ba · 2,291 sq ft · built 1997 · Condo · vacant · MLS Active",
    ]
    assert summary({"equity_pct": 59.0}) == ["59% equity"]
    assert summary({}) == []


def test_facts_search_filters_split_from_the_words():
    text, filters = parse_filters(
        "smith beds:3 equity>50k sold<2015 mls:active vacant:yes baths>=2 Equity%>40"
    )
    assert text == "smith"
    assert filters == [
        Filter("beds", "=", 3),
        Filter("equity", ">", 50000),
        Filter("last_sale_date", "<", "2015"),
        Filter("mls_status", "like", "active"),
        Filter("vacant", "=", 1),
        Filter("baths", ">=", 2.0),
        Filter("equity_pct", ">", 40.0),
    ]
    assert parse_filters("sold>2015-06")[1] == [Filter("last_sale_date", ">", "2015-06~")]  # after June
    assert parse_filters("sold:2019")[1] == [Filter("last_sale_date", "like", "2019%")]
    assert parse_filters("12 Main St") == ("12 Main St", [])  # words, not filters


@pytest.mark.parametrize(
    ("search", "says"),
    [("beds:many", "beds takes a number"), ("mls>active", "text, with :"), ("vacant:perhaps", "yes or no")],
)
def test_facts_a_filter_that_cant_be_says_why(search, says):
    with pytest.raises(LeadtuiError, match=says):
        parse_filters(search)


def test_facts_chips_packed_on_two_lines_of_the_panels_width():
    facts = {"est_value": 171000, "equity": 82080, "beds": 4, "baths": 2.0, "sqft": 2291, "year_built": 1997}
    assert chips(facts) == ["$171k value", "$82k equity", "4bd/2ba", "2,291 sqft", "built 1997"]
    assert pack(chips(facts), 31) == ["$171k value · $82k equity", "4bd/2ba · 2,291 sqft"]  # 80x24
    assert pack(chips(facts), 60) == ["$171k value · $82k equity · 4bd/2ba · 2,291 sqft", "built 1997"]
    assert pack(["x" * 40], 10) == ["x" * 10]
    assert chips({"equity_pct": 59.0, "last_sale_date": "2019-09-03"}) == ["59% equity", "sold 2019"]
