"""B2 through `leadtui import`: every vendor sample, any file as it comes, hostile cells, de-duplication.

The samples in tests/data/samples are copies of the vendors' layouts (see importing/presets.py).
"""

from __future__ import annotations

import csv
import gc
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import read_csv, run_cli

from leadtui.store.db import connect

pytestmark = pytest.mark.engines

SAMPLES = Path(__file__).parent / "data" / "samples"
# sample -> (preset, data rows, distinct properties)
VENDORS = {
    "propstream_export.csv": ("propstream", 208, 200),
    "batchleads_export.csv": ("batchleads", 200, 200),
    "directskip_output.csv": ("directskip", 200, 200),
    "reisift_export.csv": ("reisift", 200, 200),
    "dealmachine_contacts.csv": ("dealmachine", 200, 200),
    "legacy_contacts.csv": ("generic", 200, 200),
}
HEADER = "Owner Name,Address,City,State,Zip,Phone 1,Phone 2,Status\n"


@pytest.fixture
def env(cli_env, floor_address, monkeypatch):
    monkeypatch.setenv("LEADTUI_DB", str(floor_address))  # the test's floor, on its engine
    run("init", "--test-clock")
    run("reps", "add", "alice", "--started", "2025-01-01")
    return cli_env


run = run_cli


def imported(path: Path, *args: str) -> dict:
    return json.loads(run("import", str(path), "--json", *args).stdout)


def floor() -> str:
    """The test's database: a file, or a postgresql:// address (set by `env`)."""
    return os.environ["LEADTUI_DB"]


@contextmanager
def db(env: Path) -> Iterator[Any]:
    """A connection to the floor, read as sqlite3's on either engine."""
    database = connect(floor())
    try:
        yield database.conn
    finally:
        database.close()


def count(env: Path, table: str = "leads") -> int:
    with db(env) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def sample(env: Path, name: str) -> Path:
    target = env / name
    shutil.copy(SAMPLES / name, target)
    return target


def write(env: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = env / name
    path.write_bytes(text.encode(encoding))
    return path


def phones_of(env: Path, address: str) -> list:
    with db(env) as conn:
        return conn.execute(
            "SELECT p.* FROM phones p JOIN leads l ON l.id = p.lead_id WHERE l.address = ?"
            " ORDER BY p.position",
            (address,),
        ).fetchall()


# --- every vendor sample --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_b2_every_sample_imports_with_its_preset_and_reimport_adds_nothing(env, name):
    preset, rows, properties = VENDORS[name]
    path = sample(env, name)
    first = imported(path)
    assert (first["preset"], first["rows"], first["inserted"], first["rejected"]) == (
        preset,
        rows,
        properties,
        0,
    )
    assert first["merged"] == rows - properties and first["rejects_path"] is None
    with db(env) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT number) FROM phones").fetchone()
        e164 = "number NOT GLOB '+1[2-9]*'" if conn.engine == "sqlite" else "number !~ '^[+]1[2-9]'"
        assert (
            conn.execute(f"SELECT count(*) FROM phones WHERE {e164} OR length(number) != 12").fetchone()[0]
            == 0
        )
        assert conn.execute("SELECT count(*) FROM phones WHERE tz IS NULL").fetchone()[0] == 0
        assert [r[0] for r in conn.execute("SELECT DISTINCT status FROM leads")] == ["new"]  # L1
    again = imported(path)
    assert (again["inserted"], again["merged"], again["phones_added"]) == (0, rows, 0)
    assert count(env) == properties and count(env, "phones") == stored[0]


def test_b2_propstream_duplicate_rows_merge_and_add_their_new_phones(env):
    imported(sample(env, "propstream_export.csv"))
    rows = list(csv.DictReader((SAMPLES / "propstream_export.csv").open(encoding="utf-8", newline="")))
    by_apn: dict[str, set[str]] = {}
    for row in rows:
        by_apn.setdefault(row["APN"], set()).update(
            "".join(ch for ch in row[f"Phone {n}"] if ch.isdigit())[-10:]
            for n in range(1, 6)
            if row[f"Phone {n}"]
        )
    with db(env) as conn:
        assert conn.execute("SELECT count(DISTINCT county || apn) FROM leads").fetchone()[0] == len(by_apn)
        for apn, numbers in by_apn.items():
            got = {
                r[0][2:]
                for r in conn.execute(
                    "SELECT number FROM phones WHERE lead_id = (SELECT id FROM leads WHERE apn = ?)", (apn,)
                )
            }
            assert got == numbers, apn
        flags = conn.execute("SELECT sum(dnc), sum(litigator), count(DISTINCT type) FROM phones").fetchone()
    assert flags[0] > 0 and flags[1] > 0 and flags[2] == 4  # Mobile, Landline, Residential, Wireless kept


