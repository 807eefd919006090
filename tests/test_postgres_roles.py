"""Issue 18, item 4: reps connect to a PostgreSQL floor with their own database role. Row security
shows a rep's role the pool's leads and their own (and what hangs off them); a manager's role sees
all; the floor's owner (here the tests' superuser) sees all. The service acts as the connected rep.

Roles are cluster-wide and the tests' server is shared by the session: every test names its reps
(and so their roles) uniquely, and drops the roles it made.
"""

from __future__ import annotations

import itertools
import os
from datetime import date

import psycopg
import pytest
from conftest import NY, PIN, START, run_cli

from leadtui.errors import LeadtuiError, Refused
from leadtui.service import Service, init_database
from leadtui.store import pg_roles
from leadtui.store.db import connect

_TAGS = itertools.count(1)


class Floor:
    """A floor on the tests' server made by its superuser (the floor's owner), with reps alice, bob
    (reps) and boss (a manager) under names unique to the test, and three leads: one in the pool,
    one alice's, one bob's."""

    def __init__(self, cluster, clock, tmp_path):
        self.cluster = cluster
        self.clock = clock
        self.tmp_path = tmp_path
        tag = f"{os.getpid()}_{next(_TAGS)}"
        self.alice, self.bob, self.boss = f"alice_{tag}", f"bob_{tag}", f"boss_{tag}"
        self.address = cluster.database()
        self.name = self.address.rsplit("/", 1)[1]
        init_database(self.address, "wholesale", test_clock=True)
        self.opened: list[Service] = []
        self.owner = self.open(self.address)
        self.owner.add_rep(self.alice, started=date(2025, 1, 1))
        self.owner.add_rep(self.bob, started=date(2025, 1, 1))
        self.owner.add_rep(self.boss, manager=True, started=date(2024, 1, 1), pin=PIN)
        self.pool = self.lead(1, None)
        self.mine = self.lead(2, self.alice)
        self.bobs = self.lead(3, self.bob)

    def lead(self, n: int, owner: str | None) -> int:
        lead = self.owner.add_lead(
            owner_name=f"Owner {n}",
            address=f"{n} Ocean Dr",
            city="Miami",
            state="FL",
            zip_code="33139",
            phones=[f"(305) 555-01{n:02d}"],
        )
        if owner:
            self.owner.claim(lead["id"], owner)
        return lead["id"]

    def open(self, address: str) -> Service:
        svc = Service(
            connect(address), now=self.clock.now, zone=NY, delay_seconds=30, contracts_dir=self.tmp_path
        )
        self.opened.append(svc)
        return svc

    def as_role(self, role: str) -> Service:
        """A station opened with `role`'s own login (the tests' server trusts any role)."""
        return self.open(f"postgresql://{role}@127.0.0.1:{self.cluster.port}/{self.name}")

    def close(self) -> None:
        for svc in self.opened:
            svc.close()
        self.cluster.drop(self.address)
        for role in (self.alice, self.bob, self.boss):
            self.cluster.admin.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def floor(pg_cluster, clock, tmp_path):
    made = Floor(pg_cluster, clock, tmp_path)
    yield made
    made.close()


@pytest.fixture
def alice(floor) -> Service:
    floor.owner.grant_role(floor.alice)
    return floor.as_role(floor.alice)


def whole_queue(svc: Service, rep: str | None) -> list[dict]:
    rows, cursor = [], ("due", 0)
    while cursor is not None:
        page, cursor = svc.queue(rep, cursor)
        rows += page
    return rows


def ids(rows) -> list[int]:
    return sorted(r["id"] for r in rows)


