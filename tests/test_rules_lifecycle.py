"""Rules L1-L5: the six-status lead lifecycle (seed 003), through the Service on a real SQLite file."""

from __future__ import annotations

import pytest
from conftest import MANAGER, NEWBIE, REP, add_lead

from leadtui.errors import LeadtuiError
from leadtui.service import LEGACY_DEFAULT, LEGACY_MAP

pytestmark = pytest.mark.engines

LIFECYCLE_ORDER = ["new", "engage", "future", "active", "closed", "non-client"]


def dump(svc) -> dict:
    """Every row of the tables a rule may touch, to prove a refusal or a dry run changed nothing."""
    conn = svc.db.conn
    return {
        t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")]
        for t in ("leads", "phones", "events", "outbox", "approvals")
    }


def events(svc, lead_id: int, kind: str | None = None) -> list[dict]:
    out = svc.lead(lead_id, events=True)["events"]
    return [e for e in out if kind is None or e["kind"] == kind]


@pytest.fixture
def svc(make_service):
    return make_service("lifecycle")


# --- L1 ----------------------------------------------------------------------------------------


def test_l1_add_lead_gets_new(svc):
    lead = add_lead(svc)
    assert lead["status"] == "new"
    assert lead["status_label"] == "New"
    assert lead["owner"] is None
    created = events(svc, lead["id"])
    assert [(e["kind"], e.get("status")) for e in created] == [("created", "new")]


def test_l1_add_lead_by_a_rep_gets_new_and_is_recorded(svc):
    lead = add_lead(svc, rep=REP)
    assert lead["status"] == "new"
    assert events(svc, lead["id"])[0]["rep"] == REP


def test_l1_legacy_source_status_is_kept_but_status_is_new(svc):
    lead = add_lead(svc, source_status="Hot")
    assert lead["status"] == "new"
    assert lead["source_status"] == "Hot"


def test_l1_wholesale_add_lead_gets_new_too(make_service):
    svc = make_service("wholesale")
    assert add_lead(svc)["status"] == "new"


# --- L2 ----------------------------------------------------------------------------------------


def test_l2_time_passing_and_sweep_change_nothing(svc, clock):
    leads = [add_lead(svc) for _ in LIFECYCLE_ORDER]
    for lead, status in zip(leads, LIFECYCLE_ORDER, strict=True):
        if status != "new":
            svc.set_status(lead["id"], status, REP)
    svc.claim(leads[3]["id"], REP)  # an owned lead: still nothing happens by itself
    before = dump(svc)
    for days in (1, 7, 8, 31, 400):
        clock.advance(days=days)
        assert svc.sweep() == []
    assert dump(svc) == before
    assert [svc.lead(lead["id"])["status"] for lead in leads] == LIFECYCLE_ORDER
    assert svc.lead(leads[3]["id"])["owner"] == REP


def test_l2_statuses_keep_owner_and_hold_nothing(svc):
    pool = add_lead(svc)
    mine = add_lead(svc)
    svc.claim(mine["id"], REP)
    for status in LIFECYCLE_ORDER[1:]:
        svc.set_status(pool["id"], status, REP)
        svc.set_status(mine["id"], status, REP)
        assert svc.lead(pool["id"])["owner"] is None
        got = svc.lead(mine["id"])
        assert got["owner"] == REP and got["hold_until"] is None and got["next_call_at"] is None
    assert svc.outbox() == []  # no automation fires by itself


def test_l2_rep_decides_every_move_even_backwards(svc):
    lead = add_lead(svc)
    for status in ("active", "future", "new", "closed", "engage"):
        svc.set_status(lead["id"], status, REP)
        assert svc.lead(lead["id"])["status"] == status


def test_l2_playbook_suggests_next_stage(svc):
    lead = add_lead(svc)

    def suggestion(lead_id):
        return svc.playbook.status(svc.lead(lead_id)["status"]).suggest

    assert suggestion(lead["id"]) == ("engage",)  # first contact -> Engage
    svc.set_status(lead["id"], "engage", REP)
    assert set(suggestion(lead["id"])) == {"active", "future"}  # qualified -> Active or Future
    svc.set_status(lead["id"], "active", REP)
    assert set(suggestion(lead["id"])) == {"closed", "future"}  # deal done / falls through
    # a suggestion is only that: the status did not move
    assert svc.lead(lead["id"])["status"] == "active"


# --- L3 ----------------------------------------------------------------------------------------


def test_l3_counts_every_status_new_first(svc):
    counts = svc.counts()
    assert list(counts) == LIFECYCLE_ORDER
    assert next(iter(counts)) == "new"
    assert set(counts.values()) == {0}


