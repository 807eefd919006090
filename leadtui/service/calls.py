"""Calls (D1-D3, D5): place one through the gate, record what the phone system reports, link its
outcome, write notes, and read the log as a rep may see it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from leadtui import clock
from leadtui.core.decide import Seen
from leadtui.core.dialing import LIVE_CALL, decide_call
from leadtui.core.rules import Decision, dialable, holder_guard, pick_phone
from leadtui.core.stations import pause_guard
from leadtui.errors import LeadtuiError, Refused
from leadtui.service.base import Base, Outcome
from leadtui.service.shapes import call_json
from leadtui.service.stations import refresh as station_moved
from leadtui.store import calls as calllog
from leadtui.store import queries as q
from leadtui.store import reservations, stations

NOTE_LIMIT = 4000  # characters in one note (D5)
STATES = ("ringing", "answered", "ended")
SAID_LIMIT = 500  # characters kept of what a phone system says (reason, detail, ids, recording)


def call_for(conn: sqlite3.Connection, lead_id: int, call_id: int | None, station: str) -> sqlite3.Row | None:
    """The call a status key records the outcome of: the one given (the lead's, with no outcome
    yet), else this station's call to the lead still waiting for one, else None."""
    if call_id is None:
        waiting = [c for c in calllog.open_of(conn, station=station) if c["lead_id"] == lead_id]
        return waiting[-1] if waiting else None
    call = calllog.get(conn, call_id)
    if call is None or call["lead_id"] != lead_id:
        raise LeadtuiError(f"lead {lead_id} has no call #{call_id}")
    if call["outcome_event_id"] is not None:
        raise Refused(f"call #{call_id} already has its outcome ({call['outcome_status']}) (D2)")
    return call


def log_outcome(
    conn: sqlite3.Connection,
    call: sqlite3.Row | None,
    status: str,
    d: Decision,
    event_id: int | None,
    phones: Sequence[sqlite3.Row],
    rep: str,
    station: str,
    now: datetime,
) -> None:
    """D2 for a status key: it is the outcome of `call`; with no call, a dial it records is logged
    as a reported call (the rep dialled by hand), so caps count it."""
    if call is not None and event_id is not None:
        calllog.link_outcome(conn, call["id"], status, event_id)
        station_moved(conn, call["station"], now)  # that station's call is done: it wraps up no more
    elif call is None and d.dial and d.phone_id is not None:
        number = next(p["number"] for p in phones if p["id"] == d.phone_id)
        calllog.log(
            conn,
            lead_id=phones[0]["lead_id"],
            phone_id=d.phone_id,
            number=number,
            rep=rep,
            station=station,
            system="manual",
            placed_at=clock.stamp(now),
            day=now.date().isoformat(),
            reported=True,
            outcome_status=status,
            outcome_event_id=event_id,
        )


def _call(conn: sqlite3.Connection, call_id: int) -> sqlite3.Row:
    call = calllog.get(conn, call_id)
    if call is None:
        raise LeadtuiError(f"no call #{call_id}")
    return call


def _said(value: str, what: str, server: bool = False) -> str:
    """What a phone system said, checked; on a server (`server`) a NUL as U+FFFD (its text can't hold
    one: as an import's cell)."""
    if len(value) > SAID_LIMIT:
        raise LeadtuiError(f"a call's {what} is at most {SAID_LIMIT} characters, got {len(value):,}")
    return value.replace("\x00", "\ufffd") if server and "\x00" in value else value


def note_problem(text: str) -> str | None:
    """Why a note can't be stored, or None (D5: stored exactly as typed, so checked, never trimmed)."""
    if not text.strip():
        return "a note needs some text"
    if len(text) > NOTE_LIMIT:
        return f"a note is at most {NOTE_LIMIT:,} characters; this one has {len(text):,}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a note must be UTF-8 text"
    return None


