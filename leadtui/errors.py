"""The two ways leadtui says no: bad input (exit 2) and a rule's refusal (exit 1)."""


class LeadtuiError(Exception):
    """Bad usage or input: a one-line message, exit status 2."""

    exit_code = 2


class Refused(LeadtuiError):
    """A floor rule said no: a one-line message naming the rule, exit status 1."""

    exit_code = 1


class Busy(LeadtuiError):
    """Another writer kept the database locked past the busy timeout: nothing was changed, and
    the same write may simply be tried again (a station's writer does, until it lands)."""
