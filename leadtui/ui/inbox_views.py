"""The inbox's views (issue 16): Approvals with their lead's context and a STALE mark, Drip Replies
routed to their reps, and Callbacks; in each, enter opens the lead where a row is about one."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from leadtui.ui.dialogs import Ask
from leadtui.ui.panel import event_words
from leadtui.ui.style import plain
from leadtui.ui.views import Detail, View


def shown_at(svc: Any, stamp: str | None) -> str:
    """A stored time as the floor reads it (its zone, never raw UTC): `Mon Nov 23 15:00`."""
    return f"{svc.local(stamp):%a %b %d %H:%M}" if stamp else ""


class LeadView(View):
    """A list whose rows are about leads: enter opens the lead's detail (B4)."""

    lead_of: dict[str, int | None]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        lead_id = self.lead_of.get(str(event.row_key.value))
        if lead_id is None:
            self.notify("This one is matched to no lead.", severity="warning")
        else:
            self.app.push_screen(Detail(lead_id))


class Replies(LeadView):
    """W17: inbound drip replies, routed (a rep sees their own leads', the pool's and unmatched ones; a
    manager all), with the lead's owner and address; Clear SMS marks one handled. An opt-out says
    "opted out" (D4: its number is DNC)."""

    TITLE_TEXT = "Drip Replies"

    def on_mount(self) -> None:
        key = next(k for k in self.app.table if k.id == "clear-sms")
        self._bindings.bind(key.keys, "clear", key.label)

    def fetch(self, svc: Any) -> list[dict]:
        return svc.replies(self.app.rep)

    def show(self, rows: list[dict]) -> None:
        svc = self.app.svc
        self.lead_of = {str(r["id"]): r["lead_id"] for r in rows}
        self.fill(
            ("received", "from", "lead", "owner", "address", "rep", "", "reply"),
            [
                (
                    shown_at(svc, r["received_at"]),
                    r["from_number"],
                    r["lead_id"] or "no match",
                    r["owner_name"] or "",
                    r["address"] or "",
                    (r["owner"] or "pool") if r["lead_id"] else "",
                    "opted out" if r["opted_out"] else "",
                    r["body"],
                )
                for r in rows
            ],
            list(self.lead_of),
            "none open",
        )

    def action_clear(self) -> None:
        reply = self.selected()
        if reply is not None:
            self.app.act(
                lambda svc, seen, pin: svc.clear_reply(reply, self.app.rep), lambda *_: self.reload()
            )


