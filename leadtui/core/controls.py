"""The controls every playbook shares, with their default keys (SPEC "Controls")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    id: str
    key: str
    label: str
    description: str


CONTROLS: tuple[Control, ...] = (
    Control("dial", "d", "Dial", "Call the lead's current phone; after no answer, Not Contacted and redial"),
    Control("hangup", "h", "Hang Up", "End the call"),
    Control("note", "t", "Note", "Write a note on the lead (also during a call)"),
    Control("next-phone", "greater_than_sign", "Next phone", "The lead's next phone becomes current"),
    Control("previous-phone", "less_than_sign", "Prev phone", "The lead's previous phone becomes current"),
    Control("pick-phone", "p", "Phone", "Choose the current phone by its number"),
    Control("claim", "c", "Claim", "Lock this pool lead to you"),
    Control("release", "r", "Release", "Put your lead back in the pool"),
    Control("assign", "a", "Assign To", "Give the lead to a rep"),
    Control("followup", "f", "Follow-Up", "Call back at half the interval asked"),
    Control("clear-sms", "x", "Clear SMS", "Mark a drip reply handled"),
    Control("undo", "u", "Undo", "Reverse your last action (10 min)"),
    Control("next", "j", "Next", "Next lead"),
    Control("previous", "k", "Previous", "Previous lead"),
    Control("search", "slash", "Search", "Search by text and status"),
    Control("help", "question_mark", "Help", "Every key"),
    Control("palette", "ctrl+p", "Commands", "Command palette"),
    # the screen's own views and toggles
    Control("detail", "enter", "Timeline", "The lead's details and full timeline (B4)"),
    Control("excluded", "e", "Excluded", "Show the leads left out of the queue, and why"),
    Control("next-tab", "right_square_bracket", "Next tab", "Next pipeline tab (B1)"),
    Control("previous-tab", "left_square_bracket", "Prev tab", "Previous pipeline tab (B1)"),
    Control("replies", "i", "Replies", "Drip replies, to clear (W17)"),
    Control("approvals", "m", "Approvals", "Pending approvals (managers approve or reject)"),
    Control("outbox", "o", "Outbox", "Queued, failed and dead actions, with retry"),
    Control("callbacks", "g", "Callbacks", "Callbacks overdue, today and this week, with appointments"),
    Control("pause", "z", "Pause", "Pause this station with a reason (no calls meanwhile); again to resume"),
    Control("floor-view", "v", "Floor view", "Every station live: rep, state, lead, today's KPIs (managers)"),
    Control("board", "b", "Board", "Today's leaderboard and the last 14 days' chart (W20)"),
    Control("quit", "ctrl+q", "Quit", "Leave leadtui"),
)

# Keys no status may take: the controls', their spelled forms, and the arrows and page keys.
CONTROL_KEYS = frozenset(c.key for c in CONTROLS) | {
    "/",
    "?",
    "<",
    ">",
    "[",
    "]",
    "up",
    "down",
    "pageup",
    "pagedown",
    "home",
    "end",
    "escape",
    "tab",
}