def test_a_rep_reads_the_pool_and_her_own_leads_only(floor, alice):
    assert alice.bound == floor.alice
    assert ids(alice.search()) == [floor.pool, floor.mine]
    assert ids(whole_queue(alice, None)) == [floor.pool, floor.mine]
    assert alice.lead(floor.mine)["owner"] == floor.alice
    with pytest.raises(
        Refused, match=rf"lead {floor.bobs} is held by {floor.bob}: only they and managers see it"
    ):
        alice.lead(floor.bobs)
    conn = alice.db.conn  # the database itself hides them, not only the service
    assert [r[0] for r in conn.execute("SELECT id FROM leads ORDER BY id")] == [floor.pool, floor.mine]
    assert {r[0] for r in conn.execute("SELECT lead_id FROM phones")} == {floor.pool, floor.mine}
    assert floor.bobs not in {
        r[0] for r in conn.execute("SELECT lead_id FROM events WHERE lead_id IS NOT NULL")
    }
    assert conn.execute("UPDATE leads SET owner = ? WHERE id = ?", (floor.alice, floor.bobs)).rowcount == 0
    assert floor.owner.lead(floor.bobs)["owner"] == floor.bob


def test_a_rep_claims_a_pool_lead_and_presses_a_status(floor, alice):
    assert alice.claim(floor.pool, None).message.endswith(f"claimed by {floor.alice}")
    out = alice.set_status(floor.pool, "needs-offer", None)
    assert alice.lead(floor.pool)["status"] == "needs-offer"
    assert out.event_id is not None
    day = floor.owner.db.conn.execute(
        "SELECT dials, contacts FROM kpi_days WHERE rep = ?", (floor.alice,)
    ).fetchone()  # the KPI trigger writes as the floor's owner
    assert (day["dials"], day["contacts"]) == (1, 1)
    alice.undo(floor.pool, None)
    assert (
        floor.owner.db.conn.execute("SELECT dials FROM kpi_days WHERE rep = ?", (floor.alice,)).fetchone()[0]
        == 0
    )
    alice.release(floor.mine, None)
    assert floor.owner.lead(floor.mine)["owner"] is None


def test_a_rep_acts_as_herself_only(floor, alice):
    with pytest.raises(Refused, match=f"^connected as role {floor.alice}: you act as rep {floor.alice}$"):
        alice.claim(floor.pool, floor.bob)
    with pytest.raises(Refused, match=f"connected as role {floor.alice}"):
        alice.queue(floor.bob)
    assert alice.claim(floor.pool, floor.alice.upper()).lead_id == floor.pool  # her name, any case
    conn = alice.db.conn
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.raw.transaction():  # no credit as bob
        conn.execute(
            "INSERT INTO events(lead_id, at, day, rep, kind, kpi) VALUES (?, 'x', 'x', ?, 'status', 'dials')",
            (floor.pool, floor.bob),
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE kpi_days SET dials = 99")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE reps SET role = 'manager'")


def test_a_rep_assigns_her_lead_and_it_leaves_her_sight(floor, alice):
    out = alice.assign(floor.mine, floor.bob, None)
    assert out.lead_id == floor.mine
    assert floor.owner.lead(floor.mine)["owner"] == floor.bob
    assert ids(alice.search()) == [floor.pool]
    # bob's lead is bob's (W16): hidden from her, it is refused as one she may not see
    with pytest.raises(Refused, match=f"held by {floor.bob}: only they and managers see it"):
        alice.assign(floor.bobs, floor.alice, None)


def test_a_manager_sees_all_and_reassigns(floor):
    floor.owner.grant_role(floor.boss, manager=True)
    boss = floor.as_role(floor.boss)
    assert boss.bound == floor.boss
    assert ids(boss.search()) == [floor.pool, floor.mine, floor.bobs]
    assert boss.db.conn.execute("SELECT count(*) FROM phones").fetchone()[0] == 3
    boss.assign(floor.bobs, floor.alice, None, PIN)
    assert floor.owner.lead(floor.bobs)["owner"] == floor.alice
    with pytest.raises(Refused, match=f"you act as rep {floor.boss}"):
        boss.assign(floor.bobs, floor.bob, floor.alice, PIN)


def test_the_floor_owner_sees_all(floor):
    assert floor.owner.bound is None
    assert ids(floor.owner.search()) == [floor.pool, floor.mine, floor.bobs]
    assert ids(floor.owner.search(floor.alice)) == [floor.pool, floor.mine]  # W14 as the service keeps it