def test_b2_batchleads_litigator_row_flags_every_phone_and_dnc_per_phone(env):
    imported(sample(env, "batchleads_export.csv"))
    phones = phones_of(env, "3232 Lake Rd")  # Litigator Yes; Phone 2 DNC Yes
    assert [(p["number"], p["type"], p["dnc"], p["litigator"]) for p in phones] == [
        ("+14805550193", "Landline", 0, 1),
        ("+14805550127", "Landline", 1, 1),
        ("+16025550167", "Mobile", 0, 1),
    ]


def test_b2_directskip_scrub_flags_and_input_name_fallback(env):
    imported(sample(env, "directskip_output.csv"))
    phones = phones_of(env, "785 Church St")  # DNC/Litigator Scrub: DNC
    assert len(phones) == 4 and all(p["dnc"] and not p["litigator"] for p in phones)
    assert phones[1]["type"] == "Residential"
    with db(env) as conn:
        llc = conn.execute(
            "SELECT owner_name, mailing_address FROM leads WHERE address = '4712 Elm St'"
        ).fetchone()
    assert tuple(llc) == ("K&M Investments LLC", "4712 Elm St")
    assert len(phones_of(env, "4712 Elm St")) == 5


def test_b2_reisift_phone_status_and_lists(env):
    imported(sample(env, "reisift_export.csv"))
    phones = phones_of(env, "1060 Highland Ave")  # do not call, wrong, correct, wrong
    assert [(p["dnc"], p["bad"]) for p in phones] == [(1, 0), (0, 1), (0, 0), (0, 1)]
    with db(env) as conn:
        lead = conn.execute("SELECT * FROM leads WHERE address = '1060 Highland Ave'").fetchone()
    assert (lead["source_status"], lead["source_list"], lead["county"], lead["zip"]) == (
        "Lead",
        "Tax Delinquent; Vacant",
        "Franklin",
        "43205-3994",
    )
    assert lead["address_key"].endswith("|43205")


def test_b2_dealmachine_full_address_is_split(env):
    imported(sample(env, "dealmachine_contacts.csv"))
    with db(env) as conn:
        lead = conn.execute(
            "SELECT * FROM leads WHERE owner_name = 'Sarah Johnson' AND zip = '32209'"
        ).fetchone()
    assert (lead["address"], lead["city"], lead["state"]) == ("5391 Park Ave", "Jacksonville", "FL")
    assert [(p["number"], p["type"], p["dnc"]) for p in phones_of(env, "5391 Park Ave")] == [
        ("+19045550131", "Wireless", 1),
        ("+19045550134", "Wireless", 0),
    ]


def test_b2_propstream_contacts_export_company_owners_public_dnc_and_contacts_of_one_property(env):
    # No vendor sample of this layout: its columns are those CRM importers of the file read (presets.py).
    path = env / "contact_export.csv"
    shutil.copy(SAMPLES.parent / "propstream_contacts.csv", path)
    result = imported(path)
    assert (result["preset"], result["rows"], result["inserted"], result["merged"]) == (
        "propstream-contacts",
        6,
        4,
        1,
    )
    assert (result["rows_rejected"], result["phones_rejected"]) == (1, 1)  # no property address; "555-01"
    with db(env) as conn:
        leads = {r["address"]: r for r in conn.execute("SELECT * FROM leads")}
    assert set(leads) == {"665 Pine St", "4733 Maple Dr", "5656 2nd St", "12 Oak Ave"}
    ana = leads["665 Pine St"]  # Maria Williams's row is another contact of the same property
    assert (ana["owner_name"], ana["mailing_address"], ana["mailing_zip"], json.loads(ana["emails"])) == (
        "Ana Williams",
        "8563 Sunset Blvd",
        "90011",
        ["ana.williams@example.com"],
    )
    assert [(p["number"], p["type"], p["dnc"]) for p in phones_of(env, "665 Pine St")] == [
        ("+12145550153", "Mobile", 0),
        ("+12145550121", "Landline", 1),
        ("+12145550177", "Mobile", 0),
    ]
    assert leads["4733 Maple Dr"]["owner_name"] == "Sunrise Holdings LLC"
    assert [(p["type"], p["dnc"]) for p in phones_of(env, "5656 2nd St")] == [
        ("Mobile", 0),
        ("Residential", 1),
    ]
    assert leads["12 Oak Ave"]["owner_name"] == "[bold red]Dee[/] O'Brien"  # stored as it came
    assert leads["12 Oak Ave"]["mailing_address"] == "12 Oak Ave"
    assert imported(path, "--preset", "PropStream Contacts")["inserted"] == 0
    err = run(
        "import", str(sample(env, "propstream_export.csv")), "--preset", "propstream-skip-trace", code=2
    ).stderr
    assert "not a PropStream contacts (skip trace) file: missing 'Street Address'" in err


