"""The live floor (issue 16): each running station keeps its row (what it is doing, its pause, its
heartbeat) through its own writer, and a manager reads every station's at once.

A station's activity is never reported by the screen: `refresh` works it out from the rows the
station's writes leave (its reservation, its open call) in the same transaction as each of those
writes, so the floor view can't disagree with them."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from leadtui import clock
from leadtui.core import stations as rules
from leadtui.errors import Refused
from leadtui.service.base import Base, Outcome
from leadtui.store import reservations
from leadtui.store import stations as store

FORGET_AFTER = timedelta(days=7)  # a station not seen for this long loses its row


def refresh(conn: sqlite3.Connection, station: str, now: datetime) -> None:
    """Bring the station's activity in step with its reservation and open call (inside the write
    that changed them). A station with no row (a CLI call) or a closed one is left alone."""
    row = store.get(conn, station)
    if row is None or row["state"] == "offline":
        return
    stamp = clock.stamp(now)
    act = rules.activity(store.reserved_by(conn, station, stamp), store.open_call(conn, row["rep"], station))
    if rules.moved(row, act):
        store.update(
            conn,
            station,
            {"state": act.state, "since": stamp, "lead_id": act.lead_id, "call_id": act.call_id},
        )


class Stations(Base):
    """The station's own row (online, heartbeat, pause, resume, closed) and the manager's floor view."""

    if TYPE_CHECKING:  # from Reads, beside it in Service

        def kpis(
            self, *, day: str | None = None, rep: str | None = None, since: str | None = None
        ) -> list[dict]: ...

    def station_online(self, rep: str) -> None:
        """This station is on the floor for `rep` (the TUI's start, on its writer)."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            actor = self._actor(conn, rep)
            store.register(conn, self.station, actor.name, clock.stamp(now), clock.stamp(now - FORGET_AFTER))
            refresh(conn, self.station, now)

    def station_beat(self) -> None:
        """The heartbeat (every core.stations.HEARTBEAT_SECONDS): the station is alive, and its
        activity is checked again (a call's outcome recorded elsewhere, a lease run out)."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            row = store.get(conn, self.station)
            if row is None or row["state"] == "offline":
                return
            store.update(conn, self.station, {"heartbeat_at": clock.stamp(now)})
            refresh(conn, self.station, now)

    def station_closed(self) -> None:
        """The station closes cleanly: offline at once (a pause it was in ends with it)."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            row = store.get(conn, self.station)
            if row is None:
                return
            if row["pause_reason"] is not None:
                self._resumed(conn, row, now, closed=True)
            store.update(
                conn,
                self.station,
                {"state": "offline", "since": clock.stamp(now), "lead_id": None, "call_id": None},
            )

    def pause(self, rep: str, reason: str) -> Outcome:
        """The rep pauses the station, with a reason (an event with no lead). The lead on screen is
        let go meanwhile, so other stations may call it; no call goes out until `resume`."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            actor = self._actor(conn, rep)
            row = store.get(conn, self.station)
            if row is not None and row["rep"].lower() != actor.name.lower():
                raise Refused(f"this station is {row['rep']}'s")
            why = rules.decide_pause(row, store.open_call(conn, actor.name, self.station), reason)
            event_id = self._event(
                conn,
                now,
                lead_id=None,
                rep=actor.name,
                kind="pause",
                data={"reason": why, "station": self.station},
            )
            store.update(conn, self.station, {"pause_reason": why, "paused_at": clock.stamp(now)})
            reservations.drop(conn, self.station, clock.stamp(now))
            refresh(conn, self.station, now)
        return Outcome(None, f"paused: {why}", event_id)

    def resume(self, rep: str) -> Outcome:
        """The rep is back: the pause ends (an event naming its reason and length)."""
        now = self.now()
        with self.db.write(shared=True) as conn:
            actor = self._actor(conn, rep)
            row = store.get(conn, self.station)
            event_id, seconds, reason = self._resumed(conn, row, now, rep=actor.name)
        return Outcome(None, f"resumed after {rules.span(seconds)} on {reason}", event_id)

    def _resumed(
        self,
        conn: sqlite3.Connection,
        row: sqlite3.Row | None,
        now: datetime,
        *,
        rep: str | None = None,
        closed: bool = False,
    ) -> tuple[int, int, str]:
        seconds = rules.decide_resume(row, now)
        assert row is not None  # decide_resume refuses a station with no row
        data = {"reason": row["pause_reason"], "seconds": seconds, "station": self.station}
        event_id = self._event(
            conn,
            now,
            lead_id=None,
            rep=rep or row["rep"],
            kind="resume",
            data={**data, "closed": True} if closed else data,
        )
        store.update(conn, self.station, {"pause_reason": None, "paused_at": None})
        return event_id, seconds, row["pause_reason"]

    def floor(self, viewer: str | None) -> list[dict]:
        """The live floor view, one entry per station (managers only, W14; no rep: the admin view):
        its rep and state (with the pause's reason), since when and for how long, the lead and call,
        the rep's KPIs for today and last outcome. See core.stations.on_view for which stations."""
        now = self.now()
        with self.db.read() as conn:
            actor = self._viewer(conn, viewer)
            if actor is not None and not actor.manager:
                raise Refused("only a manager sees the floor view (W14)")
            shown = rules.on_view(store.seen_since(conn, clock.stamp(now - rules.SHOWN_FOR)), now)
            last = {rep: store.last_outcome(conn, rep) for rep in {row["rep"] for row, _, _ in shown}}
        today = {k["rep"].lower(): k for k in self.kpis(day=now.date().isoformat())}
        return [
            self._station_json(row, state, since, now, today, last[row["rep"]]) for row, state, since in shown
        ]

    def _station_json(
        self,
        row: sqlite3.Row,
        state: str,
        since: str,
        now: datetime,
        today: dict[str, dict],
        last: sqlite3.Row | None,
    ) -> dict:
        working = state not in ("offline", "paused")
        kpis = today.get(row["rep"].lower(), {})
        label = rules.LABELS[state] + (f": {row['pause_reason']}" if state == "paused" else "")
        return {
            "station": row["station"],
            "rep": row["rep"],
            "state": state,
            "label": label,
            "since": since,
            "seconds": max(0, int((now - clock.parse_iso(since)).total_seconds())),
            "pause_reason": row["pause_reason"] if state == "paused" else None,
            "lead_id": row["lead_id"] if working else None,
            # a lead row security hides from this connection (a manager whose role is still a rep's)
            # shows by its id alone: the owner's name as ""
            "owner_name": row["owner_name"] or "" if working and row["lead_id"] is not None else None,
            "call_id": row["call_id"] if working else None,
            "started_at": row["started_at"],
            "heartbeat_at": row["heartbeat_at"],
            **{k: kpis.get(k, 0) for k in ("dials", "contacts", "appointments", "offers")},
            "last_outcome": last["status"] if last else None,
            "last_outcome_label": self.playbook.label(last["status"]) if last else None,
            "last_outcome_at": last["at"] if last else None,
            "last_outcome_lead": last["lead_id"] if last else None,
        }
