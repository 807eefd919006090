"""Automation: templates for messages and contract drafts; the outbox worker."""
