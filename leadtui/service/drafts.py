"""W6: a contract drafted from the lead's fields into a file of its own."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path


def draft_contract(
    template: str, lead: dict, rep: str, now: datetime, folder: Path | None, templates_dir: Path | None
) -> str:
    """Render the contract template with the lead's fields into a new file; return its path."""
    from leadtui.automation.templates import render
    from leadtui.config import data_dir

    folder = folder or data_dir() / "contracts"
    context = {"lead": lead, "rep": rep, "drafted_at": now.strftime("%Y-%m-%d %H:%M %Z")}
    text = render(f"{template}.md.j2", context, templates_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lead-{lead['id']}-{now.strftime('%Y%m%d-%H%M%S')}.md"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
    return str(path)
