"""Cool-off (issue 16): a lead released by a status with `cooloff_days` (Not Interested, Listed
With Agent) stays out of every queue that long, so nobody dials it again the next minute; the
excluded list says until when. A new status or a follow-up on the lead ends it. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leadtui.clock import parse_iso
from leadtui.core.playbook import Status


def cooloff_end(st: Status, now: datetime) -> datetime | None:
    """When a lead that `st` releases now may be queued again (None: the status sets no cool-off)."""
    return now + timedelta(days=st.cooloff_days) if st.cooloff_days else None


def cooling_until(cooloff_until: str | None, now: datetime) -> datetime | None:
    """The end of a cool-off still running at `now`, else None."""
    if not cooloff_until:
        return None
    end = parse_iso(cooloff_until)
    return end if end > now else None


def cooling_text(end: datetime, zone: str | None) -> str:
    """Why the queue leaves the lead out, in the lead's time: `cooling off until Wed Dec 23 15:00`."""
    return f"cooling off until {end.astimezone(ZoneInfo(zone)) if zone else end:%a %b %d %H:%M}"