class Approvals(View):
    """W13: approvals with their lead's context (owner, address, the rep's reason, its last events and
    replies); a manager approves (y) or rejects (n, with why) with their PIN. A request its lead has
    outgrown is marked STALE and can't be approved."""

    TITLE_TEXT = "Approvals"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide(True)", "Approve"),
        Binding("n", "decide(False)", "Reject"),
    ]
    DEFAULT_CSS = """
    Approvals > DataTable { height: 1fr; min-height: 4; }
    Approvals > #context { height: auto; max-height: 55%; padding: 0 1; border-top: solid $primary-darken-2; }
    """

    rows: ClassVar[dict[str, dict]] = {}

    def body(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static(id="context")

    def fetch(self, svc: Any) -> list[dict]:
        return svc.approvals(self.app.rep)

    def show(self, found: list[dict]) -> None:
        svc = self.app.svc
        self.rows = {str(r["id"]): r for r in found}
        self.fill(
            ("#", "state", "lead", "owner", "address", "asks", "rep", "reason", "asked"),
            [
                (
                    r["id"],
                    "STALE" if r["stale"] else r["state"],
                    r["lead_id"],
                    r["lead"]["owner_name"],
                    r["lead"]["address"],
                    r["status_label"],
                    r["rep"],
                    r["reason"] or r["why"] or "",
                    shown_at(svc, r["requested_at"]),
                )
                for r in found
            ],
            list(self.rows),
            "none pending",
        )
        self.show_context()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_context()

    def show_context(self) -> None:
        """The highlighted request's lead: who and where, what was asked and why, what changed since,
        its last events and replies."""
        chosen = self.selected()
        box = self.query_one("#context", Static)
        r = self.rows.get(str(chosen)) if chosen is not None else None
        if r is None:
            box.update("")
            return
        svc, lead = self.app.svc, r["lead"]
        out = Text()
        out.append(f"Lead {r['lead_id']} {plain(lead['owner_name'])}", style="bold")
        place = ", ".join(plain(x) for x in (lead["address"], lead["city"], lead["state"]) if x)
        held = "dead" if lead["dead"] else f"held by {lead['owner']}" if lead["owner"] else "in the pool"
        out.append(f" · {place} · {held} · now {lead['status_label']}\n")
        out.append(f"{r['rep']} asks {r['status_label']}", style="bold")
        out.append(f" ({shown_at(svc, r['requested_at'])}): ")
        out.append(
            f"{plain(r['reason'])}\n" if r["reason"] else "no reason given\n",
            style="" if r["reason"] else "dim",
        )
        if r["why"]:
            out.append(f"Rejected by {r['decided_by']}: {plain(r['why'])}\n")
        if r["stale"]:
            out.append(
                f"STALE: {plain(r['stale'])} since the request — it can't be approved; reject it (n), "
                "the rep can ask again\n",
                style="bold reverse",
            )
        for e in r["events"]:
            out.append(
                f"  {shown_at(svc, e['at'])}  {plain(e['rep'] or 'system'):<10} {event_words(e)}\n",
                style="dim",
            )
        for m in r["replies"]:
            mark = "" if m["cleared"] else " (open)"
            out.append(f"  {shown_at(svc, m['received_at'])}  reply{mark}: {plain(m['body'])}\n")
        box.update(out)

    def action_decide(self, approve: bool) -> None:
        approval = self.selected()
        if approval is None:
            return
        rep, row = self.app.rep, self.rows.get(str(approval))
        if approve and row is not None and row["stale"]:
            self.notify(
                plain(f"Approval #{approval} is stale ({row['stale']}): reject it, the rep can ask again"),
                title="Can't approve",
                severity="warning",
                markup=False,
            )
            return
        if approve:
            self.app.act(lambda svc, seen, pin: svc.approve(approval, rep, pin), lambda *_: self.reload())
            return

        def rejected(why: str | None) -> None:
            if why:
                self.app.act(
                    lambda svc, seen, pin: svc.reject(approval, rep, pin, why), lambda *_: self.reload()
                )

        self.app.ask(
            Ask("Reject", "Why? The rep reads this.", check=lambda t: (None if t.strip() else "say why", "")),
            rejected,
        )


class Callbacks(LeadView):
    """Callbacks overdue, due today and this week, with appointments: the rep's own and the pool's
    (anyone's), or every rep's for a manager, rep by rep. Enter opens the lead."""

    TITLE_TEXT = "Callbacks"

    def fetch(self, svc: Any) -> list[dict]:
        return svc.callbacks(self.app.rep)

    def show(self, rows: list[dict]) -> None:
        svc = self.app.svc
        keys = [str(r["lead_id"] * 2 + (r["kind"] == "appointment")) for r in rows]  # a lead may have both
        self.lead_of = {key: r["lead_id"] for key, r in zip(keys, rows, strict=True)}
        self.fill(
            ("rep", "due", "when", "what", "lead", "owner", "address", "status"),
            [
                (
                    r["rep"] or "pool",
                    r["section"],
                    shown_at(svc, r["at"]),
                    "appointment" if r["kind"] == "appointment" else f"call, {r['scope']}",
                    r["lead_id"],
                    r["owner_name"],
                    r["address"],
                    f"{r['symbol']} {r['status_label']}",
                )
                for r in rows
            ],
            keys,
            "none this week",
        )
        counts = {s: sum(1 for r in rows if r["section"] == s) for s in ("overdue", "today", "upcoming")}
        if rows:
            self.query_one("#view-title", Static).update(
                f"{self.TITLE_TEXT} — {counts['overdue']} overdue · {counts['today']} today · "
                f"{counts['upcoming']} upcoming"
            )
