"""Templates for messages and contract drafts: Jinja2, sandboxed; the user's folder wins.

File templates (`contract.md.j2`, `text_underwriter.txt.j2`, ...) use Jinja's usual
`{{ lead.address }}`. Short values in the config (an SMS `to`, a command's `argv`) are
inline templates with single braces, as the SPEC writes them: `"{lead.phone}"`.
A missing value renders as empty text, never as "None".
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from leadtui.errors import LeadtuiError

BUILTIN = Path(__file__).with_name("templates")


def _blank_none(value: object) -> object:
    return "" if value is None else value


@lru_cache(maxsize=8)
def _environment(user_dir: Path | None, inline: bool = False):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    folders = [str(p) for p in (user_dir, BUILTIN) if p is not None]
    braces = {"variable_start_string": "{", "variable_end_string": "}"} if inline else {}
    return SandboxedEnvironment(
        loader=FileSystemLoader(folders),
        autoescape=False,
        undefined=StrictUndefined,
        finalize=_blank_none,
        keep_trailing_newline=False,
        **braces,
    )


def render(name: str | Sequence[str], context: dict, user_dir: Path | None = None) -> str:
    """Render template `name` (or the first of several that exists) with `context`.

    A file of that name in `user_dir` overrides ours.
    """
    from jinja2 import TemplateError

    try:
        return _environment(user_dir).get_or_select_template(name).render(**context)
    except TemplateError as exc:
        raise LeadtuiError(f"template {name if isinstance(name, str) else name[0]}: {exc}") from None


@lru_cache(maxsize=64)
def _inline(source: str):
    return _environment(None, inline=True).from_string(source)


def inline(source: str, where: str):
    """Compile a single-brace inline template from the config; `where` names its key in errors."""
    from jinja2 import TemplateError

    try:
        return _inline(source)
    except TemplateError as exc:
        raise LeadtuiError(f"{where}: {exc}") from None


def render_inline(source: str, context: dict, where: str) -> str:
    """Fill an inline template from the config with `context`."""
    from jinja2 import TemplateError

    template = inline(source, where)
    try:
        return template.render(**context)
    except TemplateError as exc:
        raise LeadtuiError(f"{where}: {exc}") from None