def test_l1_l5_generic_status_is_the_source_status_then_migrates(env):
    result = imported(sample(env, "legacy_contacts.csv"), "--list", "legacy")
    assert result["preset"] == "generic"
    with db(env) as conn:
        rows = conn.execute(
            "SELECT status, source_status, source_list FROM leads WHERE address = '656 2nd St'"
        ).fetchone()
    assert tuple(rows) == ("new", "Archived", "legacy")
    run("init", "--test-clock", "--playbook", "lifecycle")
    out = json.loads(run("migrate-statuses", "--map", "legacy", "--json").stdout)
    hot = sum(
        1 for r in csv.DictReader((SAMPLES / "legacy_contacts.csv").open(newline="")) if r["Status"] == "Hot"
    )
    assert next(m for m in out["map"] if m["from"] == "Hot") == {"from": "Hot", "to": "active", "count": hot}


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "OWNER NAME,ADDRESS,CITY,STATE,ZIP,PHONE 1,PHONE 2,STATUS",
        "owner_name,address,city,state,zip,phone_1,phone_2,status",
        "\ufeffOwner-Name, Address ,City,State,Zip,Phone.1,Phone 2,Status",
    ],
)
def test_b2_headers_match_loosely(env, header):
    path = write(env, "loose.csv", header + "\nAna Diaz,12 Oak St,Miami,FL,33101,305-555-0101,,Hot\n")
    assert imported(path)["inserted"] == 1
    assert [p["number"] for p in phones_of(env, "12 Oak St")] == ["+13055550101"]


def test_b2_no_preset_fits_names_the_missing_columns_and_stores_nothing(env):
    path = write(env, "odd.csv", "Who,Where,Number\nAna,12 Oak St,3055550101\n")
    err = run("import", str(path), code=2).stderr
    assert "'Address'" in err and "'Owner Name'" in err
    err = run("import", str(sample(env, "batchleads_export.csv")), "--preset", "reisift", code=2).stderr
    assert "'Phone Status 1'" in err
    assert count(env) == 0 and count(env, "events") == 0


def test_b2_map_names_columns_a_preset_does_not_know(env):
    path = write(env, "odd.csv", "Who,Where,Number,Zip\nAna,12 Oak St,3055550101,33101\n")
    result = imported(path, "--map", "Who=owner_name", "--map", "Where=address", "--map", "Number=phone")
    assert result["inserted"] == 1 and phones_of(env, "12 Oak St")[0]["number"] == "+13055550101"
    llc = write(env, "llc.csv", "Entity,Address,Zip\nOak Trust LLC,14 Oak St,33101\n")
    assert imported(llc, "--map", "Entity=company")["inserted"] == 1  # the owner when no person is named
    with db(env) as conn:
        assert (
            conn.execute("SELECT owner_name FROM leads WHERE address = '14 Oak St'").fetchone()[0]
            == "Oak Trust LLC"
        )
    run("import", str(path), "--map", "Who=colour", code=2)
    run("import", str(path), "--map", "Nope=address", code=2)


# --- any file as it comes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding,delimiter",
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("utf-16", "\t"),
        ("utf-16-le", ","),
        ("cp1252", ";"),
        ("latin-1", "\t"),
    ],
)
def test_b2_encodings_and_delimiters_are_detected(env, encoding, delimiter):
    text = (HEADER + 'José Müller,"1 Peña St, Apt 2",Miami,FL,33101,(305) 555-0101,,Señal\n').replace(
        ",", delimiter
    )
    text = text.replace(f'"1 Peña St{delimiter} Apt 2"', '"1 Peña St, Apt 2"')
    result = imported(write(env, "enc.csv", text, encoding))
    assert result["inserted"] == 1 and result["delimiter"] == delimiter
    with db(env) as conn:
        lead = conn.execute("SELECT owner_name, address, source_status FROM leads").fetchone()
    assert tuple(lead) == ("José Müller", "1 Peña St, Apt 2", "Señal")


