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
    Control("quit", "ctrl+q", "Quit", "Leave leadtui"),
)

# Keys no status may take: the controls', their spelled forms, and the arrows and page keys.
CONTROL_KEYS = frozenset(c.key for c in CONTROLS) | {
    "/",
    "?",
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
