"""The floor: tabs with counts, the lead list, the claim panel and the status keybar."""

from __future__ import annotations

import gc
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from leadtui.core.facts import parse_filters
from leadtui.errors import LeadtuiError
from leadtui.service.writer import Job
from leadtui.ui.calls import CallKeys
from leadtui.ui.dialogs import Ask, ConfirmSold, Pick
from leadtui.ui.inbox import InboxKeys, ask_why
from leadtui.ui.keybar import KeyBar
from leadtui.ui.panel import ClaimPanel
from leadtui.ui.presence import StationKeys
from leadtui.ui.queue import LeadList
from leadtui.ui.style import group_style, plain

PAGE = 100
SAY_SECONDS = 6  # how long the undo toast stays
COUNT_SECONDS = 1.5  # tab counts and KPIs trail key presses by at most this
COUNT_SHARE = 20  # ... and no sooner than this many times the last count's length after it
DETAILS_KEPT = 64  # leads whose panel is kept as last read, until the floor changes (a re-list)
DETAILS_SECONDS = 20.0  # ... or this long: B3's calling window moves with the clock
RELIST_SECONDS = 0.3  # the queue re-lists this long after the rep's last write landed
READS = {"next-phone", "previous-phone", "floor-view"}  # keys whose action reads first (no dialog)


@dataclass(frozen=True)
class Tab:
    """A pipeline tab: the call queue, or leads of some statuses (dead ones for a killing group)."""

    label: str
    statuses: tuple[str, ...] = ()
    dead: bool = False
    group: str = ""


def pipeline_tabs(playbook) -> list[Tab]:
    """Queue first, then one tab per status group (B1) or, as the playbook says, per status (L3)."""
    if playbook.tabs == "status":
        return [Tab("Queue")] + [
            Tab(s.label, (s.id,), s.ownership == "kill", s.group) for s in playbook.statuses
        ]
    tabs = [Tab("Queue")]
    for group in playbook.groups:
        members = playbook.in_group(group.id)
        if members:
            tabs.append(
                Tab(
                    group.label,
                    tuple(s.id for s in members),
                    all(s.ownership == "kill" for s in members),
                    group.id,
                )
            )
    return tabs


