"""W20's reads: KPIs per rep per day or hour, today's leaderboard and the 14-day chart, all on the
floor's day ([floor] timezone). What a press credits is core.kpi's; this reads what was credited: by
day from kpi_days (kept by triggers as events and calls are written), by hour from the events and
the call log themselves."""

from __future__ import annotations

import sqlite3
from datetime import date

from leadtui.core import kpi
from leadtui.errors import LeadtuiError
from leadtui.service.base import Base
from leadtui.store import kpis as store
from leadtui.store import queries as q

BY = ("day", "hour")
CHART_DAYS = 14


class Kpis(Base):
    """W20: the figures a manager trusts (see leadtui.core.kpi for the definitions as built)."""

    def today(self) -> date:
        """The floor's day now."""
        return self.now().date()

    def kpis(
        self,
        *,
        day: str | None = None,
        rep: str | None = None,
        since: str | None = None,
        until: str | None = None,
        by: str = "day",
    ) -> list[dict]:
        """Per rep per floor day (`by="hour"`: per floor-local hour too, as `hour` 0-23), sorted: the
        credited counters, `contact_rate`, and from the call log calls, connects and talk_seconds.
        `day`, or `since`/`until` (inclusive ISO dates), narrow the days; `rep` to one rep."""
        if by not in BY:
            raise LeadtuiError(f"KPIs are by {' or '.join(BY)}, not {by!r}")
        since, until = (day, day) if day is not None else (since, until)
        with self.db.read() as conn:
            name = self._rep_name(conn, rep)
            if by == "day":
                return kpi.daily(store.days(conn, since, until, name))
            return self._hours(conn, since, until, name)

    def _hours(
        self, conn: sqlite3.Connection, since: str | None, until: str | None, rep: str | None
    ) -> list[dict]:
        return kpi.hourly(
            store.credited(conn, since, until, rep), store.calls(conn, since, until, rep), self.zone
        )

    def _rep_name(self, conn: sqlite3.Connection, rep: str | None) -> str | None:
        """A rep's name as stored (names match without case), or None for everyone."""
        if rep is None:
            return None
        row = q.rep(conn, rep)
        if row is None:
            raise LeadtuiError(f"no rep named {rep!r}")
        return str(row["name"])

    def board(self, day: str | None = None) -> dict:
        """Today's leaderboard (or `day`'s): every active rep ranked (core.kpi.RANKING), each with
        their figures per floor-local hour, the floor's total, and the floor's figures per hour."""
        on = day or self.today().isoformat()
        with self.db.read() as conn:
            hours = self._hours(conn, on, on, None)
            active = [r["name"] for r in q.reps(conn) if r["active"]]
        by_rep: dict[str, list[dict]] = {}
        by_hour: dict[int, list[dict]] = {}
        for row in hours:
            by_rep.setdefault(row["rep"], []).append(row)
            by_hour.setdefault(row["hour"], []).append(row)
        rows = [{**kpi.total(mine, rep=name, day=on), "hours": mine} for name, mine in by_rep.items()]
        return {
            "day": on,
            "zone": str(self.zone),
            "reps": kpi.leaderboard(rows, active, on),
            "floor": kpi.total(rows, day=on),
            "hours": [kpi.total(by_hour[h], hour=h) for h in sorted(by_hour)],
        }

    def chart(self, days: int = CHART_DAYS, rep: str | None = None) -> dict:
        """The last `days` floor days, today last, each day's figures (zeros on a day with none), for
        the floor or one rep."""
        if not 1 <= days <= 366:
            raise LeadtuiError(f"a chart shows 1 to 366 days, not {days}")
        span = kpi.last_days(self.today(), days)
        with self.db.read() as conn:
            name = self._rep_name(conn, rep)
            rows = kpi.daily(store.days(conn, span[0], span[-1], name))
        return {"rep": name, "zone": str(self.zone), "days": kpi.series(rows, span)}