def test_b2_utf8_file_with_a_stray_cp1252_byte_keeps_every_row(env):
    text = (
        HEADER.encode()
        + "Zoë Ann,1 Oak St,Miami,FL,33101,,,New\n".encode()
        + b"Ren\xe9 Roe,2 Oak St,Miami,FL,33101,,,New\n"
    )
    path = env / "mixed.csv"
    path.write_bytes(text)
    assert imported(path)["inserted"] == 2
    with db(env) as conn:
        assert [r[0] for r in conn.execute("SELECT owner_name FROM leads ORDER BY id")] == [
            "Zoë Ann",
            "René Roe",
        ]


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG"),
        (bytes(range(32)) * 64, "binary"),
        (HEADER.encode(), "no rows"),
    ],
)
def test_b2_bad_files_exit_2_with_one_line_and_store_nothing(env, content, reason):
    path = env / "bad.csv"
    path.write_bytes(content)
    assert reason in run("import", str(path), code=2).stderr
    assert count(env) == 0 and count(env, "events") == 0


def test_b2_missing_file_and_folder_exit_2(env):
    assert "no such file" in run("import", str(env / "nope.csv"), code=2).stderr
    assert "folder" in run("import", str(env), code=2).stderr


HOSTILE = {
    "markup": "[bold red]Bob[/bold red] [link=http://x.invalid]click[/link]",
    "ansi": "\x1b[31mRed\x1b[0m \x1b[2J\x1b[H",
    "osc": "\x1b]0;owned\x07\x1b]8;;http://x.invalid\x1b\\link\x1b]8;;\x1b\\",
    "nul": "Nul\x00Byte",
    "long": "L" * 5000,
    "newline": "line one\nline two\r\nline three",
}


def test_b5_hostile_cells_are_stored_exactly_and_shown_literally(env):
    path = env / "hostile.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["Owner Name", "Address", "City", "State", "Zip", "Phone", "Status"])
        for i, text in enumerate(HOSTILE.values()):
            out.writerow([text, f"{i + 1} Oak St", "Miami", "FL", "33101", f"305555{i + 1:04d}", text])
        out.writerow(["After Newlines", "99 Oak St", "Miami", "FL", "33101", "not a phone", ""])
    result = imported(path)
    assert (result["inserted"], result["rejected"]) == (len(HOSTILE) + 1, 1)
    with db(env) as conn:
        stored = [tuple(r) for r in conn.execute("SELECT owner_name, source_status FROM leads ORDER BY id")]
    # (PostgreSQL's text can't hold a NUL byte: a server floor stores U+FFFD in its place)
    kept = [
        t if os.environ["LEADTUI_DB"].endswith(".db") else t.replace("\x00", "\ufffd")
        for t in HOSTILE.values()
    ]
    assert stored[: len(HOSTILE)] == [(t, t) for t in kept]
    rejects = read_csv(result["rejects_path"])
    # its own line: the row before spans lines 7-11 (two cells with two line breaks each)
    assert rejects[1] == ["12", "Phone", "not a phone", "not a valid phone number; phone dropped"]
    for args in (
        ["leads"],
        ["leads", "--json"],
        ["show", "1"],
        ["show", "2"],
        ["show", "3"],
        ["report", "status", "--contacts"],
    ):
        shown = run(*args).stdout
        assert "\x1b" not in shown and "\x00" not in shown and "\x07" not in shown, args
    assert "\\x1b[31mRed" in run("show", "2").stdout
    assert "[bold red]Bob[/bold red]" in run("show", "1").stdout