def test_grant_is_idempotent_and_keeps_passwords_off_the_command_line(floor, monkeypatch):
    first = floor.owner.grant_role(floor.alice)
    assert first["created"] and first["group"] == pg_roles.REP
    again = floor.owner.grant_role(floor.alice)
    assert not again["created"] and not again["changed"]
    floor.owner.db.conn.raw.execute(pg_roles.SETUP)  # the groups and grants, once more: no error
    monkeypatch.setenv("LEADTUI_DB", floor.address)
    monkeypatch.setenv("LEADTUI_NOW", START.isoformat())
    monkeypatch.setenv("SECRET_FOR_ALICE", "s3cret-pw")
    result = run_cli("reps", "grant", floor.alice, "--password-env", "SECRET_FOR_ALICE", "--json")
    assert f'"role": "{floor.alice}"' in result.stdout and "s3cret" not in result.stdout
    stored = floor.cluster.admin.execute(
        "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (floor.alice,)
    ).fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$")
    run_cli("reps", "grant", floor.bob, "--password-stdin", input="another-pw\n")
    assert floor.cluster.admin.execute(
        "SELECT pg_has_role(%s, 'leadtui_rep', 'MEMBER')", (floor.bob,)
    ).fetchone()[0]
    result = run_cli("reps", "grant", floor.bob, "--manager", code=2)
    assert "a manager's role is for managers" in result.stderr
    result = run_cli("reps", "grant", "nobody", code=2)
    assert "no rep named 'nobody'" in result.stderr


def test_cli_as_a_rep_role(floor, monkeypatch):
    floor.owner.grant_role(floor.alice)
    monkeypatch.setenv(
        "LEADTUI_DB", f"postgresql://{floor.alice}@127.0.0.1:{floor.cluster.port}/{floor.name}"
    )
    monkeypatch.setenv("LEADTUI_NOW", START.isoformat())
    result = run_cli("claim", str(floor.pool), "--rep", floor.bob, code=1)
    assert result.stderr.strip() == f"refused: connected as role {floor.alice}: you act as rep {floor.alice}"
    run_cli("claim", str(floor.pool))
    assert floor.owner.lead(floor.pool)["owner"] == floor.alice
    result = run_cli("reps", "grant", floor.bob, code=1)
    assert "only the floor's owner grants roles" in result.stderr


def test_a_rep_name_that_cant_be_a_role_is_refused():
    with pytest.raises(LeadtuiError, match="can't be a database role's name"):
        pg_roles.role_name("o'brien")
    assert pg_roles.role_name("Alice") == "alice"


def test_a_rep_station_works_a_lead_end_to_end(floor, alice):
    """Everything a station writes, with the rep's grants: its row, a reservation, a call and its
    events, a note, a status on the call, the W9 sweep, a wrong PIN's count."""
    floor.owner.reset_pin(floor.alice, "135790", floor.boss, PIN)
    alice.station_online(None)
    assert alice.reserve(None, [floor.bobs, floor.pool]) == floor.pool  # bob's is not hers to see
    call = alice.place_call(floor.pool, None, system="test")
    alice.call_event(call["id"], "answered")
    alice.note(floor.pool, None, "asked for an offer")
    alice.set_status(floor.pool, "offer-rejected", None, amount=100000)  # held for her (hold days)
    alice.call_event(call["id"], "ended", reason="hangup")
    assert floor.owner.lead(floor.pool)["owner"] == floor.alice
    row = floor.owner.db.conn.execute(
        "SELECT calls, connects, contacts FROM kpi_days WHERE rep = ?", (floor.alice,)
    ).fetchone()
    assert (row["calls"], row["connects"], row["contacts"]) == (1, 1, 1)
    floor.owner.set_status(floor.bobs, "offer-rejected", floor.bob, amount=90000)
    floor.clock.advance(days=60)
    assert alice.sweep() == [floor.pool]  # W9 from her station: only the holds she can see
    assert floor.owner.lead(floor.bobs)["owner"] == floor.bob
    assert floor.owner.sweep() == [floor.bobs]  # the owner's (or a manager's) sweep does the rest
    with pytest.raises(Refused, match="wrong PIN"):
        alice.check_own_pin(floor.alice, "000000")
    assert (
        floor.owner.db.conn.execute(
            "SELECT pin_failures FROM reps WHERE name = ?", (floor.alice,)
        ).fetchone()[0]
        == 1
    )
    assert alice.check_own_pin(floor.alice, "135790")["rep"] == floor.alice
    alice.unreserve()
    alice.station_closed()


