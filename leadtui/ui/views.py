"""The other views: lead detail with its timeline, Outbox, and help (Drip Replies, Approvals and
Callbacks are in ui.inbox)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from leadtui.core.facts import FACTS, shown
from leadtui.ui.keys import Key
from leadtui.ui.panel import event_words
from leadtui.ui.style import group_style, plain


class View(Screen):
    """A full screen opened from the floor; escape goes back, and the floor's next and previous keys
    (j/k unless remapped) move in its list."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    View > .title { text-style: bold; background: $boost; padding: 0 1; }
    View > DataTable { height: 1fr; }
    """
    TITLE_TEXT = ""
    _reading = _again = False  # a read is on its way; another was asked for meanwhile

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE_TEXT, classes="title", id="view-title", markup=False)
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """(Textual runs this after a subclass's own on_mount: a subclass doesn't call it again.)"""
        for key in self.app.table:
            if key.id in ("next", "previous"):
                self._bindings.bind(key.keys, f"move({1 if key.id == 'next' else -1})", key.label, show=False)
        self.reload()

    def action_move(self, delta: int) -> None:
        """The list's cursor down or up (a help text scrolls)."""
        tables = self.query(DataTable)
        if tables:
            (tables.first().action_cursor_down if delta > 0 else tables.first().action_cursor_up)()
        else:
            scroll = self.query_one(VerticalScroll)
            (scroll.scroll_down if delta > 0 else scroll.scroll_up)(animate=False)

    def reload(self) -> None:
        """Read what the view shows again, on a worker: the app calls this when another station changed
        something, and the screen never waits on the read (on a server, round trips). Asked while a
        read is on its way, one more follows it: never two at once, never one lost."""
        if self._reading:
            self._again = True
            return
        self._reading, self._again = True, False
        self._read(self.app)

    def fetch(self, svc: Any) -> Any:
        """What the view shows, read with the station's reader (on a worker thread: no widgets here)."""

    def show(self, got: Any) -> None:
        """Show what `fetch` read (on the screen's thread)."""

    def failed(self, exc: Exception) -> None:
        """A read refused (say, no longer a manager) or failed (the database gone): said, not a crash."""
        self.app.notify(plain(str(exc)), title=self.TITLE_TEXT, severity="error", markup=False)

    @work(thread=True, group="view")
    def _read(self, app: Any) -> None:
        """(`app` from the screen's thread: a view the closing app has let go has none of its own.)"""
        try:
            got = app.read(self.fetch)
        except Exception as exc:  # noqa: BLE001 - shown by `failed`, the screen goes on
            got = exc
        with suppress(RuntimeError):  # the app stopped meanwhile: nothing to show
            app.call_from_thread(self._got, app, got)

    def _got(self, app: Any, got: Any) -> None:
        self._reading = False
        if not (app.is_running and self.is_attached and self.is_mounted):  # closed meanwhile, or the app
            return  # is shutting down (its widgets going: a view's table may be gone already)
        if isinstance(got, Exception):
            self.failed(got)
        else:
            self.show(got)
        if self._again:
            self.reload()

    def fill(self, columns: tuple[str, ...], rows: list[tuple], keys: list[str], empty: str) -> None:
        """Fill the list afresh; the cursor stays on the row it was on (another station's change
        re-reads the list, and must not move the rep's place in it)."""
        table = self.query_one(DataTable)
        was = self.selected()
        table.clear(columns=True)
        table.add_columns(*columns)
        for key, row in zip(keys, rows, strict=True):
            table.add_row(*(Text(plain(cell)) for cell in row), key=key)
        if was is not None and str(was) in keys:
            table.move_cursor(row=keys.index(str(was)), animate=False)
        self.query_one("#view-title", Static).update(f"{self.TITLE_TEXT} — {len(rows) or empty}")

    def selected(self) -> int | None:
        """The highlighted row's id; None while the list is empty or not shown yet (a key typed
        ahead of it acts on nothing: never on a row the user has not seen)."""
        table = next(iter(self.query(DataTable)), None)
        if table is None or not table.row_count:
            return None
        return int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


