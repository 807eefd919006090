"""D4 opt-outs: a reply that is an opt-out word marks its number DNC at once (an event, in the reply's
transaction), cancels the texts to it not yet sent, shows "opted out"; and the real `sms` target
refuses a DNC number when a text goes (a Twilio-shaped server on 127.0.0.1 sees nothing)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from conftest import REP, START, add_lead, run_cli
from test_automation_targets import Sink, write_config
from ui_floor import build_floor, isolate, press, settings

from leadtui.automation.worker import retry
from leadtui.core.optout import opt_out
from leadtui.service import Service
from leadtui.store.db import connect

pytestmark = [pytest.mark.usefixtures("isolated_dirs"), pytest.mark.engines]  # user folders in tmp_path

UNDERWRITER = "(786) 555-0142"  # the underwriter's phone: texts to it are not texts to a lead
CONFIG = """
[automation]
mode = "dispatch"
[automation.routes]
send_contract_link = "seller"
text_underwriter = "underwriter"
[automation.targets.seller]
kind = "sms"
api_base = "{url}"
account_sid = "AC0123456789abcdef"
auth_token_env = "TEST_TWILIO_TOKEN"
from = "+15555550100"
to = "{{lead.phone}}"
timeout_seconds = 2
[automation.targets.underwriter]
kind = "sms"
api_base = "{url}"
account_sid = "AC0123456789abcdef"
auth_token_env = "TEST_TWILIO_TOKEN"
from = "+15555550100"
to = "{underwriter}"
timeout_seconds = 2
"""


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """The dispatch config, its SMS targets aimed at `url` (a Sink's, or nowhere when none is up)."""
    monkeypatch.setenv("TEST_TWILIO_TOKEN", "tok-secret")

    def make(url: str = "http://127.0.0.1:9"):
        return write_config(tmp_path, CONFIG.format(url=url, underwriter=UNDERWRITER))

    return make


def actions(svc, lead_id: int) -> dict[str, tuple[str, str | None]]:
    return {a["action"]: (a["state"], a["last_error"]) for a in svc.outbox(lead_id=lead_id)}


def texts_queued(svc, phones: int = 1) -> dict:
    """A lead of alice's with the contract link (to the lead's phone) and the underwriter text queued,
    and the appointment action (logged, no text) too."""
    lead = add_lead(svc, phones=phones)
    svc.set_status(lead["id"], "needs-offer", REP)
    svc.set_status(lead["id"], "appointment-booked", REP, at="2026-11-25T14:30")
    svc.set_status(lead["id"], "send-contract", REP)
    assert {a: s for a, (s, _) in actions(svc, lead["id"]).items()} == {
        "text_underwriter": "pending",
        "appointment_booked": "pending",
        "send_contract_link": "pending",
    }
    return lead


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        ("stop.", "STOP"),
        (" Stop ", "STOP"),
        ("STOP!", "STOP"),
        ("Stop!!!\n", "STOP"),
        ('"stop"', "STOP"),
        ("STOP STOP", "STOP"),
        ("🛑 STOP 🛑", "STOP"),
        ("ＳＴＯＰ", "STOP"),  # full-width letters, as some phones send them
        ("STOPALL", "STOPALL"),
        ("stop all", "STOPALL"),
        ("Stop-All", "STOPALL"),
        ("UNSUBSCRIBE", "UNSUBSCRIBE"),
        ("unsubscribe.", "UNSUBSCRIBE"),
        ("Cancel", "CANCEL"),
        ("end", "END"),
        ("QUIT", "QUIT"),
        ("revoke", "REVOKE"),
        ("OPTOUT", "OPTOUT"),
        ("opt out", "OPTOUT"),
        ("opt-out", "OPTOUT"),
        ("Opt Out!", "OPTOUT"),
        ("opt_out", "OPTOUT"),
        ("don't stop calling", None),
        ("I can't stop by today", None),
        ("STOP texting me", None),
        ("[red]STOP[/red] texting me", None),
        ("Please stop", None),
        ("stopping", None),
        ("stop2", None),
        ("quite", None),
        ("weekend", None),
        ("opt", None),
        ("all", None),
        ("out", None),
        ("", None),
        ("  ?! ", None),
        ("Call me after 5pm", None),
    ],
)
def test_d4_opt_out_words(text, word):
    assert opt_out(text) == word