def test_a_floor_role_without_createrole_uses_roles_a_superuser_made(pg_cluster, clock, tmp_path):
    """The README's other way: the floor's role can't make roles; a superuser made the groups and
    alice's login; `reps grant` as the floor's role applies the grants, and alice is kept to hers."""
    tag = f"{os.getpid()}_{next(_TAGS)}"
    owner, rep, db = f"floor_{tag}", f"carol_{tag}", f"own_{tag}"
    admin = pg_cluster.admin
    admin.execute(f"CREATE ROLE {owner} LOGIN")
    admin.execute(f"CREATE DATABASE {db} OWNER {owner}")
    address = f"postgresql://{owner}@127.0.0.1:{pg_cluster.port}/{db}"
    opened: list[Service] = []
    try:
        init_database(address, "wholesale", test_clock=True)
        svc = Service(connect(address), now=clock.now, zone=NY)
        opened.append(svc)
        assert svc.bound is None
        svc.add_rep(rep, started=date(2025, 1, 1))
        with pytest.raises(LeadtuiError, match=f"^not allowed .*have a superuser create role {rep}"):
            svc.grant_role(rep)
        admin.execute(f"CREATE ROLE {rep} LOGIN IN ROLE {pg_roles.REP}")
        assert svc.grant_role(rep)["created"] is False
        lead = svc.add_lead(owner_name="X", address="1 A St", city="Miami", state="FL", zip_code="33139",
                            phones=["(305) 555-0199"])  # fmt: skip
        theirs = Service(
            connect(f"postgresql://{rep}@127.0.0.1:{pg_cluster.port}/{db}"), now=clock.now, zone=NY
        )
        opened.append(theirs)
        assert theirs.bound == rep
        assert theirs.claim(lead["id"], None).lead_id == lead["id"]
    finally:
        for one in opened:
            one.close()
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {rep}")
        admin.execute(f"DROP ROLE IF EXISTS {owner}")


def test_a_lead_taken_while_on_her_screen_just_goes(floor, alice):
    """F1 from a rep's own role: a lead bob took is hidden from her, so her row for it can't be
    marked `taken by bob`; it goes from the list, and a key on it is refused naming bob."""
    assert alice.gone(floor.bobs, floor.alice) is None
    with pytest.raises(Refused, match=f"lead {floor.bobs} is held by {floor.bob}"):
        alice.set_status(floor.bobs, "needs-offer", None)
    assert floor.owner.gone(floor.bobs, floor.alice)["gone"] == f"taken by {floor.bob}"


def test_b3_spaces_calls_to_a_number_on_leads_she_cannot_see(floor, alice):
    """The same number on bob's lead and on a pool lead: bob's call to it still spaces hers (B3),
    though row security hides his call from her."""
    from leadtui.store import calls as calllog

    number = floor.owner.lead(floor.bobs)["phones"][0]["number"]
    floor.owner.place_call(floor.bobs, floor.bob, system="test")
    assert alice.db.conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 0
    assert calllog.last_to_number(alice.db.conn, number) is not None


# --- issue 18, "Time and trust": what a rep's role may not read, and what it still needs ----------


