"""The PostgreSQL engine itself (store.postgres), on the tests' real server: the shared SQL's
placeholders, rows read as SQLite's, the server's clock, change detection, the write lock."""

from __future__ import annotations

import select
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REP, add_lead

from leadtui.errors import Busy, LeadtuiError
from leadtui.service import init_database
from leadtui.store import bulk, postgres, queries
from leadtui.store.db import connect


@pytest.fixture
def address(pg_cluster):
    made = pg_cluster.database()
    init_database(made, test_clock=True)
    yield made
    pg_cluster.drop(made)


def test_placeholders_are_adapted_outside_quotes_only():
    assert postgres.adapt("SELECT ? WHERE a = '?' AND b LIKE '%x' AND c = ?") == (
        "SELECT %s WHERE a = '?' AND b LIKE '%%x' AND c = %s"
    )


def test_a_password_is_never_shown():
    shown = postgres.shown("postgresql://rep:s3cret@db.example:5432/floor")
    assert "s3cret" not in shown and shown == "postgresql://rep:***@db.example:5432/floor"


def test_rows_read_by_position_and_by_name_with_sqlite_types(address):
    db = connect(address)
    try:
        row = db.conn.execute(
            "SELECT 1 AS one, 2.5 AS half, 1 = 1 AS yes, sum(x) AS total FROM (VALUES (2), (3)) v(x)"
        ).fetchone()
        assert (row[0], row["one"], row["half"], row["yes"], row["total"]) == (1, 1, 2.5, 1, 5)
        assert type(row["total"]) is int and dict(row) == {"one": 1, "half": 2.5, "yes": 1, "total": 5}
        cur = db.conn.execute(
            "INSERT INTO leads (owner_name, address, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            ("O'Brien", "1 Main St", "new", "2026-11-23T20:00:00+00:00", "2026-11-23T20:00:00+00:00"),
        )
        assert cur.lastrowid == db.conn.execute("SELECT max(id) FROM leads").fetchone()[0]
    finally:
        db.close()


def test_the_floor_keeps_the_servers_clock(address):
    db = connect(address)
    try:
        with db.write():
            pass  # a write measures the clock again
        server = db.conn.execute("SELECT clock_timestamp()").fetchone()[0]
        assert abs(db.now() - server) < timedelta(seconds=1)
        assert abs(db.offset) < timedelta(seconds=5)  # one host here: the same clock, give or take the trip
        assert db.now().tzinfo is not None and db.now() <= datetime.now(UTC) + db.offset + timedelta(
            seconds=1
        )
    finally:
        db.close()


def test_a_commit_elsewhere_changes_the_data_version(address):
    one, two = connect(address), connect(address)
    try:
        before = queries.data_version(one.conn)
        assert queries.data_version(one.conn) == before  # nothing committed: no change
        with two.write() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('probe', '1')")
        assert queries.data_version(one.conn) != before
    finally:
        one.close()
        two.close()


def test_a_writer_waits_its_turn_then_gives_up_with_one_line(address):
    holder, waiter = connect(address), connect(address, busy_timeout_ms=300)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.write():
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        began = time.monotonic()
        with pytest.raises(Busy) as caught, waiter.write():
            pass
        assert time.monotonic() - began >= 0.25
        assert "nothing was changed" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        release.set()
        thread.join()
    with waiter.write() as conn:  # free again: the next write goes through
        conn.execute("INSERT INTO meta (key, value) VALUES ('after', '1')")
    holder.close()
    waiter.close()


def test_an_unreachable_server_is_one_line(pg_cluster):
    closed = pg_cluster.address("no_such_floor")
    with pytest.raises(LeadtuiError) as caught:
        connect(closed)
    assert "\n" not in str(caught.value)