# --- the reply in -------------------------------------------------------------------------------


def test_d4_opt_out_marks_that_phone_dnc_as_a_system_event_undo_keeps_it(make_service, cfg):
    svc = make_service(automation=cfg().automation)
    lead = add_lead(svc, phones=2)
    number = lead["phones"][0]["number"]
    other = add_lead(svc, phones=[number])  # the same number on a second lead: DNC belongs to the number
    svc.set_status(lead["id"], "needs-offer", REP)  # alice's last action, inside the undo window

    reply = svc.add_reply(number, " Stop. ", START)

    got = svc.lead(lead["id"], events=True)
    assert [(p["position"], bool(p["dnc"])) for p in got["phones"]] == [(1, True), (2, False)]
    event = got["events"][-1]
    assert (event["kind"], event["rep"]) == ("opted_out", None)
    assert event["data"] == {"reply": reply, "word": "STOP", "phone": 1, "number": number}
    assert svc.lead(other["id"], events=True)["events"][-1]["kind"] == "opted_out"
    assert svc.lead(other["id"])["phones"][0]["dnc"]
    # alice's undo reverses her status, never the opt-out
    svc.undo(lead["id"], REP)
    assert svc.lead(lead["id"])["phones"][0]["dnc"]
    # the same reply again is already in: nothing more happens
    assert svc.add_reply(number, " Stop. ", START) is None
    assert [e["kind"] for e in svc.lead(lead["id"], events=True)["events"]].count("opted_out") == 1


def test_d4_pending_texts_to_that_phone_cancelled_not_the_underwriters(make_service, cfg):
    svc = make_service(automation=cfg().automation)
    lead = texts_queued(svc, phones=2)
    first, second = (p["number"] for p in lead["phones"])

    svc.add_reply(second, "STOP", START)  # not the phone the contract link goes to: nothing cancelled
    assert {a: s for a, (s, _) in actions(svc, lead["id"]).items()} == {
        "text_underwriter": "pending",
        "appointment_booked": "pending",
        "send_contract_link": "pending",
    }

    reply = svc.add_reply(first, "opt-out", START)
    now = actions(svc, lead["id"])
    assert now["text_underwriter"] == ("pending", None)  # a text to the underwriter is not to that phone
    assert now["appointment_booked"] == ("pending", None)  # logged, never a text
    state, why = now["send_contract_link"]
    assert state == "cancelled" and f"{first} opted out (reply {reply}: OPTOUT)" in why
    link = next(a for a in svc.outbox(lead_id=lead["id"]) if a["action"] == "send_contract_link")
    event = svc.lead(lead["id"], events=True)["events"][-1]
    assert event["kind"] == "opted_out" and event["data"]["cancelled"] == [
        f"send_contract_link #{link['id']}"
    ]


def test_d4_a_sentence_with_the_word_does_nothing(make_service, cfg):
    svc = make_service(automation=cfg().automation)
    lead = texts_queued(svc)
    number = lead["phones"][0]["number"]
    before = svc.lead(lead["id"], events=True)["events"]
    for body in ("don't stop calling", "I can't stop by today", "STOP texting me"):
        svc.add_reply(number, body, START)
    assert not svc.lead(lead["id"])["phones"][0]["dnc"]
    assert svc.lead(lead["id"], events=True)["events"] == before
    assert {a: s for a, (s, _) in actions(svc, lead["id"]).items()} == {
        "text_underwriter": "pending",
        "appointment_booked": "pending",
        "send_contract_link": "pending",
    }
    assert [r["opted_out"] for r in svc.replies()] == [False, False, False]


