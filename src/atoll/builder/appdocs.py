"""An app's generated docs: one JSON document per built revision, made from its artifacts.

The document holds the functions' OpenAPI (described from their source in a child
interpreter, ``_describe_functions.py``), the components' props (parsed by the TypeScript
compiler under Node, ``describe_components.mjs``), the checked pages and what they bind,
and the database schema the revision's migrations make on a scratch database. Tenant code
is parsed, never imported or run here. Whatever cannot be described is left out with a
note: documenting never fails a build.

It is kept beside the revision's built folder (``<revision>.docs.json``), outside it: the
built folder's digest names the release's artifacts, and the docs of a dev revision are
written after its build went live (on first request), while a release writes them as part
of its build.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from atoll import dbservice
from atoll.builder.children import ChildFailed, json_child
from atoll.builder.components import COMPONENT_FILE
from atoll.builder.esbuild import find_node_modules
from atoll.builder.frontend import PAGES_FILE
from atoll.dbservice.engine import EngineLimits
from atoll.dbservice.migrations import migrate_scratch
from atoll.dbservice.schema import database_schema
from atoll.errors import AtollError
from atoll.sdk import _openapi_shape as shape

DOCS_FORMAT = 1
DOCS_SUFFIX = ".docs.json"
DESCRIBE_FUNCTIONS = Path(__file__).with_name("_describe_functions.py")
DESCRIBE_COMPONENTS = Path(__file__).with_name("describe_components.mjs")
DESCRIBE_TIMEOUT_S = 30.0  # for each child: the functions' and the components'
MAX_FILES = 200  # function files and components described
MAX_REPLY_CHARS = 8 << 20  # of a child's JSON answer
MAX_MIGRATION_BYTES = 4 << 20  # migrations applied to the scratch database, in all
SCRATCH_LIMITS = EngineLimits(statement_timeout=10.0, max_database_bytes=64 << 20)
MAX_NOTES = 200
_FUNCTION_FILE = re.compile(r"^[^_].*\.py$")


def docs_path(built: Path) -> Path:
    """Where the docs of the revision built into ``built`` are kept."""
    return built.with_name(built.name + DOCS_SUFFIX)


def read_app_docs(built: Path) -> dict[str, Any] | None:
    """The docs kept for the revision built into ``built``, if they were written."""
    try:
        found = json.loads(docs_path(built).read_bytes())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("format") == DOCS_FORMAT else None


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def app_docs(code_dir: Path, built: Path, title: str) -> dict[str, Any]:
    """The docs of a built revision: those kept, else generated now and kept (once, however
    many ask at the same time)."""
    found = read_app_docs(built)
    if found is not None:
        return found
    with _LOCKS_LOCK:
        if len(_LOCKS) > 1024:
            _LOCKS.clear()
        lock = _LOCKS.setdefault(built, threading.Lock())
    with lock:
        found = read_app_docs(built)
        if found is None:
            found = write_app_docs(code_dir, built, title)
        return found


def write_app_docs(code_dir: Path, built: Path, title: str) -> dict[str, Any]:
    """Generate the docs of the revision checked out at ``code_dir`` and built into
    ``built``, and keep them beside it."""
    document = generate_app_docs(code_dir, built, title)
    target = docs_path(built)
    tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(document, separators=(",", ":")), "utf-8")
    tmp.chmod(0o644)
    tmp.replace(target)
    return document


def generate_app_docs(
    code_dir: Path, built: Path, title: str, node_modules: Path | None = None
) -> dict[str, Any]:
    """The docs document of one revision: functions (OpenAPI), components, pages, database,
    and a note for everything that could not be described."""
    notes: list[dict[str, Any]] = []
    with ThreadPoolExecutor(2, thread_name_prefix="atoll-appdocs") as pool:
        functions = pool.submit(describe_functions, code_dir, title)
        components = pool.submit(describe_components, code_dir, node_modules)
        pages = describe_pages(built, notes)
        database = describe_database(code_dir, notes)
        openapi, function_notes = functions.result()
        listed, component_notes = components.result()
    notes = [*function_notes, *component_notes, *notes][:MAX_NOTES]
    return {
        "format": DOCS_FORMAT,
        "title": title,
        "revision": built.name,
        "functions": openapi,
        "components": listed,
        "pages": pages,
        "database": database,
        "notes": notes,
    }


def summary_line(document: dict[str, Any]) -> str:
    """``docs: 4 operations, 1 component, 1 page, 1 table (2 notes)``, for a build log."""
    paths = document.get("functions", {}).get("paths", {})
    operations = sum(1 for item in paths.values() for key in item if key in _METHODS)
    parts = [
        _plural(operations, "operation"),
        _plural(len(document.get("components", [])), "component"),
        _plural(len(document.get("pages", [])), "page"),
        _plural(len(document.get("database", {}).get("tables", [])), "table"),
    ]
    notes = len(document.get("notes", []))
    return "docs: " + ", ".join(parts) + (f" ({_plural(notes, 'note')})" if notes else "")


_METHODS = ("get", "post", "put", "patch", "delete")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _note(part: str, message: str, file: str | None = None) -> dict[str, Any]:
    return {"part": part, "file": file, "line": None, "message": message}


def _run_child(
    command: list[str], request: dict[str, Any], cwd: Path, part: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Run a describing child process on ``request``; its JSON answer, or a note on why not."""
    try:
        found = json_child(command, request, cwd, DESCRIBE_TIMEOUT_S, MAX_REPLY_CHARS)
    except ChildFailed as exc:
        return None, [_note(part, f"could not be described: {exc}")]
    listed = found.get("notes")
    notes = [n for n in listed if isinstance(n, dict)] if isinstance(listed, list) else []
    return found, notes