def test_an_empty_database_is_not_a_floor_until_init(pg_cluster):
    made = pg_cluster.admin
    made.execute("CREATE DATABASE empty_floor")
    address = pg_cluster.address("empty_floor")
    try:
        with pytest.raises(LeadtuiError, match="no leadtui floor in this database"):
            connect(address)
        init_database(address)
        connect(address).close()
    finally:
        made.execute("DROP DATABASE empty_floor WITH (FORCE)")


def _holding(db, **what):
    """A thread holding a write on `db` (with `what`: lead=, call=, shared=) until released."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write(**what):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return thread, release


def test_a_write_on_one_lead_runs_beside_writes_on_others_and_waits_for_its_own(address):
    db = connect(address)
    stamp = "2026-11-23T20:00:00+00:00"
    with db.write() as conn:
        one, two = (
            conn.execute(
                "INSERT INTO leads (owner_name, address, status, created_at, updated_at) VALUES (?, ?, 'new', ?, ?)",
                (f"Owner {n}", f"{n} Main St", stamp, stamp),
            ).lastrowid
            for n in (1, 2)
        )
    holder, other = connect(address), connect(address, busy_timeout_ms=300)
    thread, release = _holding(holder, lead=one)
    try:
        with other.write(lead=two) as conn:  # another lead: no wait
            conn.execute("UPDATE leads SET notes = 'beside' WHERE id = ?", (two,))
        with other.write(shared=True) as conn:  # a station's own rows: no wait
            conn.execute("INSERT INTO meta (key, value) VALUES ('shared', '1')")
        for what in ({"lead": one}, {}):  # the same lead, and a write over the whole floor: they wait
            with pytest.raises(Busy), other.write(**what):
                pass
    finally:
        release.set()
        thread.join()
    with other.write(lead=one) as conn:  # free again
        conn.execute("UPDATE leads SET notes = 'after' WHERE id = ?", (one,))
    assert [r[0] for r in db.conn.execute("SELECT notes FROM leads ORDER BY id")] == ["after", "beside"]
    for each in (db, holder, other):
        each.close()


def test_a_queue_page_and_a_key_are_a_fixed_number_of_statements(make_service_pg):
    """Issue 18, item 3: no statement per lead on a page (each is a round trip to the server)."""
    svc = make_service_pg()
    for n in range(60):
        add_lead(svc, phones=2, owner_name=f"Owner {n}")
    sent = []
    for size in (10, 50):
        before = svc.db.conn.statements
        page, _ = svc.queue(REP, ("pool", 0), size)
        assert len(page) == size
        sent.append(svc.db.conn.statements - before)
    assert sent[0] == sent[1] <= 5, sent
    keys = []
    for lead in page[:3]:
        before = svc.db.conn.statements
        svc.set_status(lead["id"], "not-contacted", REP)
        keys.append(svc.db.conn.statements - before)
    assert len(set(keys)) == 1 and keys[0] <= 12, keys


def test_a_key_is_two_round_trips_and_reads_ahead_as_it_reads_after(make_service_pg):
    """Issue 18: a status key's locks, its event's id and its reads go in one trip
    (store.postgres.ahead, EVENT_ID), its writes with the COMMIT; the reads queued ahead give
    what reading them then gives."""
    svc = make_service_pg()
    lead = add_lead(svc, phones=2)
    conn = svc.db.conn
    before = conn.trips
    # opening + the event's id + the reads (24 h counts, W20's presses); lead, event, call + COMMIT
    first = svc.set_status(lead["id"], "not-contacted", REP)
    assert conn.trips - before == 2
    [call] = conn.execute(
        "SELECT outcome_status, outcome_event_id FROM calls WHERE lead_id = ?", (lead["id"],)
    )
    assert tuple(call) == ("not-contacted", first.event_id)
    before = conn.trips
    # opening + the reads; lead + event, the action's reads (one trip); the action + COMMIT
    second = svc.set_status(lead["id"], "needs-offer", REP)
    assert conn.trips - before == 3
    [action] = conn.execute("SELECT action, event_id FROM outbox WHERE lead_id = ?", (lead["id"],))
    assert tuple(action) == ("text_underwriter", second.event_id)
    for control in (lambda: svc.release(lead["id"], REP), lambda: svc.claim(lead["id"], REP)):
        before = conn.trips
        control()  # the opening and its reads (rep, lead, reservations); lead + event + COMMIT
        assert conn.trips - before == 2
    events = conn.execute("SELECT id, status FROM events WHERE lead_id = ? ORDER BY id", (lead["id"],))
    assert [tuple(e) for e in events][-4:-2] == [
        (first.event_id, "not-contacted"),
        (second.event_id, "needs-offer"),
    ]
    stamp = "2026-11-23T20:00:00+00:00"
    with svc.db.write(lead=lead["id"]) as c:
        postgres.ahead(c, lambda c: queries.lead(c, lead["id"]), lambda c: queries.phones(c, [lead["id"]]))
        c.execute("UPDATE leads SET notes = 'x' WHERE id = ?", (lead["id"],))  # a write: ahead's reads go
        assert queries.lead(c, lead["id"])["notes"] == "x"
        assert [p["position"] for p in queries.phones(c, [lead["id"]])[lead["id"]]] == [1, 2]
    with svc.db.write(lead=lead["id"]) as c:
        postgres.ahead(c, lambda c: queries.lead(c, lead["id"]))
        assert queries.lead(c, lead["id"])["notes"] == "x"
        assert c.execute("UPDATE leads SET updated_at = ? WHERE id = ?", (stamp, lead["id"])).rowcount == 1
    with pytest.raises(LeadtuiError, match="database error"), svc.db.write(lead=lead["id"]) as c:
        c.execute("UPDATE leads SET status = NULL WHERE id = ?", (lead["id"],))  # fails at the COMMIT's trip
    assert queries.lead(conn, lead["id"])["status"] == "needs-offer" and not conn.in_transaction
    with svc.db.write(lead=lead["id"]) as c:  # the connection goes on
        assert queries.lead(c, lead["id"])["updated_at"] == stamp
    with pytest.raises(LeadtuiError, match="database error"), svc.db.write(lead=lead["id"]) as c:
        c.execute("UPDATE leads SET status = NULL WHERE id = ?", (lead["id"],))
        # the failure is back before the COMMIT is queued (the key's code took its time): queueing
        # the COMMIT raises it, and the pipeline is still left (it stayed open: every later
        # statement of the station failed, "current transaction is aborted")
        select.select([c._raw.fileno()], [], [], 10)  # (its socket: `raw` would end the pipeline)
    assert queries.lead(conn, lead["id"])["status"] == "needs-offer" and not conn.in_transaction


@pytest.fixture
def make_service_pg(pg_cluster, clock, tmp_path):
    """make_service on the tests' server only (this module is about the server)."""
    from conftest import NY, add_reps

    from leadtui.service import Service

    address = pg_cluster.database()
    opened = []

    def make():
        init_database(address, test_clock=True)
        svc = Service(connect(address), now=clock.now, zone=NY, delay_seconds=30, contracts_dir=tmp_path)
        opened.append(svc)
        add_reps(svc, clock.now().date())
        return svc

    yield make
    for svc in opened:
        svc.close()
    pg_cluster.drop(address)


