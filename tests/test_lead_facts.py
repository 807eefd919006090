"""The lead's facts (issue 16): imports keep the vendor's property facts and emails, from every
preset that has them (the sample lists' own columns); `show`, search, the claim panel (80x24, the
KPI line still in sight) and the detail view show them."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from conftest import REP, run_cli
from test_ui_floor import ready
from ui_floor import isolate, notes, press, settings

from leadtui.service import init_database
from leadtui.ui.app import Leadtui
from leadtui.ui.views import Detail

pytestmark = pytest.mark.engines

SAMPLES = Path(__file__).parent / "data" / "samples"


def _date(fmt: str):
    return lambda cell: datetime.strptime(cell, fmt).date().isoformat()


def _yes(cell: str) -> int:
    return {"Yes": 1, "No": 0}[cell]


# Each sample's fact columns, and how the file writes them (read here without leadtui's reader).
FACT_COLUMNS = {
    "propstream_export.csv": {
        "est_value": ("Est. Value", int),
        "equity": ("Est. Equity", int),
        "beds": ("Bedrooms", int),
        "baths": ("Total Bathrooms", float),
        "sqft": ("Building Sqft", int),
        "year_built": ("Year Built", int),
        "last_sale_date": ("Last Sale Date", _date("%m/%d/%Y")),
        "last_sale_price": ("Last Sale Amount", int),
        "mls_status": ("MLS Status", str),
        "vacant": ("Vacant", _yes),
        "property_type": ("Property Type", str),
    },
    "batchleads_export.csv": {
        "est_value": ("Estimated Value", int),
        "beds": ("Bedroom Count", int),
        "baths": ("Bathroom Count", float),
        "last_sale_date": ("Last Sale Date", _date("%m-%d-%Y")),
        "last_sale_price": ("Last Sale Price", int),
        "mls_status": ("Mls Status", str),
        "vacant": ("Is Vacant", _yes),
        "property_type": ("Property Type Detail", str),
    },
    "dealmachine_contacts.csv": {
        "est_value": ("estimated_value", int),
        "equity_pct": ("equity_percent", float),
    },
}
ADDRESS = {
    "propstream_export.csv": "Address",
    "batchleads_export.csv": "Property Address",
    "dealmachine_contacts.csv": "associated_property_address_full",
}


def data(*args: str):
    return json.loads(run_cli(*args, "--json").stdout)


@pytest.fixture
def env(cli_env):
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    return cli_env


@pytest.mark.parametrize("sample", sorted(FACT_COLUMNS))
def test_facts_imported_from_the_sample_lists(env, sample):
    summary = data("import", str(SAMPLES / sample))
    assert summary["values_rejected"] == 0 and summary["inserted"] > 0
    rows = list(csv.DictReader((SAMPLES / sample).open(encoding="utf-8-sig", newline="")))
    street = ADDRESS[sample]
    once = [r for r in rows if sum(x[street] == r[street] for x in rows) == 1]  # merged rows left aside
    leads = {}
    for lead in data("leads"):
        leads.setdefault(lead["address"], lead)
    checked = 0
    for row in once:
        address = row[street].split(",")[0]  # DealMachine's is "street, city, ST zip"
        lead = leads[address]
        expected = {
            column: read(row[header])
            for column, (header, read) in FACT_COLUMNS[sample].items()
            if row[header]
        }
        assert lead["facts"] == expected, (address, lead["facts"], expected)
        checked += 1
    assert checked >= 190


def test_facts_emails_kept_from_the_list(env):
    data("import", str(SAMPLES / "propstream_export.csv"))
    rows = list(csv.DictReader((SAMPLES / "propstream_export.csv").open(encoding="utf-8-sig", newline="")))
    by_address = {lead["address"]: lead for lead in data("leads")}
    first = rows[0]
    assert by_address[first["Address"]]["emails"] == [first["Email 1"]]
    shown = run_cli("show", str(by_address[first["Address"]]["id"])).stdout
    assert f"email     {first['Email 1']}" in shown
    assert "facts     $171k value · $82k equity · sold 2019-09 $103k" in shown
    assert "facts     4 bd · 2 ba · 2,291 sq ft · built 1997 · Condo · vacant · MLS Active" in shown


def test_facts_a_cell_that_is_no_fact_is_dropped_with_a_reject_line_the_lead_kept(env):
    path = env / "odd.csv"
    path.write_text(
        "Owner Name,Address,City,State,Zip,Bedrooms,Est. Value,Last Sale Date,Vacant\n"
        'Ann Odd,1 Odd St,Miami,FL,33101,three,"$250,000",13/45/2020,maybe\n'
        'Bob Even,2 Even St,Miami,FL,33101,3,"$250,000",2020-01-31,No\n',
        "utf-8",
    )
    summary = data("import", str(path))
    assert (summary["inserted"], summary["values_rejected"], summary["rejected"]) == (2, 3, 3)
    first, second = data("leads")
    assert first["facts"] == {"est_value": 250000}
    assert second["facts"] == {"beds": 3, "est_value": 250000, "last_sale_date": "2020-01-31", "vacant": 0}
    with open(summary["rejects_path"], encoding="utf-8-sig", newline="") as f:
        rejects = [(r["line"], r["column"], r["value"], r["reason"]) for r in csv.DictReader(f)]
    assert rejects == [
        ("2", "Bedrooms", "three", "not a whole number: the lead is kept without its bedrooms"),
        ("2", "Last Sale Date", "13/45/2020", "not a date: the lead is kept without its last sale date"),
        ("2", "Vacant", "maybe", "not yes or no: the lead is kept without its vacancy"),
    ]


def test_facts_an_empty_cell_falls_back_to_the_facts_other_column_row_by_row(env):
    path = env / "dates.csv"
    path.write_text(
        "Owner Name,Address,City,State,Zip,Last Sale Date,Last Sale Recording Date\n"
        "Ann One,1 Oak St,Miami,FL,33101,,01/02/2019\n"
        "Bob Two,2 Oak St,Miami,FL,33101,  ,03/04/2020\n"
        "Cy Three,3 Oak St,Miami,FL,33101,05/06/2021,07/08/2022\n"
        "Di Four,4 Oak St,Miami,FL,33101,,\n",
        "utf-8",
    )
    data("import", str(path))
    assert [lead["facts"] for lead in data("leads")] == [
        {"last_sale_date": "2019-01-02"},
        {"last_sale_date": "2020-03-04"},
        {"last_sale_date": "2021-05-06"},
        {},
    ]


def test_facts_a_second_list_fills_the_facts_a_lead_lacks_and_keeps_the_rest(env):
    path = env / "first.csv"
    path.write_text(
        "Owner Name,Address,City,State,Zip,Bedrooms\nAnn Lee,1 Oak St,Miami,FL,33101,3\n", "utf-8"
    )
    data("import", str(path))
    again = env / "second.csv"
    again.write_text(
        "Owner Name,Address,City,State,Zip,Bedrooms,Est. Value\nAnn Lee,1 Oak St,Miami,FL,33101,5,300000\n",
        "utf-8",
    )
    assert data("import", str(again))["merged"] == 1
    assert data("leads")[0]["facts"] == {"beds": 3, "est_value": 300000}


def test_facts_search_filters(env):
    data("import", str(SAMPLES / "propstream_export.csv"))
    everyone = data("leads")
    for search, keep in (
        ("beds:4", lambda f: f.get("beds") == 4),
        ("equity>100000", lambda f: f.get("equity", 0) > 100000),
        ("value<=150k baths>=2", lambda f: f.get("est_value", 1e12) <= 150000 and f.get("baths", 0) >= 2),
        (
            "vacant:yes mls:active",
            lambda f: f.get("vacant") == 1 and (f.get("mls_status") or "").lower() == "active",
        ),
        ("sold<2010", lambda f: f.get("last_sale_date", "9999") < "2010"),
        ("sold:2019", lambda f: f.get("last_sale_date", "").startswith("2019")),
    ):
        expected = [lead["id"] for lead in everyone if keep(lead["facts"])]
        assert expected, search
        assert [lead["id"] for lead in data("leads", "--search", search)] == expected, search
    owner = everyone[0]["owner_name"].split()[-1]
    mixed = [lead["id"] for lead in data("leads", "--search", f"{owner} beds:4")]
    assert mixed == [x["id"] for x in everyone if owner in x["owner_name"] and x["facts"].get("beds") == 4]
    out = run_cli("leads", "--search", "beds:lots", code=2)
    assert "search 'beds:lots': beds takes a number" in out.stderr


# --- on the screen ----------------------------------------------------------------------------


@pytest.fixture
def station(tmp_path, monkeypatch):
    path = isolate(tmp_path, monkeypatch)
    init_database(path, test_clock=True)
    monkeypatch.setenv("LEADTUI_DB", str(path))
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    run_cli("import", str(SAMPLES / "propstream_export.csv"))
    return path


async def test_facts_on_the_claim_panel_at_80x24_with_the_kpi_line_in_sight(station, tmp_path):
    app = Leadtui(station, settings(tmp_path), REP)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot)
        lead = screen.list.current
        panel = str(screen.query_one("#panel").render())
        assert "value" in panel and "bd" in panel  # the facts, compact
        assert f"Today ({REP})" in panel  # the KPI line stays
        assert lead["facts"]


async def test_facts_and_emails_in_the_detail_view(station, tmp_path):
    app = Leadtui(station, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        lead = screen.list.current
        await press(pilot, "enter")
        assert isinstance(app.screen, Detail)
        fields = str(app.screen.query_one("#fields").render())
        facts = lead["facts"]
        assert f"Est. Value  ${facts['est_value']:,}" in fields
        assert f"Bedrooms  {facts['beds']}" in fields
        assert f"Last Sale Date  {facts['last_sale_date']}" in fields
        assert f"email  {lead['emails'][0]}" in fields


async def test_facts_search_on_the_screen(station, tmp_path):
    app = Leadtui(station, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot)
        await press(pilot, "slash", *"beds:lots", "enter")  # said at once; the search box stays
        assert any("beds takes a number" in n for n in notes(app))
        await press(pilot, "ctrl+a", "ctrl+k", *"beds:4 vacant:yes", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = screen.list.rows
        assert rows and all(r["facts"].get("beds") == 4 and r["facts"].get("vacant") == 1 for r in rows)
        expected = [lead["id"] for lead in data("leads", "--search", "beds:4 vacant:yes")]
        assert [r["id"] for r in rows] == expected