def _files(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if pattern.match(p.name) and p.is_file() and not p.is_symlink()
    )


def describe_functions(code_dir: Path, title: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The OpenAPI document of the app's functions (``functions/*.py``), and notes."""
    files = _files(code_dir / "functions", _FUNCTION_FILE)
    notes = []
    if len(files) > MAX_FILES:
        notes.append(_note("functions", f"only the first {MAX_FILES} function files are shown"))
    rel = [p.relative_to(code_dir).as_posix() for p in files[:MAX_FILES]]
    if not rel:
        return shape.document(title, {}), notes
    command = [sys.executable, "-I", "-S", str(DESCRIBE_FUNCTIONS)]
    found, more = _run_child(command, {"files": rel, "title": title}, code_dir, "functions")
    openapi = found.get("openapi") if found is not None else None
    if not isinstance(openapi, dict):
        openapi = shape.document(title, {})
    return openapi, notes + more


def describe_components(
    code_dir: Path, node_modules: Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every top-level component (``components/*.jsx|tsx|js|ts``) with its props, and notes."""
    files = _files(code_dir / "components", COMPONENT_FILE)
    if not files:
        return [], []
    notes = []
    if len(files) > MAX_FILES:
        notes.append(_note("components", f"only the first {MAX_FILES} components are shown"))
    rel = [p.relative_to(code_dir).as_posix() for p in files[:MAX_FILES]]
    unlisted: list[dict[str, Any]] = [
        {"name": Path(f).stem, "file": f, "exported": None, "props": []} for f in rel
    ]
    node = shutil.which("node")
    try:
        modules = find_node_modules(node_modules)
    except AtollError:
        modules = None
    if node is None or modules is None or not (modules / "typescript").is_dir():
        notes.append(_note("components", "node or typescript is not installed: no props shown"))
        return unlisted, notes
    command = [node, "--max-old-space-size=512", str(DESCRIBE_COMPONENTS)]
    request = {"files": rel, "nodeModules": str(modules)}
    found, more = _run_child(command, request, code_dir, "components")
    listed = found.get("components") if found is not None else None
    if not isinstance(listed, list):
        return unlisted, notes + more
    return [c for c in listed if isinstance(c, dict)], notes + more


def describe_pages(built: Path, notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each checked page: its route, title, data sources, components and function calls."""
    try:
        pages = json.loads((built / PAGES_FILE).read_bytes())
    except (OSError, ValueError):
        notes.append(_note("pages", "the built pages could not be read"))
        return []
    if not isinstance(pages, dict):
        return []
    return [page_summary(route, page) for route, page in sorted(pages.items())]


def page_summary(route: str, page: dict[str, Any]) -> dict[str, Any]:
    """What one (checked) page shows and calls."""
    data = []
    for name, source in sorted((page.get("data") or {}).items()):
        if not isinstance(source, dict):
            continue
        entry: dict[str, Any] = {"name": name}
        if source.get("function"):
            entry |= {"function": source["function"], "method": source.get("method", "GET")}
            entry["query"] = sorted(source.get("query") or {})
        else:
            entry["value"] = True  # a constant or bound value, no call
        data.append(entry)
    components: dict[str, set[str]] = {}
    calls: set[tuple[str, str]] = set()
    for node in _dicts(page.get("root")):
        props = node.get("props")
        if node.get("type") == "Component" and isinstance(props, dict):
            name = props.get("name")
            if isinstance(name, str):
                components.setdefault(name, set()).update(k for k in props if k != "name")
        if node.get("action") == "call" and isinstance(node.get("function"), str):
            calls.add((node["function"], str(node.get("method", "POST"))))
    return {
        "route": route,
        "title": page.get("title", ""),
        "data": data,
        "components": [{"name": n, "props": sorted(p)} for n, p in sorted(components.items())],
        "calls": [{"function": f, "method": m} for f, m in sorted(calls)],
    }


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Every object inside a JSON value (iteratively: pages may nest deeply)."""
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def describe_database(code_dir: Path, notes: list[dict[str, Any]]) -> dict[str, Any]:
    """The schema the revision's migrations make, applied in order to a scratch database."""
    empty: dict[str, Any] = {"tables": [], "views": [], "migrations": []}
    files = sorted((code_dir / "migrations").glob("*.sql"))
    if not files:
        return empty
    texts: dict[str, str] = {}
    total = 0
    for path in files:
        rel = f"migrations/{path.name}"
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > MAX_MIGRATION_BYTES:
            notes.append(_note("database", "the migrations are too large to apply here", rel))
            return empty
        try:
            texts[rel] = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            notes.append(_note("database", "not UTF-8 text: not applied", rel))
            return empty
    try:
        migrations = dbservice.load_migrations(texts)
    except AtollError as exc:
        notes.append(_note("database", f"the migrations cannot be planned: {exc.message}"))
        return empty
    with tempfile.TemporaryDirectory(prefix="atoll-docs-db-") as tmp:
        scratch = Path(tmp) / "scratch.sqlite"
        report = migrate_scratch(scratch, migrations, limits=SCRATCH_LIMITS)
        if report.error is not None:
            failed = report.outcomes[-1].filename if report.outcomes else None
            where = f"migrations/{failed}" if failed else None
            notes.append(_note("database", f"{report.error}; the schema before it is shown", where))
        try:
            schema = database_schema(scratch) if scratch.exists() else {}
        except Exception as exc:  # apsw's errors: the schema is not needed for the build
            notes.append(_note("database", f"the schema could not be read: {exc}"))
            schema = {}
    applied = [o.filename for o in report.outcomes if o.ok]
    return {**empty, **schema, "migrations": applied}