def test_l3_counts_per_status(svc):
    plan = ["new", "new", "engage", "active", "active", "active", "non-client"]
    for status in plan:
        lead = add_lead(svc)
        if status != "new":
            svc.set_status(lead["id"], status, REP)
    assert svc.counts() == {"new": 2, "engage": 1, "future": 0, "active": 3, "closed": 0, "non-client": 1}
    assert sum(svc.counts().values()) == len(plan)


def test_l3_counts_as_a_rep_sees_them(svc):
    pool = add_lead(svc)
    alices = add_lead(svc)
    svc.claim(alices["id"], REP)
    svc.set_status(alices["id"], "active", REP)
    svc.set_status(pool["id"], "engage", REP)
    assert svc.counts(NEWBIE) == {
        "new": 0,
        "engage": 1,
        "future": 0,
        "active": 0,
        "closed": 0,
        "non-client": 0,
    }
    assert svc.counts(REP)["active"] == 1
    assert svc.counts(MANAGER)["active"] == 1


# --- L4 ----------------------------------------------------------------------------------------


def test_l4_search_by_status(svc):
    a, b, c = (add_lead(svc) for _ in range(3))
    svc.set_status(b["id"], "future", REP)
    svc.set_status(c["id"], "future", REP)
    assert [x["id"] for x in svc.search(status="future")] == [b["id"], c["id"]]
    assert [x["id"] for x in svc.search(status="new")] == [a["id"]]
    assert svc.search(status="closed") == []


def test_l4_search_unknown_status_is_an_error(svc):
    with pytest.raises(LeadtuiError, match="unknown status 'hot'"):
        svc.search(status="hot")


def test_l4_search_by_text(svc):
    smith = add_lead(svc, owner_name="Jane Smith", address="12 Coral Way")
    other = add_lead(svc, owner_name="Bob Jones", address="40 Palm Ave")
    assert [x["id"] for x in svc.search(text="smith")] == [smith["id"]]
    assert [x["id"] for x in svc.search(text="Smi")] == [smith["id"]]  # a prefix
    assert [x["id"] for x in svc.search(text="palm ave")] == [other["id"]]
    assert svc.search(text="nobody") == []


def test_l4_search_by_phone_digits(svc):
    a = add_lead(svc, phones=["(305) 555-0188"])
    b = add_lead(svc, phones=["(213) 555-0177"])
    for text in ("3055550188", "(305) 555-0188", "305-555-0188", "+1 305 555 0188", "555-0188"):
        assert [x["id"] for x in svc.search(text=text)] == [a["id"]], text
    assert [x["id"] for x in svc.search(text="213 555 0177")] == [b["id"]]


def test_l4_search_by_legacy_source_status(svc):
    hot = add_lead(svc, source_status="Hot")
    add_lead(svc, source_status="Exclude")
    assert [x["id"] for x in svc.search(text="hot")] == [hot["id"]]


def test_l4_search_by_status_and_text(svc):
    a = add_lead(svc, owner_name="Ann Smith")
    b = add_lead(svc, owner_name="Ben Smith")
    svc.set_status(b["id"], "engage", REP)
    assert [x["id"] for x in svc.search(status="engage", text="smith")] == [b["id"]]
    assert [x["id"] for x in svc.search(status="new", text="smith")] == [a["id"]]


def test_l4_search_text_with_query_syntax_is_literal(svc):
    add_lead(svc, owner_name="Ann Smith")
    for text in ('"', "*", "(", "AND", "NEAR(", "a:b", "^", "-"):
        assert svc.search(text=text) == [], text


def test_l4_search_address_with_house_number_is_not_a_phone_search(svc):
    ocean = add_lead(svc, address="101 Ocean Dr", phones=["(305) 555-0199"])
    add_lead(svc, address="7 Palm Ave", phones=["(305) 555-0101"])
    assert [x["id"] for x in svc.search(text="101 Ocean Dr")] == [ocean["id"]]


# --- L5 ----------------------------------------------------------------------------------------

LEGACY = [  # source status -> expected lifecycle status after migration
    (None, "new"),  # no legacy status: untouched
    ("New", "new"),
    ("Followed Up", "engage"),
    ("Hot", "active"),
    ("Exclude", "non-client"),
    ("Cold", "future"),
    ("Call back in spring", "future"),
    ("hot", "active"),  # case and spaces do not matter
    ("  followed up ", "engage"),
]


@pytest.fixture
def legacy(svc):
    return [(add_lead(svc, source_status=src)["id"], want) for src, want in LEGACY]


def test_l5_legacy_map_is_the_spec(svc):
    assert LEGACY_MAP == {"new": "new", "followed up": "engage", "hot": "active", "exclude": "non-client"}
    assert LEGACY_DEFAULT == "future"