def test_d4_an_opt_out_from_no_lead_is_kept_and_marked(make_service):
    svc = make_service()
    add_lead(svc)
    svc.add_reply("(213) 555-0153", "QUIT", START)
    [reply] = svc.replies()
    assert (reply["lead_id"], reply["opted_out"]) == (None, True)
    assert svc.db.conn.execute("SELECT count(*) FROM phones WHERE dnc = 1").fetchone()[0] == 0


# --- the text out -----------------------------------------------------------------------------


def test_d4_sms_to_a_dnc_phone_refused_by_the_sms_target(make_service, open_worker, cfg, clock):
    """The intake here has no [automation] (a station without the dispatch config), so the contract
    link stays pending; the worker's SMS target asks the database as it goes, and refuses."""
    svc = make_service()
    lead = texts_queued(svc)
    svc.add_reply(lead["phones"][0]["number"], "Stop", START)
    assert actions(svc, lead["id"])["send_contract_link"] == ("pending", None)
    with Sink() as sink:
        worker = open_worker(cfg(sink.url))
        clock.advance(seconds=31)
        assert worker.run_once() == {"dead": 1, "sent": 1, "logged": 1}
        clock.advance(hours=2)
        assert worker.run_once() == {}  # dead: never tried again by itself
        link = next(a for a in svc.outbox(lead_id=lead["id"]) if a["action"] == "send_contract_link")
        retry(svc.db, link["id"], now=clock.now, by="boss")  # a manager's retry is refused again
        assert worker.run_once() == {"dead": 1}
    forms = [parse_qs(r["body"].decode()) for r in sink.requests]
    assert [form["To"] for form in forms] == [[UNDERWRITER]]  # only the underwriter's text went
    state, why = actions(svc, lead["id"])["send_contract_link"]
    number = lead["phones"][0]["number"]
    assert state == "dead"
    assert (
        why
        == f"{number} is DNC (opted out, or on a do-not-call list) or a litigator: no text goes to it (D4)"
    )
    event = svc.lead(lead["id"], events=True)["events"][-1]
    assert event["kind"] == "automation_dead" and "(D4)" in event["data"]["error"]


def test_d4_dnc_is_read_when_the_text_goes_not_when_it_was_queued(make_service, open_worker, cfg, clock):
    svc = make_service()
    lead = add_lead(svc)
    svc.set_status(lead["id"], "send-contract", REP)
    with Sink() as sink:
        worker = open_worker(cfg(sink.url))
        svc.db.conn.execute("UPDATE phones SET dnc = 1 WHERE lead_id = ?", (lead["id"],))  # a list, by hand
        clock.advance(seconds=31)
        assert worker.run_once() == {"dead": 1}
        lead2 = add_lead(svc)
        svc.set_status(lead2["id"], "send-contract", REP)
        clock.advance(seconds=31)
        assert worker.run_once() == {"sent": 1}  # not DNC: the text goes
    assert len(sink.requests) == 1


def test_d4_a_litigator_phone_gets_no_text_either(make_service, open_worker, cfg, clock):
    svc = make_service()
    lead = add_lead(svc)
    svc.set_status(lead["id"], "send-contract", REP)
    svc.db.conn.execute("UPDATE phones SET litigator = 1 WHERE lead_id = ?", (lead["id"],))
    with Sink() as sink:
        worker = open_worker(cfg(sink.url))
        clock.advance(seconds=31)
        assert worker.run_once() == {"dead": 1}
    assert sink.requests == []


