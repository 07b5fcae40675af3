"""What the model reads before it acts: the system prompt, which teaches the app contract
from the platform's own code (the page schema's nodes and props, the SDK's docstrings), and
the context pack, a compact map of the app (files with their functions' signatures, pages,
components, migrations, dependencies, the dev database's tables and the last build's
errors) in the spirit of Aider's repo map.

Tenant files are parsed here, never run: a file that is too large or does not parse is
listed by its size only.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
from typing import Any

from atoll import dbservice
from atoll.dbservice.migrations import classify_migration
from atoll.errors import AtollError
from atoll.names import AppEnv
from atoll.sdui import page_json_schema

from .checks import CHECK_ENV
from .draft import Draft

PACK_CHARS = 16_000  # about 4,000 tokens at ~4 characters a token
MAX_PARSED_BYTES = 256 * 1024  # larger files are listed by size only
TOKENS_PER_CHAR = 0.25

ROLE = """You build and change one Atoll app through tools. An Atoll app is:
- functions/NAME.py: Python handlers served at /api/NAME. Module-level functions named get,
  post, put, patch or delete answer those HTTP methods; their parameters come from the
  query string and the JSON body and are checked against their type hints (pydantic
  models welcome); they return JSON-able values. They run in a sandbox with the standard
  library, pydantic, the `atoll` SDK and the packages in [python] dependencies.
