"""Templates for messages and contract drafts: Jinja2, sandboxed; the user's folder wins."""

from __future__ import annotations

from pathlib import Path

from leadtui.errors import LeadtuiError

BUILTIN = Path(__file__).with_name("templates")


def render(name: str, context: dict, user_dir: Path | None = None) -> str:
    """Render template `name` with `context`; a file of that name in `user_dir` overrides ours."""
    from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    folders = [str(p) for p in (user_dir, BUILTIN) if p is not None]
    env = SandboxedEnvironment(loader=FileSystemLoader(folders), autoescape=False, undefined=StrictUndefined)
    try:
        return env.get_template(name).render(**context)
    except TemplateError as exc:
        raise LeadtuiError(f"template {name}: {exc}") from None
