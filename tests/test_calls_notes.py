"""Rule D5 through the Service: notes per lead and per call, stored exactly as typed, refused like
any other write on a lead the rep may not touch (F1, F2, W14), and carried by W3's text."""

from __future__ import annotations

import json

import pytest
from conftest import NEWBIE, REP, add_lead

from leadtui.core.decide import Seen
from leadtui.errors import LeadtuiError, Refused

pytestmark = pytest.mark.engines

# Rich markup, a terminal escape, a bidi override, a zero-width joiner, a newline and a tab, a NUL
TRICKY = "[bold red]call back[/] \x1b[31mafter 5\x1b[0m \u202eevil\u202c \u200d\nline two\tend \x00!"


@pytest.fixture
def svc(make_service):
    return make_service("wholesale")


def notes(svc, lead_id: int) -> list[dict]:
    return [e for e in svc.lead(lead_id, events=True)["events"] if e["kind"] == "note"]


def test_d5_a_note_is_stored_exactly_on_the_lead_and_its_call(svc):
    lead = add_lead(svc)
    svc.claim(lead["id"], REP)
    call = svc.place_call(lead["id"], REP, system="manual")
    # (a server's text holds no NUL: the test after next)
    tricky = TRICKY if svc.db.engine == "sqlite" else TRICKY.replace("\x00", "")
    out = svc.note(lead["id"], REP, tricky, call_id=call["id"])
    svc.note(lead["id"], REP, "  second  ", call_id=call["id"])
    first, second = notes(svc, lead["id"])
    assert (first["id"], first["rep"], first["data"]) == (
        out.event_id,
        REP,
        {"text": tricky, "call": call["id"]},
    )
    assert second["data"]["text"] == "  second  "  # not trimmed
    assert svc.calls()[0]["notes"] == tricky + "\n" + "  second  "
    assert out.message == f"note saved on lead {lead['id']} and call #{call['id']}"


def test_d5_a_note_typed_during_the_station_s_call_goes_on_that_call(svc, make_service):
    lead = add_lead(svc)
    svc.claim(lead["id"], REP)
    call = svc.place_call(lead["id"], REP, system="manual")
    svc.note(lead["id"], REP, "wife answered")  # the screen sent it before the placement came back
    make_service().note(lead["id"], REP, "from another station")  # not that station's call
    assert svc.calls()[0]["notes"] == "wife answered"
    assert [n["data"].get("call") for n in notes(svc, lead["id"])] == [call["id"], None]


def test_d5_a_note_without_a_call(svc):
    lead = add_lead(svc)
    out = svc.note(lead["id"], REP, "owner is a landlord, owns 4 doors")
    (note,) = notes(svc, lead["id"])
    assert note["data"] == {"text": "owner is a landlord, owns 4 doors"} and out.lead_id == lead["id"]


def test_d5_notes_are_not_a_change_of_the_lead(svc):
    # a note is no state: an undo after it reverses the status before it
    lead = add_lead(svc)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.note(lead["id"], REP, "asked for 250k")
    svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["status"] == "new" and len(notes(svc, lead["id"])) == 1


def test_d5_w3_underwriter_text_carries_the_latest_notes(svc):
    lead = add_lead(svc, notes="from the list: vacant")
    for n in range(1, 5):
        svc.note(lead["id"], REP, f"note {n}")
    svc.set_status(lead["id"], "needs-offer", REP)
    payload = json.loads(svc.db.conn.execute("SELECT payload FROM outbox").fetchone()[0])
    assert payload["notes"] == "from the list: vacant\nnote 2\nnote 3\nnote 4"
    assert [n["text"] for n in payload["latest_notes"]] == ["note 2", "note 3", "note 4"]
    assert payload["latest_notes"][0]["rep"] == REP


def test_w14_a_note_on_another_reps_lead_is_refused(svc):
    lead = add_lead(svc)
    svc.claim(lead["id"], NEWBIE)
    with pytest.raises(Refused, match="held by newbie"):
        svc.note(lead["id"], REP, "hello")
    assert notes(svc, lead["id"]) == []


def test_f2_a_note_on_a_lead_on_another_reps_screen_is_refused(make_service):
    svc, other = make_service("wholesale"), make_service("wholesale")
    lead = add_lead(svc)
    other.reserve(NEWBIE, [lead["id"]])
    with pytest.raises(Refused, match="on newbie's screen"):
        svc.note(lead["id"], REP, "hello")


def test_f1_a_note_on_a_lead_that_changed_hands_since_it_was_seen_is_refused(svc):
    lead = add_lead(svc)
    svc.claim(lead["id"], NEWBIE)
    with pytest.raises(Refused, match="was taken by newbie"):
        svc.note(lead["id"], REP, "hello", seen=Seen(owner=None))


def test_d5_a_note_after_the_lead_was_killed_is_kept(svc):
    lead = add_lead(svc)
    svc.set_status(lead["id"], "dead-deal", REP)
    svc.note(lead["id"], REP, "owner passed away; estate handles it")
    assert len(notes(svc, lead["id"])) == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("x" * 4001, "a note is at most 4,000 characters; this one has 4,001"),
        ("", "a note needs some text"),
        (" \n\t", "a note needs some text"),
        ("bad \udcff byte", "a note must be UTF-8 text"),
    ],
)
def test_d5_a_bad_note_is_a_one_line_error_and_stores_nothing(svc, text, message):
    lead = add_lead(svc)
    with pytest.raises(LeadtuiError) as info:
        svc.note(lead["id"], REP, text)
    assert str(info.value) == message and not isinstance(info.value, Refused)
    assert notes(svc, lead["id"]) == []


def test_d5_a_nul_is_kept_on_sqlite_and_a_one_line_error_on_postgresql(svc):
    lead = add_lead(svc)
    if svc.db.engine == "sqlite":
        svc.note(lead["id"], REP, "a \x00 b")
        assert notes(svc, lead["id"])[0]["data"]["text"] == "a \x00 b"
        return
    with pytest.raises(LeadtuiError) as info:
        svc.note(lead["id"], REP, "a \x00 b")
    assert str(info.value) == "a note can't hold a NUL character on a PostgreSQL floor"
    assert notes(svc, lead["id"]) == []


def test_d5_a_note_of_4000_characters_is_kept_whole(svc):
    lead = add_lead(svc)
    svc.note(lead["id"], REP, "é" * 4000)
    assert notes(svc, lead["id"])[0]["data"]["text"] == "é" * 4000


def test_d5_a_note_on_another_leads_call_is_refused(svc):
    lead, other = add_lead(svc), add_lead(svc)
    svc.claim(lead["id"], REP)
    call = svc.place_call(lead["id"], REP, system="manual")
    with pytest.raises(LeadtuiError, match=f"lead {other['id']} has no call #{call['id']}"):
        svc.note(other["id"], REP, "hello", call_id=call["id"])
