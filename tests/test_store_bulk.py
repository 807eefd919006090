"""store.bulk: many leads with their phones in one transaction, searchable at once."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from leadtui.core.phones import normalize
from leadtui.errors import LeadtuiError
from leadtui.service import Service, init_database
from leadtui.store import bulk
from leadtui.store.db import connect
from leadtui.store.queries import LEAD_COLUMNS

pytestmark = pytest.mark.engines

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("America/New_York"))
STAMP = "2026-11-23T20:00:00+00:00"
N = 1000


def make_leads(n: int, tag: str = "Zephyrine") -> list[dict]:
    leads = []
    for i in range(n):
        phones = [(1, f"+1305555{i:04d}", "mobile", 0, 0, "America/New_York")]
        if i % 2:
            phones.append((2, f"+1786555{i:04d}", "landline", int(i % 10 == 1), 0, "America/New_York"))
        leads.append(
            {
                "owner_name": f"{tag} Owner{i}",
                "address": f"{i + 1} Bulk St",
                "city": "Miami",
                "state": "FL",
                "zip": "33101",
                "address_key": f"{i + 1} bulk st|33101",
                "status": "new",
                "created_at": STAMP,
                "updated_at": STAMP,
                "phones": phones,
            }
        )
    return leads


@pytest.fixture
def db(floor_address):
    init_database(floor_address, test_clock=True)
    database = connect(floor_address)
    yield database
    database.close()


def test_bulk_insert_counts_ids_search_and_integrity(db):
    service = Service(db, now=lambda: NOW)
    first = service.add_lead(owner_name="Hand Entered", address="9 Manual Rd", phones=["(305) 555-9999"])
    leads = make_leads(N)
    assert all(normalize(p[1]) == p[1] for lead in leads for p in lead["phones"])

    with db.write() as conn:
        ids = bulk.insert_leads(conn, leads, lambda lead: lead["phones"], batch=300)  # several batches

    assert ids == range(first["id"] + 1, first["id"] + 1 + N)
    conn = db.conn
    assert conn.execute("SELECT count(*) FROM leads").fetchone()[0] == N + 1
    assert conn.execute("SELECT count(*) FROM phones").fetchone()[0] == 1 + N + N // 2
    row = conn.execute("SELECT * FROM leads WHERE id = ?", (ids[7],)).fetchone()
    assert (row["owner_name"], row["emails"], row["notes"], row["dead"], row["owner"]) == (
        "Zephyrine Owner7",
        "[]",
        "",
        0,
        None,
    )
    assert [
        tuple(p)
        for p in conn.execute(
            "SELECT lead_id, position, number, type, dnc, tz FROM phones WHERE lead_id = ? ORDER BY position",
            (ids[1],),
        )
    ] == [
        (ids[1], 1, "+13055550001", "mobile", 0, "America/New_York"),
        (ids[1], 2, "+17865550001", "landline", 1, "America/New_York"),
    ]
    if db.engine == "sqlite":
        assert conn.execute("SELECT name FROM sqlite_temp_schema").fetchall() == []  # staging table gone
    else:  # (COPY straight into the tables: no staging table there)
        assert (
            conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'pg_temp%'").fetchone()[0] == 0
        )

    # the FTS triggers kept the index in step: search finds the loaded leads through the service
    found = service.search(text="zephyrine")
    assert [r["id"] for r in found] == list(ids)
    assert [r["id"] for r in service.search(text="Owner123")] == [ids[123]]
    assert [r["id"] for r in service.search(text="7865550999")] == [ids[999]]
    assert service.lead(ids[-1])["phones"][1]["number"] == "+17865550999"

    if db.engine == "sqlite":
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute(
            "INSERT INTO leads_fts(leads_fts, rank) VALUES ('integrity-check', 1)"
        )  # raises if FTS != leads
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    # a second load continues the ids, and the rows are usable by the rules
    with db.write() as conn:
        more = bulk.insert_leads(conn, make_leads(3, "Quillon"), None)
    assert more == range(ids[-1] + 1, ids[-1] + 4)
    assert [r["id"] for r in service.search(text="quillon")] == list(more)
    # a lead added by hand after a load takes the next id, not one the load gave
    after = service.add_lead(owner_name="Hand Again", address="10 Manual Rd", phones=["(305) 555-9998"])
    assert after["id"] == more[-1] + 1


def test_bulk_needs_the_callers_transaction_and_known_columns(db):
    with pytest.raises(RuntimeError, match="write transaction"):
        bulk.insert_leads(db.conn, make_leads(1))
    with pytest.raises(ValueError, match="not columns of leads"), db.write() as conn:
        bulk.insert_leads(conn, make_leads(1), columns=(*LEAD_COLUMNS, "id; DROP TABLE leads"))


def test_bulk_error_rolls_back_with_the_callers_transaction(db):
    leads = make_leads(5)
    leads[3]["phones"] = [(1, "+13055550003", None, 0, 0, None), (2, "+13055550003", None, 0, 0, None)]
    # (SQLite's error as it came; the server's is told in one line by db.write)
    refused = sqlite3.IntegrityError if db.engine == "sqlite" else LeadtuiError
    with pytest.raises(refused, match=r"(?i)unique"), db.write() as conn:
        bulk.insert_leads(conn, leads, lambda lead: lead["phones"])
    assert db.conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
    assert Service(db, now=lambda: NOW).search(text="zephyrine") == []
    with db.write() as conn:  # and the staging table does not get in the way of the next load
        assert bulk.insert_leads(conn, make_leads(2), lambda lead: lead["phones"]) == range(1, 3)
