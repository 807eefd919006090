"""Pure rules, no I/O: playbooks, follow-up arithmetic, calling rules."""
