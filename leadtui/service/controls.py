"""The controls: claim, release, assign, follow-up, undo."""

from __future__ import annotations

import json
from datetime import timedelta

from leadtui import clock
from leadtui.core.followup import half_way
from leadtui.core.rules import alive_guard, holder_guard
from leadtui.errors import Refused
from leadtui.service.base import Base, Outcome
from leadtui.store import queries as q

UNDO_WINDOW = timedelta(minutes=10)
UNDOABLE = ("status", "wrong_report", "claim", "release", "assign", "followup", "approval_requested")
# kinds that change a lead's state: one of these after yours (by anyone) blocks your undo
CHANGES = ("status", "wrong_report", "claim", "release", "assign", "followup", "revive", "hold_expired", "migrate")


class Controls(Base):
    """W14-W16, W18, W19."""

    def claim(self, lead_id: int, rep: str | None) -> Outcome:
        """W14: lock a pool lead to the rep; of two stations at once exactly one wins."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            if lead["owner"] and lead["owner"].lower() == actor.name.lower() and not lead["hold_until"]:
                return Outcome(lead_id, f"lead {lead_id} is already yours")
            if not q.claim(conn, lead_id, actor.name, clock.stamp(now)):
                holder = q.lead(conn, lead_id)["owner"]
                raise Refused(f"lead {lead_id} is held by {holder} (W14)")
            event_id = self._change(conn, lead, {"owner": actor.name, "hold_until": None}, now, actor.name, "claim",
                                    written=True)
        return Outcome(lead_id, f"lead {lead_id} claimed by {actor.name}", event_id)

    def release(self, lead_id: int, rep: str | None, pin: str | None = None) -> Outcome:
        """W15: the rep's lead back to the pool (another rep's: a manager, with PIN)."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            if lead["owner"] is None:
                return Outcome(lead_id, f"lead {lead_id} is already in the pool")
            if lead["owner"].lower() != actor.name.lower():
                self._manager(conn, rep, pin, f"release {lead['owner']}'s lead")
            event_id = self._change(conn, lead, {"owner": None, "hold_until": None}, now, actor.name, "release")
        return Outcome(lead_id, f"lead {lead_id} released to the pool", event_id)

    def assign(self, lead_id: int, to: str, rep: str | None, pin: str | None = None) -> Outcome:
        """W16: a pool lead or your own to anyone; another rep's only by a manager."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            target = self._actor(conn, to)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            owner = lead["owner"]
            if owner and owner.lower() == target.name.lower():
                return Outcome(lead_id, f"lead {lead_id} is already {target.name}'s")
            if owner and owner.lower() != actor.name.lower():
                self._manager(conn, rep, pin, f"take a lead from {owner}")
            event_id = self._change(conn, lead, {"owner": target.name, "hold_until": None}, now, actor.name, "assign",
                                    data={"from": owner, "to": target.name})
        return Outcome(lead_id, f"lead {lead_id} assigned to {target.name}", event_id)

    def followup(self, lead_id: int, rep: str | None, asked: str) -> Outcome:
        """W18: call back at half the interval the lead asked for; the lead stays with the rep."""
        now = self.now()
        requested, scheduled = half_way(now, asked)
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            alive_guard(lead)
            holder_guard(lead, actor)
            fields = {"owner": actor.name, "hold_until": None, "next_call_at": scheduled,
                      "followup_requested_at": requested}
            event_id = self._change(conn, lead, fields, now, actor.name, "followup",
                                    data={"asked": asked, "requested": clock.stamp(requested),
                                          "scheduled": clock.stamp(scheduled)})
        return Outcome(lead_id, f"call back {scheduled.date().isoformat()} (asked for {requested.date().isoformat()})", event_id)

    def undo(self, lead_id: int, rep: str | None) -> Outcome:
        """W19: reverse the rep's last action on the lead within 10 minutes."""
        now = self.now()
        with self.db.write() as conn:
            actor = self._actor(conn, rep)
            lead = self._lead(conn, lead_id)
            undone = q.undone_ids(conn, lead_id)
            events = [e for e in q.events(conn, lead_id, limit=200) if e["id"] not in undone]
            mine = [e for e in events if e["kind"] in UNDOABLE and e["rep"] and e["rep"].lower() == actor.name.lower()
                    and "approved_by" not in json.loads(e["data"] or "{}")]  # a manager's approval stays
            if not mine or mine[-1]["at"] < clock.stamp(now - UNDO_WINDOW):
                raise Refused(f"nothing of yours to undo on lead {lead_id} in the last 10 minutes (W19)")
            target = mine[-1]
            later = [e for e in events if e["id"] > target["id"] and e["kind"] in CHANGES]
            if later:
                raise Refused(f"lead {lead_id} changed since ({later[-1]['kind']} by {later[-1]['rep'] or 'the system'}); can't undo (W19)")
            if target["kind"] == "approval_requested":
                approval = conn.execute("SELECT id, state FROM approvals WHERE event_id = ?", (target["id"],)).fetchone()
                if approval["state"] != "pending":
                    raise Refused(f"approval #{approval['id']} was already {approval['state']} (W19)")
                q.decide_approval(conn, approval["id"], "cancelled", actor.name, clock.stamp(now), "undone")
            restore = json.loads(target["before"] or "{}")
            data = json.loads(target["data"] or "{}")
            for pid, values in data.get("phones_before", {}).items():
                q.update_phone(conn, int(pid), values)
            data = {"undid": target["kind"], "status": target["status"]}
            cancelled, went = q.cancel_actions(conn, clock.stamp(now), event_id=target["id"])
            if cancelled:
                data["cancelled"] = [f"{a['action']} #{a['id']}" for a in cancelled]
            event_id = self._change(conn, lead, restore, now, actor.name, "undo", undoes=target["id"], data=data)
        label = self.playbook.status(target["status"]).label if target["status"] else target["kind"].replace("_", " ")
        outcome = Outcome(lead_id, f"undid {label} on lead {lead_id}", event_id)
        outcome.warnings = [f"{a['action']} is being delivered right now; it may still arrive" if a["state"] == "in flight"
                            else f"{a['action']} already went out ({a['state']} {a['done_at']}); it can't be recalled"
                            for a in went]
        return outcome