def test_no_reps_role_reads_a_pin_hash(floor, alice):
    """A manager's 6-digit PIN falls to an offline guess from its hash: neither a rep's role nor a
    manager's reads pin_hash; the server gives the salt only, and checks and counts the digest."""
    floor.owner.grant_role(floor.boss, manager=True)
    boss = floor.as_role(floor.boss)
    for svc in (alice, boss):
        conn = svc.db.conn
        for sql in ("SELECT pin_hash FROM reps", "SELECT * FROM reps"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        salted = conn.execute("SELECT leadtui_pin(?)", (floor.boss,)).fetchone()[0]
        stored = floor.owner.db.conn.raw.execute(
            "SELECT pin_hash FROM reps WHERE name = %s", (floor.boss,)
        ).fetchone()[0]
        assert stored.startswith(salted + "$") and stored.count("$") == salted.count("$") + 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nor does a rep write her lock away
        alice.db.conn.execute("UPDATE reps SET pin_failures = 0, pin_locked_until = NULL")
    assert {r["name"]: r["has_pin"] for r in alice.reps()}[floor.boss] is True
    # the manager's PIN still works from the manager's role, and a wrong one counts against him
    with pytest.raises(Refused, match=rf"wrong PIN for {floor.boss} \(1 of 5 before a lock\)"):
        boss.assign(floor.bobs, floor.alice, None, "111111")
    boss.assign(floor.bobs, floor.alice, None, PIN)
    assert floor.owner.lead(floor.bobs)["owner"] == floor.alice
    owner = floor.owner.db.conn
    assert owner.execute("SELECT pin_failures FROM reps WHERE name = ?", (floor.boss,)).fetchone()[0] == 0
    failed = owner.execute("SELECT rep, data FROM events WHERE kind = 'pin_failed'").fetchall()
    assert [(r["rep"], r["data"]) for r in failed] == [
        (floor.boss, '{"what": "take a lead from another rep"}')
    ]
    boss.reset_pin(floor.alice, "135790", None, PIN)  # a manager still sets a PIN
    assert alice.check_own_pin(floor.alice, "135790")["rep"] == floor.alice


def test_a_lock_holds_against_a_reps_role_winding_the_clock(floor, alice):
    """On a real floor the server's clock judges a PIN's lock: a rep's role calling the check
    itself with a time past the lock is still refused, and each wrong try counts."""
    floor.owner.db.conn.execute("DELETE FROM meta WHERE key = 'test_clock'")
    conn = alice.db.conn
    for _ in range(5):
        row = pg_roles.check_pin(conn, floor.boss, "00" * 32, "2026-01-01T00:00:00+00:00", "2026-01-01", "x")
        assert not row["ok"]
    assert row["locked_until"] is not None
    late = pg_roles.check_pin(conn, floor.boss, "00" * 32, "2999-01-01T00:00:00+00:00", "2999-01-01", "x")
    assert not late["ok"] and late["locked_until"] == row["locked_until"]


def test_b2_a_rep_cant_add_a_duplicate_of_a_lead_she_cant_see(floor, alice):
    with pytest.raises(Refused, match=rf"^lead {floor.bobs} already has that property address"):
        alice.add_lead(owner_name="Someone", address="3 Ocean Dr", city="Miami", state="FL", zip_code="33139",
                       phones=["(305) 555-0177"])  # fmt: skip
    assert floor.owner.db.conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 3


def test_w11_lists_the_owners_property_another_rep_holds_without_its_details(floor, alice):
    """Bob's lead shares a number with alice's: W11 lists it, held by bob, with no phones."""
    from leadtui.core.rules import NeedsConfirmation

    number = floor.owner.lead(floor.bobs)["phones"][0]["number"]
    shared = floor.owner.add_lead(owner_name="Owner 3", address="9 Bay Rd", city="Miami", state="FL",
                                  zip_code="33139", phones=[number])  # fmt: skip
    floor.owner.claim(shared["id"], floor.alice)
    with pytest.raises(NeedsConfirmation) as raised:
        alice.set_status(shared["id"], "already-sold", None)
    others = {o["id"]: o for o in raised.value.others}
    assert floor.bobs in others
    held = others[floor.bobs]
    assert (held["owner"], held["address"], held["phones"], held["held"]) == (
        floor.bob,
        "3 Ocean Dr",
        [],
        True,
    )
    assert floor.bobs in {o["id"] for o in alice.other_properties(shared["id"])}
    assert floor.owner.other_properties(shared["id"])[0]["phones"]  # the owner's list: whole leads


def test_f2_a_number_on_another_reps_call_is_refused_though_row_security_hides_the_call(floor, alice):
    """Bob's lead and one of alice's share a number; bob is on the phone with it: alice's role can't
    see his lead or his call, and still may not dial the number."""
    number = floor.owner.lead(floor.bobs)["phones"][0]["number"]
    shared = floor.owner.add_lead(owner_name="Owner 3", address="9 Bay Rd", city="Miami", state="FL",
                                  zip_code="33139", phones=[number])  # fmt: skip
    floor.owner.claim(shared["id"], floor.alice)
    floor.owner.place_call(floor.bobs, floor.bob, station="bobs-station", system="manual")
    with pytest.raises(Refused, match=rf"is on {floor.bob}'s call now \(lead {floor.bobs},"):
        alice.place_call(shared["id"], None, system="manual")
    assert len(floor.owner.calls(lead=shared["id"])) == 0


def test_the_floor_view_of_a_manager_whose_role_is_a_reps(floor, alice):
    """A rep made a manager keeps a rep's role until `reps grant` again: the floor view shows the
    lead a station is on by its id, the name row security hides as "" (the CLI's line still prints)."""
    from leadtui.cli.floor import station_line

    floor.cluster.admin.execute(f"CREATE ROLE {floor.boss} LOGIN IN ROLE {pg_roles.REP}")
    boss = floor.as_role(floor.boss)
    alice.station_online(None)
    alice.reserve(None, [floor.mine])
    alice.place_call(floor.mine, None, system="test")
    [station] = [s for s in boss.floor(None) if s["rep"] == floor.alice]
    assert (station["lead_id"], station["owner_name"]) == (floor.mine, "")
    assert f"lead {floor.mine} " in station_line(station)


def test_init_again_applies_the_grants(floor, alice):
    """`leadtui init` on a floor at the newest schema applies the grants again (idempotent), as
    a migration adding a table or column would need."""
    floor.owner.db.conn.execute(f"REVOKE SELECT ON phones FROM {pg_roles.REP}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        alice.db.conn.execute("SELECT count(*) FROM phones")
    init_database(floor.address, "wholesale", test_clock=True)
    assert alice.db.conn.execute("SELECT count(*) FROM phones").fetchone()[0] == 2


def test_d4_replies_are_not_taken_in_on_a_reps_role(floor, alice):
    """A rep's role sees the pool's leads and its own: an opt-out taken in there would leave bob's
    phone with the number callable. Refused there (nothing stored); the floor's role marks both."""
    number = floor.owner.lead(floor.bobs)["phones"][0]["number"]
    shared = floor.lead(4, None)
    floor.owner.db.conn.execute(
        "UPDATE phones SET number = ? WHERE lead_id = ?", (number, shared)
    )  # the same number on a pool lead alice sees
    with pytest.raises(Refused, match="D4"):
        alice.add_replies([(number, "STOP", START)])
    assert floor.owner.db.conn.execute("SELECT count(*) FROM replies").fetchone()[0] == 0
    floor.owner.add_replies([(number, "STOP", START)])
    assert [p["dnc"] for lead in (floor.bobs, shared) for p in floor.owner.lead(lead)["phones"]] == [1, 1]


def station_settings(tmp_path, require_pin: bool):
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"[floor]\nrequire_pin = {'true' if require_pin else 'false'}\n", "utf-8")
    from leadtui import config

    return config.load(str(path))


async def test_a_station_on_a_reps_role_opens_for_that_rep_only(floor, alice, tmp_path, monkeypatch):
    """`leadtui run` with alice's role: no one to pick, the floor opens for alice; asking for bob
    is refused before the screen; where a PIN is asked and she has none, the picker offers her alone
    (it listed every rep, and picking bob crashed the station)."""
    from ui_floor import isolate

    from leadtui.ui.app import Leadtui
    from leadtui.ui.dialogs import Pick
    from leadtui.ui.floor import Floor

    isolate(tmp_path, monkeypatch)
    address = f"postgresql://{floor.alice}@127.0.0.1:{floor.cluster.port}/{floor.name}"
    app = Leadtui(address, station_settings(tmp_path, False), None)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if isinstance(app.screen, Floor):
                break
        assert isinstance(app.screen, Floor) and app.rep == floor.alice
    with pytest.raises(Refused, match=f"connected as role {floor.alice}: you act as rep {floor.alice}"):
        Leadtui(address, station_settings(tmp_path, False), floor.bob)
    app = Leadtui(address, station_settings(tmp_path, True), None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, Pick)
        assert [value for value, _label in app.screen.choices] == [floor.alice]