def test_b2_bad_phone_cell_is_dropped_the_row_kept_and_a_row_without_address_rejected(env):
    path = write(
        env,
        "bad.csv",
        HEADER + "Ana Diaz,12 Oak St,Miami,FL,33101,555-0101,(305) 555-0102,\n"
        "No Address,,Miami,FL,33101,3055550103,,\n"
        "Bo Li,14 Oak St,Miami,FL,33101,+44 20 7946 0958,call me,\n",
    )
    result = imported(path, "--rejects", str(env / "rej.csv"))
    assert (result["inserted"], result["rows_rejected"], result["phones_rejected"]) == (2, 1, 2)
    assert [p["number"] for p in phones_of(env, "12 Oak St")] == ["+13055550102"]
    assert [p["number"] for p in phones_of(env, "14 Oak St")] == ["+442079460958"]
    rejects = read_csv(result["rejects_path"])
    assert [r[0] for r in rejects[1:]] == ["2", "3", "4"] and "no property address" in rejects[2][3]


def test_b2_dry_run_counts_and_stores_nothing(env):
    result = imported(sample(env, "propstream_export.csv"), "--dry-run")
    assert (result["inserted"], result["merged"], result["dry_run"]) == (200, 8, True)
    assert count(env) == 0 and count(env, "events") == 0


# --- de-duplication -------------------------------------------------------------------------------


def test_b2_match_on_normalised_address_keeps_status_and_owner_adds_phones(env):
    imported(
        write(env, "a.csv", HEADER + "Ana Diaz,123 North Main Street,Miami,FL,33101-1234,305-555-0101,,\n")
    )
    run("set", "1", "needs-offer", "--rep", "alice")
    again = write(
        env, "b.csv", HEADER + "Someone Else,123 N. MAIN ST,Miami,FL,33101,(305) 555-0101,305 555 0199,\n"
    )
    result = imported(again)
    assert (result["inserted"], result["merged"], result["phones_added"]) == (0, 1, 1)
    lead = json.loads(run("show", "1", "--json").stdout)
    assert (lead["status"], lead["owner"], lead["owner_name"]) == ("needs-offer", "alice", "Ana Diaz")
    assert [p["number"] for p in lead["phones"]] == ["+13055550101", "+13055550199"]


def test_b2_match_on_county_and_apn_before_address(env):
    header = "Owner Name,Address,City,State,Zip,County,APN,Phone\n"
    imported(write(env, "a.csv", header + "Ana Diaz,1 Oak St,Miami,FL,33101,Miami-Dade,01-2345,3055550101\n"))
    moved = header + (
        "Ana Diaz,1 Oak Street Unit B,Miami,FL,33101,Miami-Dade,01-2345,3055550102\n"
        "Bo Li,1 Oak St,Miami,FL,33101,Broward,01-2345,3055550103\n"
    )
    result = imported(write(env, "b.csv", moved))
    assert (result["inserted"], result["merged"]) == (0, 2)  # APN match; then the same address
    assert [p["number"] for p in phones_of(env, "1 Oak St")] == [
        "+13055550101",
        "+13055550102",
        "+13055550103",
    ]


def test_b2_rescrub_adds_dnc_to_a_known_phone_never_removes_it(env):
    header = "Owner Name,Address,City,State,Zip,Phone 1,Phone 1 DNC\n"
    imported(write(env, "a.csv", header + "Ana Diaz,1 Oak St,Miami,FL,33101,3055550101,No\n"))
    imported(write(env, "b.csv", header + "Ana Diaz,1 Oak St,Miami,FL,33101,3055550101,Yes\n"))
    imported(write(env, "c.csv", header + "Ana Diaz,1 Oak St,Miami,FL,33101,3055550101,No\n"))
    assert [p["dnc"] for p in phones_of(env, "1 Oak St")] == [1]
    twice = (
        header
        + "Bo Li,2 Oak St,Miami,FL,33101,3055550102,No\n"
        + "Bo Li,2 Oak St,Miami,FL,33101,3055550102,Yes\n"
    )
    assert imported(write(env, "d.csv", twice))["merged"] == 1  # the same property twice in one file
    assert [p["dnc"] for p in phones_of(env, "2 Oak St")] == [1]


def test_w11_owner_key_lists_the_owners_other_properties(env):
    header = "Owner Name,Address,City,State,Zip,Mailing Address,Mailing Zip\n"
    imported(
        write(
            env,
            "a.csv",
            header + "Ana Diaz,1 Oak St,Miami,FL,33101,9 Bay Rd,33139\n"
            "ANA  DIAZ,2 Elm St,Miami,FL,33101,9 Bay Road,33139-0001\n"
            "Bo Li,3 Elm St,Miami,FL,33101,9 Bay Rd,33139\n",
        )
    )
    from leadtui.service import Service

    svc = Service.open(floor())
    try:
        assert [lead["address"] for lead in svc.other_properties(1)] == ["2 Elm St"]
    finally:
        svc.close()