- pages/*.json: pages as JSON (schema below), served at / (index.json) and /NAME.
- components/*.jsx: React components a page places with a Component node (React is shared).
  Each renders in its own shadow root: style it with Tailwind classes (compiled into the
  component's own stylesheet) or CSS it imports. npm packages it imports are added to
  components/package.json and installed for you.
- migrations/NNNN_name.sql: SQL migrations of the app's database, applied in order.
- atoll.toml: [python] dependencies (use add_dependency), [limits], [egress] allow.

How to work:
- Read a file (read_file) before you change it; change existing files with edit_file
  (exact text that occurs once), create new ones with write_file. Never write
  placeholders such as "rest of the code unchanged" or a lone "...": write the code.
- After each batch of edits the builder's checks run and you get their errors with file
  and line; fix them. The turn is kept (one revision) only when the checks pass.
- Change the database schema with a new migration (add_migration), never by editing an old
  one; the checks dry-run it on a copy of the dev database, with its data.
- When you are done, answer with a short summary of what you changed, without tool calls.
"""


@functools.cache
def system_prompt() -> str:
    """The agent's system prompt: its role, the SDK and the page schema, from the code."""
    return "\n".join([ROLE, "## The atoll SDK (inside functions)", _sdk(), "", _pages()])


def _sdk() -> str:
    import atoll.sdk as sdk
    from atoll.sdk import db

    lines = [inspect.cleandoc(sdk.__doc__ or "")]
    for name in db.__all__ if hasattr(db, "__all__") else dir(db):
        value = getattr(db, name, None)
        if name.startswith("_") or not inspect.isfunction(value):
            continue
        if getattr(value, "__module__", "") != db.__name__:
            continue
        doc = (inspect.getdoc(value) or "").split("\n\n")[0].replace("\n", " ")
        lines.append(f"- atoll.db.{name}{inspect.signature(value)}: {doc}")
    return "\n".join(lines)


def _pages() -> str:
    """Every node type of the page schema with its props, as one line each."""
    schema = page_json_schema()
    defs: dict[str, Any] = schema.get("$defs", {})
    lines = [
        "## Page JSON",
        f'A page: {_props(schema)}. A node: {{"type": T, "props": {{...}}, '
        '"children": [...], "on": {event: [actions]}}; bind data with {"$bind": "expr"}.',
        "Node types and their props (* required):",
    ]
    for name, node in sorted(defs.items()):
        if not name.endswith("Node") or name in ("Node", "UnknownNode"):
            continue
        props_ref = node.get("properties", {}).get("props", {})
        ref = _ref_name(props_ref)
        props = defs.get(ref, {}) if ref is not None else props_ref
        lines.append(f"- {name.removesuffix('Node')}: {_props(props)}")
    lines.append("Actions (in `on`):")
    for name in sorted(defs):
        if name.endswith("Action"):
            lines.append(f"- {_props(defs[name])}")
    for name, where in (
        ("DataSource", "an entry of a page's `data`"),
        ("Repeat", "a node's `repeat`"),
    ):
        if name in defs:
            lines.append(f"{name} ({where}): {_props(defs[name])}")
    return "\n".join(lines)


def _ref_name(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref") or next(
        (a.get("$ref") for a in prop.get("anyOf", []) if isinstance(a, dict) and a.get("$ref")),
        None,
    )
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _props(model: dict[str, Any]) -> str:
    required = set(model.get("required", []))
    parts = []
    for key, prop in model.get("properties", {}).items():
        kind = _kind(prop)
        parts.append(f"{key}{'*' if key in required else ''}{f': {kind}' if kind else ''}")
    return ", ".join(parts) or "none"


def _kind(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "|".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = prop.get("type")
    return kind if isinstance(kind, str) else ""


# -- the context pack --------------------------------------------------------------------


def context_pack(draft: Draft, tenant: str, build_errors: list[str] | None = None) -> str:
    """The app at a glance, within ``PACK_CHARS``: details of the largest files are left out
    first when it would be longer."""
    paths = draft.paths()
    details = {p: _details(draft, p) for p in paths}
    sections = [f"# App {draft.app.slug!r}: {len(paths)} files"]
    files = _files(draft, paths, details, budget=PACK_CHARS * 3 // 4)
    sections.append("## Files\n" + (files or "(none yet)"))
    sections.append("## Dev database\n" + _tables(draft, tenant))
    if build_errors:
        shown = "\n".join(build_errors[:20])
        sections.append("## Last build errors\n" + shown)
    pack = "\n\n".join(sections)
    return pack if len(pack) <= PACK_CHARS else pack[: PACK_CHARS - 40] + "\n[... map cut to size]"


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (4 characters a token)."""
    return int(len(text) * TOKENS_PER_CHAR) + 1


def _files(draft: Draft, paths: list[str], details: dict[str, list[str]], budget: int) -> str:
    kept = dict(details)
    # Largest details first to go, until the map fits.
    for path in sorted(paths, key=lambda p: -sum(len(x) for x in details[p])):
        text = _render(draft, paths, kept)
        if len(text) <= budget:
            return text
        kept[path] = []
    return _render(draft, paths, kept)[:budget]


def _render(draft: Draft, paths: list[str], details: dict[str, list[str]]) -> str:
    out = []
    for path in paths:
        out.append(f"{path} ({_size(draft.size(path))})")
        out.extend(f"  {line}" for line in details[path])
    return "\n".join(out)


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB"


def _details(draft: Draft, path: str) -> list[str]:
    if draft.size(path) > MAX_PARSED_BYTES:
        return []
    try:
        text = draft.content(path).decode("utf-8")
    except (UnicodeDecodeError, AtollError):
        return []
    try:
        if path.startswith("functions/") and path.endswith(".py"):
            return _python(text)
        if path.startswith("components/") and path.endswith((".jsx", ".tsx", ".js", ".ts")):
            return _component(text)
        if path.startswith("pages/") and path.endswith(".json"):
            return _page(text)
        if path.startswith("migrations/") and path.endswith(".sql"):
            return [classify_migration(text).kind]
        if path == "atoll.toml":
            return [line for line in text.splitlines() if "dependencies" in line][:3]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ["(does not parse)"]
    return []


def _python(text: str) -> list[str]:
    lines = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            lines.append(f"def {node.name}({ast.unparse(node.args)}){returns}")
        elif isinstance(node, ast.ClassDef):
            bases = ", ".join(ast.unparse(b) for b in node.bases)
            fields = [
                f"{ast.unparse(f.target)}: {ast.unparse(f.annotation)}"
                for f in node.body
                if isinstance(f, ast.AnnAssign)
            ]
            head = f"class {node.name}({bases})" if bases else f"class {node.name}"
            lines.append(head + (f": {', '.join(fields)}" if fields else ""))
    return [line[:200] for line in lines]


_EXPORT = re.compile(r"export\s+(default\s+)?function\s+(\w+)\s*\(\s*(\{[^}]*\})?", re.MULTILINE)


def _component(text: str) -> list[str]:
    found = []
    for default, name, props in _EXPORT.findall(text):
        names = [p.split("=")[0].split(":")[0].strip() for p in props.strip("{}").split(",")]
        shown = ", ".join(n for n in names if n and not n.startswith("..."))
        found.append(f"{'default ' if default else ''}{name}({{{shown}}})"[:200])
    return found


def _page(text: str) -> list[str]:
    page = json.loads(text)
    if not isinstance(page, dict):
        return ["(not a page object)"]
    types: dict[str, int] = {}

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 50 or not isinstance(node, dict):
            return
        if isinstance(node.get("type"), str):
            types[node["type"]] = types.get(node["type"], 0) + 1
        for child in node.get("children", []) if isinstance(node.get("children"), list) else []:
            walk(child, depth + 1)

    walk(page.get("root"))
    data = page.get("data")
    sources = ", ".join(sorted(data)) if isinstance(data, dict) else ""
    line = f"title {json.dumps(page.get('title'))}; nodes " + ", ".join(
        f"{t}×{n}" if n > 1 else t for t, n in sorted(types.items())
    )
    return [line[:300]] + ([f"data: {sources}"[:200]] if sources else [])


def _tables(draft: Draft, tenant: str) -> str:
    database = dbservice.DatabaseName.of(AppEnv(tenant=tenant, app=draft.app.slug, env=CHECK_ENV))
    try:
        tables = dbservice.list_tables(draft.cp.settings.data_dir, database)
    except AtollError:
        return "(none yet)"
    if not tables:
        return "(no tables)"
    return "\n".join(
        f"{t.name} ({t.row_count} rows): " + ", ".join(f"{c} {k}".strip() for c, k in t.columns)
        for t in tables
    )