def test_l5_dry_run_changes_nothing(svc, legacy):
    before = dump(svc)
    result = svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT, dry_run=True)
    assert dump(svc) == before
    assert result["dry_run"] is True
    assert result["changed"] == 7
    assert all(svc.lead(lead_id)["status"] == "new" for lead_id, _ in legacy)


def test_l5_dry_run_returns_counts(svc, legacy):
    result = svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT, dry_run=True)
    assert sorted((m["from"], m["to"], m["count"]) for m in result["map"]) == sorted(
        [
            ("New", "new", 1),
            ("Followed Up", "engage", 1),
            ("Hot", "active", 1),
            ("Exclude", "non-client", 1),
            ("Cold", "future", 1),
            ("Call back in spring", "future", 1),
            ("hot", "active", 1),
            ("  followed up ", "engage", 1),
        ]
    )
    # the real run reports the same counts
    real = svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    assert real["map"] == result["map"] and real["changed"] == result["changed"]


def test_l5_real_run_maps_every_legacy_value(svc, legacy):
    result = svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    assert result["dry_run"] is False and result["changed"] == 7
    assert [svc.lead(lead_id)["status"] for lead_id, _ in legacy] == [want for _, want in legacy]
    assert svc.counts() == {"new": 2, "engage": 2, "future": 2, "active": 2, "closed": 0, "non-client": 1}


def test_l5_real_run_one_migrate_event_per_lead_changed(svc, legacy, clock):
    svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT, rep=MANAGER)
    for (lead_id, want), (src, _) in zip(legacy, LEGACY, strict=True):
        migrated = events(svc, lead_id, "migrate")
        if want == "new":  # New stays New, no legacy value: no event
            assert migrated == []
            continue
        assert len(migrated) == 1
        (event,) = migrated
        assert event["status"] == want and event["rep"] == MANAGER
        assert event["before"] == {"status": "new"} and event["after"] == {"status": want}
        assert event["data"] == {"from": src}
        assert event["at"] == "2026-11-23T20:00:00+00:00"
    assert svc.db.conn.execute("SELECT count(*) FROM events WHERE kind = 'migrate'").fetchone()[0] == 7


def test_l5_without_rep_events_have_no_rep(svc, legacy):
    svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    lead_id = legacy[3][0]
    assert events(svc, lead_id, "migrate")[0]["rep"] is None


def test_l5_second_run_changes_nothing(svc, legacy, clock):
    svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    before = dump(svc)
    clock.advance(days=1)
    again = svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    assert again["changed"] == 0
    assert dump(svc) == before


def test_l5_without_default_other_values_are_left_alone(svc, legacy):
    result = svc.migrate_statuses(LEGACY_MAP, None)
    assert result["changed"] == 5
    statuses = {
        src: svc.lead(lead_id)["status"] for (lead_id, _), (src, _) in zip(legacy, LEGACY, strict=True)
    }
    assert statuses["Cold"] == "new" and statuses["Call back in spring"] == "new"
    assert statuses["Hot"] == "active"


@pytest.mark.parametrize(
    "mapping, default",
    [
        ({"hot": "hot-lead"}, None),  # a target the playbook lacks
        (LEGACY_MAP, "someday"),  # a default the playbook lacks
    ],
)
def test_l5_map_to_unknown_status_is_an_error(svc, legacy, mapping, default):
    before = dump(svc)
    with pytest.raises(LeadtuiError) as info:
        svc.migrate_statuses(mapping, default)
    assert "unknown status" in str(info.value) and "\n" not in str(info.value)
    assert dump(svc) == before


def test_l5_legacy_map_on_wholesale_is_an_error(make_service):
    svc = make_service("wholesale")
    add_lead(svc, source_status="Hot")
    before = dump(svc)
    with pytest.raises(
        LeadtuiError,
        match=r"unknown status '(engage|active|non-client|future)'",
    ):
        svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    assert dump(svc) == before


def test_l5_unknown_rep_is_an_error(svc, legacy):
    before = dump(svc)
    with pytest.raises(LeadtuiError, match="no rep named 'ghost'"):
        svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT, rep="ghost")
    assert dump(svc) == before


def test_l5_rerun_keeps_what_reps_decided_since(svc, legacy, clock):
    svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    hot = next(lead_id for (lead_id, _), (src, _) in zip(legacy, LEGACY, strict=True) if src == "Hot")
    clock.advance(days=3)
    svc.set_status(hot, "closed", REP)  # the deal closed
    again = svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT, dry_run=True)
    assert again["changed"] == 0
    svc.migrate_statuses(LEGACY_MAP, LEGACY_DEFAULT)
    assert svc.lead(hot)["status"] == "closed"