class Calls(Base):
    """The call log: D1's gate before a call goes out, D2's rows, D3's open calls, D5's notes."""

    def place_call(
        self,
        lead_id: int,
        rep: str | None,
        *,
        station: str | None = None,
        phone: int | None = None,
        seen: Seen | None = None,
        system: str,
    ) -> dict:
        """D1 then D2 in one transaction: the gate (refused: Refused saying why and when the call can
        go; nothing stored), then the call's row. `phone`: its position on the lead (else the one on
        screen, else the lead's current good phone); `station` defaults to this service's."""
        now = self.now()
        station = station or self.station
        with self.db.write(lead=lead_id) as conn:
            actor = self._actor(conn, rep)
            pause_guard(stations.get(conn, station))
            lead = self._target(conn, lead_id, actor, seen, now)
            phones = q.phones(conn, [lead_id])[lead_id]
            if phone is None and seen is not None:
                phone = seen.phone
            target = pick_phone(lead, phones, phone, dialable)
            waiting = calllog.open_of(conn, rep=actor.name)
            live = calllog.live_to_number(conn, target["number"], clock.stamp(now - LIVE_CALL))
            last = calllog.last_to_number(conn, target["number"])
            recent = calllog.placed_since(conn, target["id"], clock.stamp(now - timedelta(hours=24)))
            decide_call(
                now,
                lead=lead,
                phone=target,
                actor=actor,
                reservation=reservations.of_lead(conn, lead_id, clock.stamp(now)),
                open_call=waiting[0] if waiting else None,
                recent=[clock.parse_iso(t) for t in recent],
                last_call=clock.parse_iso(last) if last else None,
                rules=self.rules,
                live=live,
            )
            call_id = calllog.insert(
                conn,
                lead_id=lead_id,
                phone_id=target["id"],
                number=target["number"],
                rep=actor.name,
                station=station,
                system=_said(system, "system"),
                placed_at=clock.stamp(now),
                day=now.date().isoformat(),
            )
            station_moved(conn, station, now)
            return call_json(_call(conn, call_id))

    def call_event(
        self,
        call_id: int,
        state: str,
        *,
        reason: str = "",
        detail: str = "",
        remote_id: str = "",
        recording: str = "",
    ) -> dict:
        """What the phone system reported: ringing, answered or ended (with its reason). Each time is
        recorded once, in order (nothing after the end); a repeated or late event changes nothing, and
        none touches the outcome. Ids and a recording reference are kept when first given."""
        if state not in STATES:
            raise LeadtuiError(f"a call event is one of {', '.join(STATES)}, got {state!r}")
        server = self.db.engine == "postgresql"
        reason, detail, remote_id, recording = (
            _said(value, what, server)
            for value, what in (
                (reason, "end reason"),
                (detail, "detail"),
                (remote_id, "id"),
                (recording, "recording"),
            )
        )
        moment = self.now()
        now = clock.stamp(moment)
        with self.db.write(call=call_id) as conn:
            call = _call(conn, call_id)
            fields: dict[str, str] = {}
            if call["ended_at"] is None:
                if state == "ringing" and call["ringing_at"] is None and call["answered_at"] is None:
                    fields["ringing_at"] = now
                elif state == "answered" and call["answered_at"] is None:
                    fields["answered_at"] = now
                elif state == "ended":
                    fields.update(ended_at=now, end_reason=reason, detail=detail)
            if remote_id and not call["remote_id"]:
                fields["remote_id"] = remote_id
            if recording and not call["recording"]:
                fields["recording"] = recording
            calllog.record(conn, call_id, fields)
            station_moved(conn, call["station"], moment)
            return call_json(_call(conn, call_id))

    def note(
        self,
        lead_id: int,
        rep: str | None,
        text: str,
        *,
        call_id: int | None = None,
        seen: Seen | None = None,
    ) -> Outcome:
        """D5: a note on the lead (and on its call: the one given, else this station's call to the lead
        still waiting for its outcome), stored exactly as typed: an event of kind note with `text` (and `call`). Refused like any write on a lead the rep may not touch (F1, F2, W14)."""
        problem = note_problem(text)
        if problem is None and "\x00" in text and self.db.engine == "postgresql":
            problem = "a note can't hold a NUL character on a PostgreSQL floor"  # (its text can't)
        if problem:
            raise LeadtuiError(problem)
        now = self.now()
        with self.db.write(lead=lead_id) as conn:
            actor = self._actor(conn, rep)
            lead = self._target(conn, lead_id, actor, seen, now)
            holder_guard(lead, actor)
            if call_id is None:  # typed during this station's call to the lead: it goes on that call too
                waiting = call_for(conn, lead_id, None, self.station)
                call_id = waiting["id"] if waiting is not None else None
            if call_id is not None:
                call = calllog.get(conn, call_id)
                if call is None or call["lead_id"] != lead_id:
                    raise LeadtuiError(f"lead {lead_id} has no call #{call_id}")
                calllog.add_note(conn, call_id, text)
            data = {"text": text, **({"call": call_id} if call_id is not None else {})}
            event_id = self._event(conn, now, lead_id=lead_id, rep=actor.name, kind="note", data=data)
        where = f" and call #{call_id}" if call_id is not None else ""
        return Outcome(lead_id, f"note saved on lead {lead_id}{where}", event_id)

    def calls(
        self,
        *,
        rep: str | None = None,
        lead: int | None = None,
        since: str | None = None,
        open_only: bool = False,
        viewer: str | None = None,
    ) -> list[dict]:
        """The call log, oldest first: `rep`'s calls, `lead`'s, placed from `since` (an ISO date or
        date and time; without an offset, the floor clock's zone), or only the open ones. With
        `viewer`, as that rep may see it (W14: calls on the pool's leads, theirs and dead ones; a
        manager all)."""
        start = self._since(since) if since else None
        with self.db.read() as conn:
            visible_to = self._visible_to(self._viewer(conn, viewer))
            if rep is not None:
                row = q.rep(conn, rep)
                if row is None:
                    raise LeadtuiError(f"no rep named {rep!r}")
                rep = row["name"]
                if visible_to and rep.lower() != visible_to.lower():
                    raise Refused("only a manager sees another rep's calls (W14)")
            if lead is not None:
                self._may_see(conn, self._lead(conn, lead), viewer)
            rows = calllog.select(
                conn, rep=rep, lead_id=lead, since=start, open_only=open_only, visible_to=visible_to
            )
        return [call_json(r) for r in rows]

    def open_calls(self, *, station: str | None = None, rep: str | None = None) -> list[dict]:
        """D3: calls with no outcome yet, oldest first: a station's, a rep's (what a restarted station
        asks first: a new process is a new station, so it asks by rep), or the floor's."""
        with self.db.read() as conn:
            name = self._actor(conn, rep).name if rep is not None else None
            rows = calllog.open_of(conn, rep=name, station=station)
        return [call_json(r) for r in rows]

    def _since(self, text: str) -> str:
        """An ISO date (its midnight) or date and time as stored; no offset: the floor clock's zone."""
        zone = self.now().tzinfo
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            try:
                moment = datetime.fromisoformat(text.strip())
            except ValueError:
                raise LeadtuiError(
                    f"--since: not an ISO-8601 date or time: {text[:40]!r} (e.g. 2026-11-23)"
                ) from None
            return clock.stamp(moment if moment.tzinfo else moment.replace(tzinfo=zone))
        return clock.stamp(datetime.combine(day, datetime.min.time(), tzinfo=zone))