def test_b2_duplicates_across_batches_are_merged(env):
    rows = [f"Owner {i},{i % 7} Oak St,Miami,FL,33101,305555{i:04d},,\n" for i in range(30)]
    path = write(env, "many.csv", HEADER + "".join(rows))
    result = _run_in_process(env, path, batch=4)
    assert (result["inserted"], result["merged"]) == (7, 23)
    with db(env) as conn:
        assert conn.execute("SELECT count(*) FROM phones").fetchone()[0] == 30
        assert (
            conn.execute("SELECT count(*) FROM events WHERE kind = 'import'").fetchone()[0] == 8
        )  # one per batch


def _run_in_process(env: Path, path: Path, **options) -> dict:
    from leadtui import clock
    from leadtui.importing.runner import run_import
    from leadtui.service import Service

    svc = Service.open(floor())
    try:
        return run_import(svc.db, path, status="new", now=clock.now(), **options)
    finally:
        svc.close()


def test_an_import_puts_the_interpreter_settings_back_after_success_or_failure(env):
    from leadtui.errors import LeadtuiError

    switch = sys.getswitchinterval()
    good = write(env, "good.csv", HEADER + "Ann Lee,1 Oak St,Miami,FL,33101,3055550101,,\n")
    _run_in_process(env, good)
    with pytest.raises(LeadtuiError, match="no rows"):
        _run_in_process(env, write(env, "empty.csv", HEADER))
    assert gc.isenabled() and sys.getswitchinterval() == switch


def test_b2_dry_run_counts_across_batches_as_the_real_run_does_and_leaves_no_scratch(
    env, tmp_path, monkeypatch
):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    rows = [f"Owner {i},{i % 7} Oak St,Miami,FL,33101,305555{i:04d},,\n" for i in range(30)]
    path = write(env, "many.csv", HEADER + "".join(rows))
    dry = _run_in_process(env, path, batch=4, dry_run=True)
    assert count(env) == 0 and count(env, "phones") == 0 and count(env, "events") == 0
    real = _run_in_process(env, path, batch=4)
    assert (dry["inserted"], dry["merged"]) == (real["inserted"], real["merged"]) == (7, 23)
    assert list(scratch.iterdir()) == []  # the staging files are gone


def test_b2_an_import_deletes_the_scratch_of_dead_imports_only(env, tmp_path, monkeypatch):
    from leadtui.store.lease import Lease

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    dead, live, unleased = (scratch / f"leadtui-import-{name}" for name in ("dead", "live", "unleased"))
    for folder in (dead, live, unleased):
        folder.mkdir()
        (folder / "slot0.db").write_bytes(b"x")
    Lease(dead).release()  # what a killed import leaves: a lease nobody holds
    running = Lease(live)  # an import at work (flock: held against this process's own probe too)
    try:
        _run_in_process(env, write(env, "one.csv", HEADER + "Ann Lee,1 Oak St,Miami,FL,33101,3055550101,,\n"))
        assert sorted(p.name for p in scratch.iterdir()) == sorted([live.name, unleased.name])
    finally:
        running.release()


def test_b2_rows_matching_one_stored_lead_by_parcel_and_by_address_add_a_new_phone_once(env):
    head = "Owner Name,Address,City,State,Zip,County,APN,Phone 1,Phone 1 DNC,Phone 2\n"
    imported(write(env, "first.csv", head + "Ann Lee,1 Oak St,Miami,FL,33101,Dade,01-234,3055550101,No,\n"))
    # one row names the parcel (at another address), the next the address (no parcel): both are lead 1
    second = write(
        env,
        "second.csv",
        head + "Ann Lee,1 Oak Street Rear,Miami,FL,33101,Dade,01-234,3055550101,Yes,7865550199\n"
        "A. Lee,1 Oak St,Miami,FL,33101,,,7865550199,No,3055550102\n",
    )
    result = imported(second)
    assert (result["inserted"], result["merged"]) == (0, 2)
    phones = phones_of(env, "1 Oak St")
    assert [(p["position"], p["number"], p["dnc"]) for p in phones] == [
        (1, "+13055550101", 1),
        (2, "+17865550199", 0),
        (3, "+13055550102", 0),
    ]
