"""The `leadtui` command line: a thin mirror of the service (a contract: see SPEC.md).

`root` holds the group, the global options and the error handling; each other module
registers its commands on import.
"""

from leadtui.cli import automation, calls, floor, imports, inbox, leads, ops, reports, run  # noqa: F401  (register the commands)
from leadtui.cli.root import cli, main

__all__ = ["cli", "main"]