class Detail(View):
    """B4: one lead with every field and its whole timeline."""

    TITLE_TEXT = "Lead detail"
    DEFAULT_CSS = """
    Detail VerticalScroll { height: auto; max-height: 50%; }
    """

    def __init__(self, lead_id: int) -> None:
        super().__init__()
        self.lead_id = lead_id

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="fields")
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def fetch(self, svc: Any) -> dict:
        return svc.lead(self.lead_id, events=True)

    def show(self, lead: dict) -> None:
        fields = Text()
        for key in (
            "owner_name",
            "address",
            "city",
            "state",
            "zip",
            "mailing_address",
            "mailing_city",
            "mailing_state",
            "mailing_zip",
            "apn",
            "county",
            "source_list",
            "source_status",
            "owner",
            "hold_until",
            "next_call_at",
            "followup_requested_at",
            "callback",
            "cooloff_until",
            "appointment_at",
            "offer_amount",
            "contract_path",
            "notes",
        ):
            if lead[key] not in (None, ""):
                fields.append(f"{key.replace('_', ' '):>22}  ", style="dim")
                fields.append(f"{plain(lead[key])}\n")
        for email in lead["emails"]:
            fields.append(f"{'email':>22}  ", style="dim")
            fields.append(f"{plain(email)}\n")
        for fact in FACTS:  # the vendor's property facts, each in full
            if fact.column in lead["facts"]:
                fields.append(f"{fact.header:>22}  ", style="dim")
                fields.append(f"{plain(shown(fact, lead['facts'][fact.column]))}\n")
        for phone in lead["phones"]:
            flags = " ".join(n.upper() for n in ("dnc", "litigator", "bad") if phone[n])
            fields.append(
                f"{'phone ' + str(phone['position']):>22}  {phone['number']} {plain(phone['type'] or '')} {flags}\n"
            )
        self.query_one("#fields", Static).update(fields)
        events = lead["events"]
        timeline = [
            (
                e["at"],
                str(e["id"]),
                e["rep"] or "system",
                event_words(e) + (" (undone)" if e["undone"] else ""),
            )
            for e in events
        ] + [(c["placed_at"], f"call-{c['id']}", c["rep"], call_words(c)) for c in lead.get("calls", [])]
        timeline.sort(key=lambda row: row[0], reverse=True)
        self.fill(
            ("at", "rep", "event"),
            [(at, rep, words) for at, _, rep, words in timeline],
            [key for _, key, _, _ in timeline],
            "no events",
        )
        self.query_one("#view-title", Static).update(
            Text(
                f"Lead {lead['id']} · {lead['symbol']} {lead['status_label']} · {len(events)} events",
                style=group_style(self.app.theme_variables, lead["group"]),
            )
        )


def call_words(call: dict) -> str:
    """A call on the timeline (D2): the number, how it went and its outcome."""
    words = [f"call {call['number']} ({call['system']})"]
    if call["answered_at"]:
        words.append(
            f"answered, {call['duration'] or 0:.0f} s" if call["duration"] is not None else "answered"
        )
    if call["end_reason"]:
        words.append(f"ended: {call['end_reason']}")
    words.append(f"→ {call['outcome']}" if call["outcome"] else "no outcome yet")
    return plain(" ".join(words))


class Outbox(View):
    """Actions not yet delivered (pending, failed, dead), with retry for the dead ones."""

    TITLE_TEXT = "Outbox"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("R", "retry", "Retry")]

    def fetch(self, svc: Any) -> list[dict]:
        return svc.outbox(("pending", "failed", "dead"))

    def show(self, rows: list[dict]) -> None:
        self.fill(
            ("#", "lead", "action", "state", "tries", "due", "last error"),
            [
                (
                    r["id"],
                    r["lead_id"],
                    r["action"],
                    r["state"],
                    r["attempts"],
                    r["due_at"],
                    r["last_error"] or "",
                )
                for r in rows
            ],
            [str(r["id"]) for r in rows],
            "nothing waiting",
        )

    def action_retry(self) -> None:
        action = self.selected()
        if action is not None:
            self.app.act(lambda svc, seen, pin: self.app.retry_action(svc, action), lambda *_: self.reload())


class Help(View):
    """Every key, from the same table as the keybar and the bindings."""

    TITLE_TEXT = "Keys"

    def reload(self) -> None:
        """Nothing is read: the keys are the station's own."""

    def body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_text(self.app.table, self.app.theme_variables), id="help")


def help_text(table: list[Key], variables: dict[str, str]) -> Text:
    out = Text()
    for title, entries in (
        ("Statuses", [k for k in table if k.group]),
        ("Controls", [k for k in table if not k.group]),
    ):
        out.append(f"{title}\n", style="bold underline")
        for k in entries:
            out.append(f"  {k.display:>8}  ", style="bold")
            out.append(
                f"{k.symbol + ' ' if k.symbol else ''}{k.label:<20}",
                style=group_style(variables, k.group) if k.group else "",
            )
            out.append(f" {k.description}\n", style="dim")
        out.append("\n")
    out.append("In lists: pageup/pagedown, home/end. Dialogs: enter saves, escape cancels.\n", style="dim")
    return out
