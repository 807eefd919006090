"""The claim panel: who holds the lead, its phones and dial count, its local time, dates, events, KPIs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import Static

from leadtui.clock import parse_iso
from leadtui.core.facts import chips, pack
from leadtui.ui.style import plain, status_text

KPI_LABELS = (
    ("dials", "dials"),
    ("contacts", "contacts"),
    ("appointments", "appts"),
    ("offers", "offers"),
    ("contracts", "contracts"),
    ("under_contract", "UC"),
)
EVENTS = 5  # the last events the panel shows, room allowing
NOTES = 2  # the last notes the panel shows (D5)
FACTS_WIDTH = 60  # the facts' line width before the panel has a size


def _when(value: str | None, zone: str | None) -> str:
    if not value:
        return ""
    moment = parse_iso(value)
    return f"{moment.astimezone(ZoneInfo(zone)) if zone else moment:%a %b %d %Y %H:%M}"


class ClaimPanel(Static):
    """Everything a rep needs before dialling the current lead. Today's KPIs always show at its
    foot: when the panel is short (80x24), the oldest events give way first, then the lead's last lines."""

    _shown: dict | None = None

    def show(
        self,
        lead: dict | None,
        *,
        rep: str,
        now: datetime,
        why: str | None,
        run_length: int,
        kpis: dict | None,
        suggest: str = "",
        chosen: int | None = None,
    ) -> None:
        self._shown = dict(
            lead=lead,
            rep=rep,
            now=now,
            why=why,
            run_length=run_length,
            kpis=kpis,
            suggest=suggest,
            chosen=chosen,
        )
        # the panel's size is set by the layout, not its text: repaint only
        self.update(self.fitted(**self._shown), layout=False)

    def loading(self, row: dict) -> None:
        """The lead under the cursor before its details are read: its name, said literally."""
        self._shown = None
        name = " ".join(plain(str(row[k])) for k in ("owner_name", "address") if row.get(k))
        self.update(Text(f"Lead {row['id']} {name}\nreading…", style="dim"), layout=False)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.update(self.fitted(**self._shown), layout=False)

    def text(
        self,
        lead: dict | None,
        *,
        rep: str,
        now: datetime,
        why: str | None,
        run_length: int,
        kpis: dict | None,
        suggest: str = "",
        chosen: int | None = None,
        events: int | None = None,
    ) -> Text:
        out = Text()
        if lead is None:
            out.append("No lead here.\n", style="dim")
        else:
            self._lead(out, lead, rep, now, why, run_length, events, chosen)
            if suggest:
                out.append(f"Next stage? {suggest} (your call)\n", style="italic")
        out.append("\n")
        out.append_text(self.kpi_text(rep, kpis))
        return out

    @staticmethod
    def kpi_text(rep: str, kpis: dict | None) -> Text:
        out = Text()
        out.append(f"Today ({rep}): ", style="bold")
        out.append(" · ".join(f"{label} {(kpis or {}).get(key, 0)}" for key, label in KPI_LABELS))
        return out

    def fitted(self, **shown) -> Text:
        """The panel's text for its size: whole if it fits, else fewer events, else the lead's lines
        cut, so the KPI line stays in sight."""
        width, height = self.size
        if not width or not height:
            return self.text(**shown)
        console = self.app.console

        def lines(text: Text) -> int:
            return len(text.wrap(console, width))

        lead = shown["lead"]
        most = EVENTS if lead is None else min(EVENTS, len(lead.get("events", [])))
        for events in range(most, -1, -1):
            text = self.text(**shown, events=events)
            if lines(text) <= height:
                return text
        kpi = self.kpi_text(shown["rep"], shown["kpis"])
        body = self.text(**shown, events=0)[: -len(kpi)].wrap(console, width)
        keep = max(0, height - lines(kpi))
        out = Text("\n").join(list(body)[:keep])
        if keep:
            out.append("\n")
        out.append_text(kpi)
        return out

    def _lead(
        self,
        out: Text,
        lead: dict,
        rep: str,
        now: datetime,
        why: str | None,
        run_length: int,
        shown_events: int | None = None,
        chosen: int | None = None,
    ) -> None:
        zone = lead.get("zone")
        out.append(f"Lead {lead['id']}  ")
        out.append_text(status_text(lead, self.app.theme_variables))
        if lead["dead"]:
            out.append("  DEAD", style="bold reverse")
        out.append(f"\n{plain(lead['owner_name'])}\n", style="bold")
        out.append(
            f"{plain(lead['address'])}, {plain(lead['city'])} {plain(lead['state'])} {plain(lead['zip'])}\n"
        )
        holder = lead["owner"]
        owner = "you" if holder and holder.lower() == rep.lower() else holder or "the pool"
        out.append("Owner: ", style="dim")
        out.append(owner)
        if lead["hold_until"]:
            out.append(f", held until {_when(lead['hold_until'], zone)}")
        out.append("\n")
        usable = [p for p in lead["phones"] if not (p["bad"] or p["dnc"] or p["litigator"])]
        current = next(
            (p["position"] for p in lead["phones"] if p["current"] and p in usable),
            usable[0]["position"] if usable else None,
        )
        if chosen is not None and any(p["position"] == chosen for p in usable):
            current = chosen  # the phone the rep chose for the next dial
        for phone in lead["phones"]:
            is_current = phone["position"] == current
            mark = "▶" if is_current else " "
            flags = [name.upper() for name in ("dnc", "litigator", "bad") if phone[name]]
            if phone["wrong_reports"] and not phone["bad"]:
                flags.append(f"wrong number {phone['wrong_reports']} of 3")
            out.append(
                f" {mark} {phone['position']} {phone['number']} {plain(phone['type'] or '')}",
                style="bold" if is_current else "",
            )
            if flags:
                out.append(" " + " ".join(flags), style="bold red")
            if is_current:
                run = lead["dial_run"] + 1 if phone["current"] else 1
                out.append(f"  dial {run} of {run_length}", style="bold")
            out.append("\n")
        if not lead["phones"]:
            out.append(" no phone\n", style="dim")
        if zone:
            out.append(f"Local time {now.astimezone(ZoneInfo(zone)):%a %H:%M} ({zone})\n")
        if not lead["dead"]:
            out.append(f"Can't call now: {why}\n" if why else "Can call now\n", style="bold" if why else "")
        for key, label in (
            ("next_call_at", "Next call"),
            ("followup_requested_at", "Asked for"),
            ("appointment_at", "Appointment"),
        ):
            if lead[key]:
                out.append(f"{label}: ", style="dim")
                out.append(f"{_when(lead[key], zone)}\n")
        if lead["offer_amount"] is not None:
            out.append(f"Offer: ${lead['offer_amount']:,.0f}\n")
        # the vendor's property facts, for the offer: what fits on two lines (all of them: the detail view)
        for line in pack(chips(lead.get("facts") or {}), self.size.width or FACTS_WIDTH):
            out.append(f"{plain(line)}\n")
        if lead["emails"]:
            more = f" (+{len(lead['emails']) - 1})" if len(lead["emails"]) > 1 else ""
            out.append("Email: ", style="dim")
            out.append(f"{plain(lead['emails'][0])}{more}\n")
        if lead["source_list"] or lead["source_status"]:
            out.append(
                f"Source: {plain(lead['source_list'] or '')} {plain(lead['source_status'] or '')}\n",
                style="dim",
            )
        notes = [e for e in lead.get("events", []) if e["kind"] == "note" and not e["undone"]][-NOTES:]
        if notes:
            out.append("Notes\n", style="bold")
        for note in reversed(notes):
            text = (note.get("data") or {}).get("text", "")
            out.append(f" {_when(note['at'], zone)[4:]} {plain(note['rep'] or 'system')}: ", style="dim")
            out.append(f"{plain(text)}\n")
        count = EVENTS if shown_events is None else shown_events
        events = [e for e in lead.get("events", []) if e["kind"] != "note"][-count:] if count else []
        if events:
            out.append("Last events\n", style="bold")
        for event in reversed(events):
            out.append(
                f" {_when(event['at'], zone)[4:]} {plain(event['rep'] or 'system')} {event_words(event)}\n",
                style="strike dim" if event["undone"] else "",
            )


def event_words(event: dict) -> str:
    """One event in a few words: kind, status and the detail that matters."""
    data = event.get("data") or {}
    words = [event["kind"].replace("_", " ")]
    if event.get("status"):
        words.append(event["status"])
    if "attempt" in data:
        words.append(f"dial {data['attempt']} of {data['of']}")
    if "text" in data:  # a note's words (D5), shown literally by plain() below
        words.append(f": {data['text']}")
    for key in ("asked", "callback", "to", "undid", "queued", "cancelled", "source"):
        if key in data:
            value = data[key]
            words.append(f"{key} {', '.join(value) if isinstance(value, list) else value}")
    return plain(" ".join(words))