def test_tab_counts_come_from_counters_that_match_a_scan(make_service_pg):
    """Issue 18, item 3: tab counts read the counters the triggers keep, equal to counting the leads."""
    svc = make_service_pg()
    leads = [add_lead(svc, owner_name=f"Owner {n}") for n in range(12)]
    svc.claim(leads[0]["id"], REP)
    svc.claim(leads[1]["id"], "newbie")
    for lead, status in zip(
        leads[2:8],
        ("not-contacted", "needs-offer", "not-interested", "not-contacted", "dead-deal", "needs-offer"),
        strict=True,
    ):
        svc.set_status(lead["id"], status, REP)
    svc.undo(leads[7]["id"], REP)
    stamp = "2026-11-23T20:00:00+00:00"
    with svc.db.write() as conn:  # a bulk load (COPY): one statement, many leads
        bulk.insert_leads(
            conn,
            [
                {"owner_name": f"Bulk {n}", "address": f"{n} Bulk Rd", "status": status, "owner": owner}
                | {"created_at": stamp, "updated_at": stamp}
                for n, (status, owner) in enumerate([("new", None)] * 5 + [("needs-offer", REP)] * 3)
            ],
            columns=("owner_name", "address", "status", "owner", "created_at", "updated_at"),
        )
    conn = svc.db.conn

    def scan(where: str, *args) -> dict:
        sql = f"SELECT status, count(*) FROM leads WHERE {where} GROUP BY status"
        return dict(conn.execute(sql, args).fetchall())

    def counts(*args, **kwargs) -> dict:
        return {status: n for status, n in svc.counts(*args, **kwargs).items() if n}

    before = conn.statements
    assert counts(REP) == scan("dead = 0 AND (owner IS NULL OR owner = ?)", REP)
    assert conn.statements - before <= 3  # the rep, the counters: no scan
    assert counts() == scan("dead = 0")
    both = scan("dead = 0")
    for status, n in scan("dead = 1").items():
        both[status] = both.get(status, 0) + n
    assert counts(include_dead=True) == both and scan("dead = 1")  # a killed lead is counted too