def test_d4_opt_out_while_the_text_is_in_flight_cancels_it_and_says_so(make_service, open_worker, cfg, clock):
    svc = make_service()
    lead = add_lead(svc)
    number = lead["phones"][0]["number"]
    svc.set_status(lead["id"], "send-contract", REP)
    config = cfg()
    station = make_service(automation=config.automation)  # a second station, which knows the routes
    replied = []
    with Sink(hold=lambda n: replied.append(station.add_reply(number, "STOP", START))) as sink:
        worker = open_worker(cfg(sink.url))
        clock.advance(seconds=31)
        assert worker.run_once() == {"sent": 1}  # it had passed the DNC check and gone
    assert len(sink.requests) == 1 and replied
    [link] = svc.outbox(lead_id=lead["id"])
    *_, opted, sent = svc.lead(lead["id"], events=True)["events"]
    assert opted["kind"] == "opted_out"
    assert opted["data"]["cancelled"] == opted["data"]["in_flight"] == [f"send_contract_link #{link['id']}"]
    assert sent["kind"] == "automation_sent" and "cancelled while in flight" in sent["data"]["note"]


# --- the command line and the screen ----------------------------------------------------------


def test_d4_inbox_import_marks_opt_outs_in_the_replies_list(cli_env, monkeypatch):
    monkeypatch.setenv("TEST_TWILIO_TOKEN", "tok-secret")
    config = cli_env / "config.toml"
    config.write_text(CONFIG.format(url="http://127.0.0.1:9", underwriter=UNDERWRITER))
    monkeypatch.setenv("LEADTUI_CONFIG", str(config))
    run_cli("init", "--test-clock")
    run_cli("reps", "add", REP, "--started", "2025-01-01")
    added = json.loads(
        run_cli(
            "add", "--owner", "Ann Lee", "--phone", "305-555-0188", "--address", "9 Oak Ave", "--json"
        ).stdout
    )
    run_cli("set", str(added["id"]), "send-contract", "--rep", REP)
    replies = cli_env / "replies.csv"
    replies.write_text(
        "From,Body,Received At\n"
        "(305) 555-0188,don't stop calling,2026-11-20T09:00:00\n"
        "(305) 555-0188,STOP!,2026-11-20T10:00:00\n"
    )
    summary = json.loads(run_cli("inbox", "import", str(replies), "--json").stdout)
    assert (summary["added"], summary["matched"], summary["opted_out"]) == (2, 2, 1)
    listed = json.loads(run_cli("inbox", "--json").stdout)
    assert [(r["body"], r["opted_out"]) for r in listed] == [("don't stop calling", False), ("STOP!", True)]
    text = run_cli("inbox").stdout.splitlines()
    assert "[opted out] STOP!" in text[1] and "opted out" not in text[0]
    shown = json.loads(run_cli("show", str(added["id"]), "--json").stdout)
    assert shown["phones"][0]["dnc"]
    assert shown["events"][-1]["kind"] == "opted_out"
    outbox = json.loads(run_cli("outbox", "--json").stdout)
    assert [(a["action"], a["state"]) for a in outbox] == [("send_contract_link", "cancelled")]


async def test_d4_drip_replies_view_shows_opted_out(tmp_path, monkeypatch):
    from leadtui.ui.app import Leadtui
    from leadtui.ui.inbox_views import Replies

    path = isolate(tmp_path, monkeypatch)
    ids = build_floor(path)
    svc = Service(connect(path))
    try:
        number = svc.lead(ids["two_phones"])["phones"][0]["number"]
        svc.add_reply(number, "UNSUBSCRIBE", START - timedelta(minutes=10))
    finally:
        svc.close()
    app = Leadtui(path, settings(tmp_path), REP)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.02)
            if app.floor is not None and app.floor.list.rows:
                break
        await press(pilot, "i")
        assert isinstance(app.screen, Replies)
        table = app.screen.query_one("DataTable")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    by_body = {row[-1]: row for row in rows}
    assert "opted out" in by_body["UNSUBSCRIBE"]
    assert "opted out" not in by_body["Call me after 5 [b]please[/b]"]
