"""``docs/reference/sdk.md``: the Python SDK (``import atoll``), rendered by mkdocstrings.

The page holds mkdocstrings directives, one per name in ``atoll.sdk.__all__``; MkDocs renders
them from the docstrings when the site is built, so this page only goes stale when a name
is added or removed.
"""

from __future__ import annotations

import inspect

from atoll import sdk
from atoll.docsgen.markdown import page
from atoll.sdk import _log

PATH = "docs/reference/sdk.md"
TITLE = "Python SDK"

_OPTIONS = {
    "show_root_heading": "true",
    "show_root_full_path": "false",
    "show_source": "false",
    "heading_level": "3",
    "members_order": "source",
    "show_signature_annotations": "true",
    "filters": '["!^_"]',
}


def _directive(target: str, heading: str, **options: str) -> list[str]:
    merged = _OPTIONS | options
    lines = [f"## {heading}", "", f"::: {target}", "    options:"]
    lines += [f"      {key}: {value}" for key, value in sorted(merged.items())]
    return [*lines, ""]


def _section(name: str) -> list[str]:
    value = getattr(sdk, name)
    heading = f"`atoll.{name}`"
    if inspect.ismodule(value) or inspect.isclass(value):
        return _directive(f"atoll.sdk.{name}", heading)
    if isinstance(value, _log.FunctionLog):
        # The logger is one object; what a function calls on it are the level methods.
        levels = [m for m in vars(_log.FunctionLog) if m in _log.LEVELS]
        return _directive(
            "atoll.sdk._log.FunctionLog",
            heading,
            members=f"[{', '.join(levels)}]",
            show_root_toc_entry="false",
        )
    return _directive(f"atoll.sdk.{name}", heading, show_root_toc_entry="false")


def render() -> dict[str, str]:
    """The SDK reference page."""
    intro = (sdk.__doc__ or "").strip().split("\n\n")[1].split(" Standard library")[0]
    lines = [
        f"# {TITLE}",
        "",
        "Tenant functions import the SDK as `atoll` inside the sandbox "
        "(its source is `src/atoll/sdk/`, hence the `atoll.sdk` paths below).",
        "",
        intro,
        "",
        "```python",
        "import atoll",
        "",
        "def get(request: atoll.Request, done: bool = False):",
        '    atoll.log.info("listing", done=done)',
        '    return atoll.db.execute("SELECT * FROM todos WHERE done = ?", [done])',
        "```",
        "",
    ]
    for name in sorted(sdk.__all__, key=lambda n: (n[0].islower(), n)):
        lines += _section(name)
    return {PATH: page(lines)}