def test_search_words_follow_their_columns_and_a_reps_role_reads_those_of_leads_it_sees(
    pg_cluster, clock, tmp_path
):
    """Issue 18: the search's words live in lead_words (migration 7), written when a lead is added,
    when one of the five columns they come from changes (not by a status key), and when it goes; a
    rep's role reads the words of the leads it sees only."""
    from test_postgres_roles import Floor

    floor = Floor(pg_cluster, clock, tmp_path)
    try:
        owner = floor.owner

        def found(svc, text: str) -> list[int]:
            return sorted(r["id"] for r in svc.search(text=text))

        assert found(owner, "ocean") == [floor.pool, floor.mine, floor.bobs]
        assert found(owner, "josé") == []
        conn = owner.db.conn

        def words() -> str:
            return conn.execute(
                "SELECT doc::text FROM lead_words WHERE lead_id = ?", (floor.pool,)
            ).fetchone()[0]

        before = words()
        with owner.db.write(lead=floor.pool) as c:
            c.execute("UPDATE leads SET owner_name = 'José Núñez' WHERE id = ?", (floor.pool,))
        assert found(owner, "jose nunez") == [floor.pool] and found(owner, "Owner 1") == []
        with owner.db.write(lead=floor.pool) as c:
            c.execute("UPDATE leads SET owner_name = 'Owner 1' WHERE id = ?", (floor.pool,))
        owner.set_status(floor.pool, "not-interested", floor.alice)
        assert words() == before
        floor.owner.grant_role(floor.alice)
        alice = floor.as_role(floor.alice)
        assert found(alice, "ocean") == [floor.pool, floor.mine]
        assert alice.db.conn.execute("SELECT count(*) FROM lead_words").fetchone()[0] == 2  # not bob's lead's
        stamp = "2026-11-23T20:00:00+00:00"
        with owner.db.write() as c:  # a lead that goes takes its words
            bare = c.execute(
                "INSERT INTO leads (owner_name, address, status, created_at, updated_at) VALUES (?, ?, 'new', ?, ?)",
                ("Bare Owner", "9 Gone St", stamp, stamp),
            ).lastrowid
        assert found(owner, "gone") == [bare]
        with owner.db.write() as c:
            c.execute("DELETE FROM leads WHERE id = ?", (bare,))
        assert (
            found(owner, "gone") == [] and conn.execute("SELECT count(*) FROM lead_words").fetchone()[0] == 3
        )
    finally:
        floor.close()