class Floor(InboxKeys, StationKeys, CallKeys, Screen):
    """The rep's station. Bindings come from the key table (see ui.keys); the app builds the subclass."""

    DEFAULT_CSS = """
    Floor #title { background: $boost; padding: 0 1; height: 1; }
    Floor #tabs { height: auto; padding: 0 1; }
    Floor #body { height: 1fr; }
    Floor #left { width: 1fr; }
    Floor #queue { height: 1fr; overflow-x: hidden; }
    Floor #search { display: none; }
    Floor #search.shown { display: block; }
    Floor #panel { width: 42%; min-width: 32; max-width: 64; height: 1fr; border-left: solid $primary-darken-2;
                   padding: 0 1; overflow-y: auto; }
    Floor #said { height: 1; padding: 0 1; background: $boost; color: $text; }
    Floor #call { display: none; height: 1; padding: 0 1; background: $accent 30%; }
    Floor #call.shown { display: block; }
    Floor #note { display: none; }
    Floor #note.shown { display: block; }
    Floor #keybar { height: auto; border-top: solid $primary-darken-2; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.tabs = pipeline_tabs(self.app.svc.playbook)
        self.tab = 0
        self.excluded = False
        self.query_text = ""
        self.cursor: tuple | int | None = None  # where the next page starts
        self.generation = 0  # pages from an older listing are dropped
        self.shown = 0  # the listing whose first page is on screen
        self._keeping: int | None = None  # the lead the newest listing keeps under the cursor
        self._tabs_shown: Text | None = None
        self._details: dict[int, tuple[float, dict, str | None]] = {}  # lead -> (read at, it, why not)
        self._on_panel: int | None = None  # the lead the claim panel shows
        self._panel_due = False  # the panel is to follow the cursor after the next frame
        self._at_load: int | None = None  # the lead under the cursor when it began loading
        self.counts: dict[str, int] = {}
        self.kpis: dict = {}
        self._count_timer = None
        self._counted = (-math.inf, 0.0)  # when the last count began, and how long it took
        self._said_timer = None
        self.pending: Counter[int | None] = Counter()  # keys queued on the writer, per lead (F3)
        # the lead list (kept, not looked up in the DOM on every key); it calls `highlighted` itself
        self.list = LeadList(id="queue", pending=self.pending, highlighted=self.highlighted)
        self._relist_timer = None
        self._pick_first = True  # the first reservation after a fresh listing may skip leads on other screens
        self.reserved_at = 0.0  # when the lead on screen was last reserved (renewed by the app's poll)
        self.reserving: int | None = None  # the lead the last reservation asked for
        playbook = self.app.svc.playbook
        self.chosen = {}
        self._early = {}
        self.noting: dict | None = None  # the lead the note box writes on
        self.asks_why = set(self.app.svc.approval_statuses(self.app.rep))  # W13: a request asks a reason
        asks = {"followup", "assign", "note", "pick-phone", "pause"} | {
            s.id for s in playbook.statuses if _asks(s)
        }
        asks |= self.asks_why
        self.dialog_keys = {key for k in self.app.table if k.id in asks for key in k.keys.split(",")}
        # keys whose action reads first (off the screen's thread): what follows waits for it (F3)
        self.read_keys = {key for k in self.app.table if k.id in READS for key in k.keys.split(",")}

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="call")
        yield Static(id="tabs")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Input(
                    placeholder="search: name, address, phone, status:ID — enter to search, escape to clear",
                    id="search",
                )
                yield self.list
                yield Input(placeholder="the note — enter saves it, escape drops it", id="note")
            yield ClaimPanel(id="panel")
        yield Static(id="said")
        yield KeyBar(self.app.table, id="keybar")

    def on_mount(self) -> None:
        self.list.focus()
        self.load()
        # What start-up built (modules, styles, the widget tree) lives as long as the station: frozen,
        # the cyclic GC stops walking it on every full collection (bench_tui: key p99 58 -> 48 ms)
        self.call_after_refresh(gc.freeze)
        self.set_interval(1, self.tick_call)

    # --- listing -----------------------------------------------------------------------------

    def load(self, keep: int | None = None) -> None:
        """(Re)list from the top for the current tab, search and toggle; slow reads go to a worker.
        While a listing is still loading, the row under the cursor is the old listing's: the lead
        kept is the one that listing keeps, unless it is a re-list of the same view and the rep
        has moved since it began (then it is the rep's lead)."""
        here = self.list.current
        moved = keep is not None and here is not None and here["id"] != self._at_load
        if self.shown != self.generation and (self._keeping is None or not moved):
            keep = self._keeping
        self._keeping = keep
        self._at_load = self.list.current["id"] if self.list.current else None
        self.generation += 1
        self.cursor = None
        self._details.clear()  # something changed on the floor: leads are shown as read from now on
        self.list.empty_text = "Loading…"
        self._page(self.generation, None, keep, self._loaded_count())
        self.show_title()

    def _loaded_count(self) -> int:
        return max(len(self.list.rows), PAGE)

    @work(thread=True, group="pages")
    def _page(self, generation: int, cursor, keep: int | None = None, want: int = PAGE) -> None:
        rows, more_at = [], cursor
        while True:
            got, more_at = self.app.read(partial(self._fetch, cursor=more_at))
            rows += got
            if more_at is None or (len(rows) >= want and got):
                break
        kept = None
        if keep is not None and keep not in {
            r["id"] for r in rows
        }:  # F1: it stays, marked, until the rep moves on
            kept = self.app.read(lambda svc: svc.gone(keep, self.app.rep))
        self.app.call_from_thread(self._show_page, generation, cursor is None, rows, more_at, keep, kept)

    def _key(self, control: str) -> str:
        return next(k.display for k in self.app.table if k.id == control)

    def _in_queue(self) -> bool:
        """Whether the call queue is listed (not a tab, a search or the excluded list)."""
        return not (self.query_text or self.excluded or self.tabs[self.tab].statuses)

    def _fetch(self, svc, cursor):
        """One page for what is shown, and where the next starts: the queue has its own cursor, the
        other listings page by lead id."""
        rep, tab = self.app.rep, self.tabs[self.tab]
        if self._in_queue():
            return svc.queue(rep, cursor or ("due", 0), PAGE)
        if self.query_text:
            text, status = _parse_search(self.query_text, svc.playbook)
            rows = svc.search(
                rep,
                text=text or None,
                status=status,
                dead=bool(status and _kills(svc.playbook, status)),
                after=cursor or 0,
                limit=PAGE,
            )
        elif self.excluded:
            rows = svc.left_out(rep, after=cursor or 0, limit=PAGE)
        else:
            rows = svc.search(rep, statuses=tab.statuses, dead=tab.dead, after=cursor or 0, limit=PAGE)
        return rows, (rows[-1]["id"] if len(rows) == PAGE else None)

    def closed(self) -> bool:
        """The app is closing and its widgets are gone: a worker's result came too late to show."""
        return not self.list.is_attached

    def _show_page(
        self,
        generation: int,
        first: bool,
        rows: list[dict],
        cursor,
        keep: int | None,
        kept: dict | None = None,
    ) -> None:
        if generation != self.generation or self.closed():
            return
        self.cursor = cursor
        self.list.empty_text = (
            "Nothing left out."
            if self.excluded
            else "Nothing here."
            if not self._in_queue()
            else (
                f"Nothing to call now: {self._key('excluded')} lists every lead left out and why "
                "(calling hours and when they open, next-call dates, leads others hold)"
            )
        )
        if first:
            here = self.list.current
            if keep is not None and here is not None and here["id"] != self._at_load:
                keep = here["id"]  # the rep moved while it loaded: their lead, not the one before
                if keep not in {r["id"] for r in rows}:
                    if not here.get("gone"):
                        self.load(keep=keep)  # why it left the listing is read with the next (F1)
                        return
                    kept = here
            self.shown = generation
            self._pick_first = keep is None
            self.list.set_rows(rows, cursor is not None, keep, kept)
            self.counts_soon(0.05)  # after the first page: counting shares its connection
        else:
            self.list.add_rows(rows, cursor is not None)

    def on_lead_list_need_more(self) -> None:
        if self.cursor is not None:
            self._page(self.generation, self.cursor)

    def highlighted(self, lead: dict | None) -> None:
        """The cursor is on another lead (or on none): its reservation at once, and its panel once
        the row has repainted (the cursor answers the key in the next frame, the panel a frame
        later; moves faster than frames fill the panel once, for the lead they end on)."""
        if lead is None or lead["id"] != self.reserving:  # a key may have asked already
            self.reserve()
        if not self._panel_due:
            self._panel_due = True
            self.call_after_refresh(self._panel_for_cursor)

    def _panel_for_cursor(self) -> None:
        self._panel_due = False
        if not self.closed():
            current = self.list.current
            self.show_lead(current["id"] if current else None)

    # --- F2: the lead on screen is reserved for this rep ---------------------------------------

    def reserve(self) -> None:
        """Reserve the lead under the cursor (after a fresh listing, the first one free from there on)."""
        if self.closed() or self.app.paused is not None:  # a paused station holds no lead
            return
        lead = self.list.current
        if lead is not None and lead.get("gone"):
            return
        rep, queue, generation = self.app.rep, self._in_queue(), self.generation
        if lead is None or lead["dead"]:
            self.reserving = None
            self.app.writer.submit(
                Job(None, lambda svc, seen: svc.unreserve(), lambda *_: None, reserve=True)
            )
            return
        ids = [lead["id"]]
        first = self._pick_first and queue
        if first:
            ids += [
                r["id"]
                for r in self.list.rows[self.list.cursor + 1 : self.list.cursor + 20]
                if not r.get("gone")
            ]

        def done(got: int | None, _after) -> None:
            if (
                got == lead["id"]
                or self.closed()
                or generation != self.generation
                or self.list.current is not lead
            ):
                return
            if first and got is not None:
                self.list.move_to(next(i for i, r in enumerate(self.list.rows) if r["id"] == got))
                self.say(f"Lead {lead['id']} is on another station's screen: you are on lead {got}")
            elif queue:
                self.load(keep=lead["id"])  # it stays, marked with who has it

        self._pick_first = False
        self.reserved_at = time.monotonic()
        self.reserving = lead["id"]
        self.app.writer.submit(Job(None, lambda svc, seen: svc.reserve(rep, ids), done, reserve=True))

    async def shown_lead(self, lead: dict) -> dict | None:
        """`lead` with its phones and events: as the panel read it, or else read now off the screen's
        thread; None, said, if it can't be read (gone meanwhile)."""
        if lead["id"] in self._details:
            return self._details[lead["id"]][1]
        try:
            return await self.app.read_off(lambda svc: svc.lead(lead["id"], events=True))
        except LeadtuiError as exc:
            self.say(self.app.about(lead, str(exc)))
            return None

    def show_lead(self, lead_id: int | None) -> None:
        """Fill the claim panel for the lead under the cursor. The screen never reads the database
        itself (F3): a reader worker reads the lead (and the next row's, so `j` finds it read), and
        what it read shows at once until the floor changes (a re-list) or DETAILS_SECONDS pass. A
        lead not read yet shows its name while it loads."""
        if lead_id is None:
            self._panel(None, None)
            return
        fresh = time.monotonic() - DETAILS_SECONDS
        if lead_id in self._details:
            self._panel(*self._details[lead_id][1:])
        elif self._on_panel != lead_id:
            row = self.list.current
            self.query_one(ClaimPanel).loading(
                row if row is not None and row["id"] == lead_id else {"id": lead_id}
            )
            self._on_panel = lead_id
        at = self.list.cursor
        after = self.list.rows[at + 1]["id"] if 0 <= at < len(self.list.rows) - 1 else None
        wanted = [i for i in (lead_id, after) if i is not None and self._details.get(i, (0.0,))[0] < fresh]
        if wanted:
            self._read_details(wanted)

    @work(thread=True, group="panel")
    def _read_details(self, ids: list[int]) -> None:
        def read(svc) -> dict:
            return {i: (time.monotonic(), svc.lead(i, events=True), svc.why_not(i)) for i in ids}

        try:
            got = self.app.read(read)
        except LeadtuiError:  # gone meanwhile (row security, a kill): the list says so on its next read
            return
        self.app.call_from_thread(self._got_details, got)

    def _got_details(self, got: dict[int, tuple[float, dict, str | None]]) -> None:
        if self.closed():
            return
        if len(self._details) > DETAILS_KEPT:
            self._details.clear()
        self._details.update(got)
        current = self.list.current
        if current is not None and current["id"] in got:
            self._panel(*got[current["id"]][1:])

    def _panel(self, lead: dict | None, why: str | None) -> None:
        svc = self.app.svc
        self._on_panel = lead["id"] if lead else None
        run = next((s.run_length for s in svc.playbook.statuses if s.dial), 3)
        self.query_one(ClaimPanel).show(
            lead,
            rep=self.app.rep,
            now=svc.now(),
            why=why,
            run_length=run,
            kpis=self.kpis,
            suggest=self._suggest(lead),
            chosen=self.chosen.get(lead["id"]) if lead is not None else None,
        )

    def _suggest(self, lead: dict | None) -> str:
        """L2: the playbook's next stages for the lead's status, with their keys; the rep decides."""
        if lead is None or lead["dead"]:
            return ""
        keys = {k.id: k.display for k in self.app.table}
        status = self.app.svc.playbook.status(lead["status"])
        return " or ".join(
            f"{self.app.svc.playbook.status(s).label} ({keys.get(s, '')})" for s in status.suggest
        )

    @work(thread=True, group="counts", exclusive=True)
    def refresh_counts(self) -> None:
        """Tab counts and today's KPIs, read off the UI thread."""
        rep = self.app.rep

        def read(svc):
            counts = svc.counts(rep, include_dead=True)
            kpis = svc.kpis(day=svc.now().date().isoformat(), rep=rep)
            return counts, (kpis[0] if kpis else {})

        began = time.monotonic()
        counts, kpis = self.app.read(read)
        self._counted = (began, time.monotonic() - began)
        self.app.call_from_thread(self._show_counts, counts, kpis)

    def _show_counts(self, counts: dict[str, int], kpis: dict) -> None:
        if self.closed():
            return
        self.counts, self.kpis = counts, kpis
        self.show_title()
        current = self.list.current
        self.show_lead(current["id"] if current else None)

    def show_title(self) -> None:
        app = self.app
        mode = (
            "left out of the queue"
            if self.excluded
            else f"search: {self.query_text}"
            if self.query_text
            else ""
        )
        mode = " · ".join(m for m in (self.inbox_note(), mode) if m)
        mode = " · ".join(m for m in (self.station_note(), mode) if m)
        self.query_one("#title", Static).update(  # one line, always: a repaint, no layout
            Text(
                f"leadtui · {app.rep} · {app.svc.playbook.name}{' · ' + mode if mode else ''}", no_wrap=True
            ),
            layout=False,
        )
        tabs = Text()
        for i, tab in enumerate(self.tabs):
            count = sum(self.counts.get(s, 0) for s in tab.statuses) if tab.statuses else None
            label = f" {tab.label}{f' {count:,}' if count is not None else ''} "
            style = group_style(app.theme_variables, tab.group) if tab.group else "bold"
            tabs.append(label, style=style + (" reverse" if i == self.tab else ""))
            tabs.append(" ")
        self._show_tabs(tabs)

    def _show_tabs(self, tabs: Text) -> None:
        """The tab line, laid out again only when it wraps to another height: counts change every
        second or so on a busy floor, and a layout of the whole screen costs ~20 ms."""
        shown = self.query_one("#tabs", Static)
        if tabs == self._tabs_shown:
            return
        width = shown.content_region.width
        same = width > 0 and len(tabs.wrap(self.app.console, width)) == shown.content_region.height
        self._tabs_shown = tabs
        shown.update(tabs, layout=not same)

    # --- the rep's keys ------------------------------------------------------------------------

    def current(self, *, undo: bool = False) -> dict | None:
        """The lead a key acts on: the row under the cursor. A row that left the rep's view is refused
        (but undo may still act on it) until the rep moves on (F1)."""
        lead = self.list.current
        if lead is None:
            self.app.no_dialog()
            self.notify("No lead selected.", severity="warning")
        elif lead.get("gone") and not undo:
            self.app.no_dialog()  # a key that would have opened a dialog opens none
            self.notify(
                plain(self.app.about(lead, f"{lead['gone']}; move on with j/k")),
                title="Refused",
                severity="warning",
                markup=False,
            )
            return None
        elif lead["id"] in self.chosen:
            lead = {**lead, "current_phone": self.chosen[lead["id"]]}
        return lead

    def action_cursor(self, delta: int) -> None:
        self.list.move(delta)

    def action_status(self, status_id: str) -> None:
        lead = self.current()
        if lead is None:
            return
        st = self.app.svc.playbook.status(status_id)
        if _asks(st) or st.id in self.asks_why:
            self._ask_then_set(lead, st)
        else:
            self.set_status(lead, st.id, {})

    @work(group="dialog")
    async def _ask_then_set(self, lead: dict, st) -> None:
        """The status's questions in turn; keys typed ahead go to each in order (F3)."""
        try:
            inputs: dict = {}
            if "appointment_at" in st.requires:
                now, zone = self.app.svc.now(), lead.get("zone")
                at = await self.app.ask_wait(
                    Ask(
                        f"{st.label}: when?",
                        "The appointment's date and time, lead-local (YYYY-MM-DD HH:MM).",
                        placeholder="2026-12-01 15:00",
                        check=lambda text: _check_at(text, now, zone),
                    )
                )
                if at is None:
                    return
                inputs["at"] = at.strip().replace(" ", "T", 1)
            if "amount" in st.requires + st.optional:
                amount = await self.app.ask_wait(
                    Ask(
                        f"{st.label}: amount",
                        "The offer amount — enter skips.",
                        placeholder="125000",
                        check=_check_amount,
                    )
                )
                if amount is None:
                    return
                if amount.strip():
                    inputs["amount"] = _amount(amount)
            if st.confirm_sources:
                try:
                    others = await self.app.read_off(lambda svc: svc.other_properties(lead["id"]))
                except LeadtuiError as exc:  # gone meanwhile: said, and no dialog
                    self.app.no_dialog()
                    self.say(self.app.about(lead, str(exc)))
                    return
                source = await self.app.ask_wait(ConfirmSold(st.label, others, st.confirm_sources))
                if source is None:
                    return
                inputs.update(source=source, confirm=True)
            if st.id in self.asks_why:
                why = await self.app.ask_wait(ask_why(st.label))
                if why is None:
                    return
                inputs["why"] = why
            self.set_status(lead, st.id, inputs)
        finally:
            self.app.release("closing")

    def set_status(self, lead: dict, status_id: str, inputs: dict) -> None:
        """Queue the status on the writer; when it lands, repaint (and move on when the rule says so)."""
        app = self.app
        label = app.svc.playbook.status(status_id).label
        call = self.with_call(lead)
        hang_up, call_id = call.pop("hang_up", False), call.get("call_id")
        phone = app.phone
        self.chosen.pop(lead["id"], None)

        def apply(svc, seen, pin):
            if hang_up and phone is not None:
                phone.hangup(str(call_id))  # one press: the line is dropped, then the outcome recorded
            return svc.set_status(lead["id"], status_id, app.rep, seen=seen, **inputs, **call)

        def done(outcome, after) -> None:
            self.call_done(call_id, status_id)
            if outcome.approval_id:
                self.notify(
                    plain(app.about(lead, outcome.message)),
                    title="Sent for approval",
                    timeout=8,
                    markup=False,
                )
            else:
                undo = self._key("undo")
                detail = outcome.message.removeprefix(f"{label} set").removeprefix(f"{label}: ").lstrip("; ")
                self.say(app.about(lead, f"{label} set — {undo} to undo{' · ' + detail if detail else ''}"))
            if (
                outcome.advance == "lead"
                and self.list.current is not None
                and self.list.current["id"] == lead["id"]
            ):
                self.list.move(1)

        app.act(apply, done, lead=lead)

    def pending_on(self, lead_id: int | None) -> None:
        """A key is queued on the writer: its row shows it at once."""
        self.pending[lead_id] += 1
        self.list.repaint_lead(lead_id)

    def written(self, lead_id: int | None, after: dict | None) -> None:
        """A queued write landed (or was refused): repaint its row and the panel; once nothing is
        pending, re-list so the rep's own changes show in the queue at once."""
        if self.closed():
            return
        self.pending[lead_id] -= 1
        if self.pending[lead_id] <= 0:
            del self.pending[lead_id]
        self._details.pop(lead_id, None)  # (the panel shows it as it was until the fresh read lands)
        if after is not None:
            self.list.update_lead(after)
        current = self.list.current
        self.show_lead(current["id"] if current else None)
        if self._relist_timer is not None:
            self._relist_timer.stop()
        self._relist_timer = self.set_timer(RELIST_SECONDS, self._relist)

    def _relist(self) -> None:
        """Re-list once the rep's keys have landed, so their own changes show in the queue (tags, a
        lead assigned away, one back in the pool): one queue read for a burst, not one per key."""
        self._relist_timer = None
        if not self.pending and not self.closed():
            current = self.list.current
            self.load(keep=current["id"] if current else None)

    def counts_soon(self, delay: float = COUNT_SECONDS) -> None:
        """Recount, at most once per COUNT_SECONDS: a count is a scan of the floor, a key press is not.
        On a big floor a count takes longer (~140 ms of a core at 1M leads), and counts are spaced
        COUNT_SHARE times that, so counting never takes more than a small share of the station."""
        if self._count_timer is None:
            began, took = self._counted
            due = began + max(COUNT_SECONDS, COUNT_SHARE * took) - time.monotonic()
            self._count_timer = self.set_timer(max(delay, due), self._recount)

    def _recount(self) -> None:
        self._count_timer = None
        self.refresh_counts()

    def _control(self, call, *, undo: bool = False) -> None:
        lead = self.current(undo=undo)
        if lead is not None:
            self.app.act(
                lambda svc, seen, pin: call(svc, lead["id"], seen, pin),
                lambda outcome, after: self._done(lead, outcome),
                lead=lead,
            )

    def say(self, text: str) -> None:
        """The undo toast: one line above the keybar that fades after SAY_SECONDS (a repaint, no layout)."""
        self.query_one("#said", Static).update(
            Text(plain(text), no_wrap=True, overflow="ellipsis"), layout=False
        )
        if self._said_timer is not None:
            self._said_timer.stop()
        self._said_timer = self.set_timer(
            SAY_SECONDS, lambda: self.query_one("#said", Static).update("", layout=False)
        )

    def _done(self, lead: dict, outcome) -> None:
        self.say(self.app.about(lead, outcome.message))
        for warning in outcome.warnings:
            self.notify(plain(self.app.about(lead, warning)), severity="warning", timeout=8, markup=False)

    def action_claim(self) -> None:
        self._control(lambda svc, lead, seen, pin: svc.claim(lead, self.app.rep, seen=seen))

    def action_release(self) -> None:
        self._control(lambda svc, lead, seen, pin: svc.release(lead, self.app.rep, pin, seen=seen))

    def action_undo(self) -> None:
        self._control(lambda svc, lead, seen, pin: svc.undo(lead, self.app.rep, seen=seen), undo=True)

    def action_assign(self) -> None:
        lead = self.current()
        if lead is not None:
            self.app.run_held(lambda: self._assign(lead))

    async def _assign(self, lead: dict) -> None:
        reps = [
            (r["name"], f"{r['name']}{' (manager)' if r['manager'] else ''}")
            for r in await self.app.read_off(lambda svc: svc.reps())
            if r["active"]
        ]

        def picked(name: str | None) -> None:
            if name:
                self.app.act(
                    lambda svc, seen, pin: svc.assign(lead["id"], name, self.app.rep, pin, seen=seen),
                    lambda outcome, after: self._done(lead, outcome),
                    lead=lead,
                )

        self.app.ask(Pick(f"Assign lead {lead['id']} to", reps), picked)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.add_class("shown")
        box.value = self.query_text
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "note":
            self.save_note(event.value)
        elif event.input.id == "search":
            try:
                parse_filters(event.value)  # `beds:3 equity>50000`: a filter that can't be is said here
            except LeadtuiError as exc:
                self.notify(str(exc), title="Search", severity="warning", markup=False)
                return
            self.query_text = event.value.strip()
            if not self.query_text:
                event.input.remove_class("shown")
            self.list.focus()
            self.load()

    def key_escape(self) -> None:
        """Escape leaves a search, then the excluded list, then a pipeline tab: back to the queue."""
        if self.query_one("#note", Input).has_class("shown"):
            self.noting = None
            self.close_note()
            return
        box = self.query_one("#search", Input)
        if box.has_class("shown") or self.query_text:
            box.value, self.query_text = "", ""
            box.remove_class("shown")
        elif self.excluded:
            self.excluded = False
        elif self.tab:
            self.tab = 0
        else:
            return
        self.list.focus()
        self.load()

    def action_toggle_excluded(self) -> None:
        self.excluded = not self.excluded
        self.load()

    def action_tab(self, delta: int) -> None:
        self.tab = (self.tab + delta) % len(self.tabs)
        self.excluded = False
        self.load()

    # the views load on first use: their widgets (DataTable) are not needed to start the floor

    def action_detail(self) -> None:
        from leadtui.ui.views import Detail

        lead = self.current()
        if lead is not None:
            self.app.push_screen(Detail(lead["id"]))

    def action_help(self) -> None:
        from leadtui.ui.views import Help

        self.app.push_screen(Help())

    def action_outbox(self) -> None:
        from leadtui.ui.views import Outbox

        self.app.push_screen(Outbox())

    def action_board(self) -> None:
        from leadtui.ui.board import Board

        self.app.push_screen(Board())


def _asks(status) -> bool:
    """Whether a status key opens a dialog first (an appointment, an amount, a confirmation)."""
    return bool(
        "appointment_at" in status.requires
        or "amount" in status.requires + status.optional
        or status.confirm_sources
    )


def _kills(playbook, status: str) -> bool:
    return playbook.status(status).ownership == "kill"


def _parse_search(text: str, playbook) -> tuple[str, str | None]:
    """`status:needs-offer smith` or a status label/id alone: (free text, status id)."""
    words, status = [], None
    names = {s.id: s.id for s in playbook.statuses} | {s.label.lower(): s.id for s in playbook.statuses}
    if text.lower() in names:
        return "", names[text.lower()]
    for word in text.split():
        if word.lower().startswith("status:") and word[7:].lower() in names:
            status = names[word[7:].lower()]
        else:
            words.append(word)
    return " ".join(words), status


def _check_at(text: str, now: datetime, zone: str | None) -> tuple[str | None, str]:
    """An appointment time, lead-local; one in the past is refused here, so the text stays (W4)."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return "write it as YYYY-MM-DD HH:MM", ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone)) if zone else value.astimezone()
    if value <= now:
        return f"{value:%a %b %d %H:%M} is in the past: the appointment must be later", ""
    return None, f"{value:%A %B %d %Y at %H:%M}, lead-local"


def _amount(text: str) -> float:
    """125000, $125,000 or 125k; ValueError for anything else, `inf`, `nan` and `1e309` included."""
    clean = text.strip().lower().replace("$", "").replace(",", "")
    scale = 1000 if clean.endswith("k") else 1
    value = float(clean.rstrip("k")) * scale
    if not math.isfinite(value):
        raise ValueError(f"not a finite amount: {text!r}")
    return value


def _check_amount(text: str) -> tuple[str | None, str]:
    if not text.strip():
        return None, "no amount (enter skips)"
    try:
        value = _amount(text)
    except ValueError:
        return f"{plain(text.strip()[:40])!r} is not an amount: a number, like 125000, 125,000 or 125k", ""
    return (None, f"${value:,.0f}") if value >= 0 else ("can't be negative", "")
