"""Agent benchmark: what the agent itself costs around the model. Prints one JSON object
measured in one run, in-process on a control plane over a temporary data dir:

- the context pack (the app map sent with every prompt): its size in estimated tokens and
  the time to build it, for ``examples/todo`` and for a generated app of 200 files
  (functions, components, pages, migrations);
- the check cycle after a one-file edit of the todo app: the builder's checks on a draft
  whose function changed (``check_draft``), warm (the first run, which fills caches, is
  reported apart), with the time of each build step;
- the agent's own overhead per tool call: ``Toolbox.call`` for ``read_file`` and
  ``edit_file`` (argument parsing and validation, the read-before-write rule, the blob
  read, line numbering), p50 and p99.

Baselines of the same run: reading the same file's bytes straight from disk and from the
workspace's blob store, and rendering the map with no budget to keep (every detail).

    .venv/bin/python bench/agent.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _stats import pct
from atoll import dbservice
from atoll.agent import context
from atoll.agent.checks import check_draft
from atoll.agent.draft import Draft
from atoll.agent.file_tools import file_tools
from atoll.agent.tools import Toolbox
from atoll.config import Settings
from atoll.dbservice.migrations import load_migrations
from atoll.names import AppEnv
from atoll.releases.buildlog import BuildLog
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App
from atoll.workspace import Change

ROOT = Path(__file__).resolve().parents[1]
TODO = ROOT / "examples" / "todo"
TENANT = "bench"
GENERATED_FILES = 200
WHAT = (
    "in-process on a control plane over a temporary data dir: the context pack's size "
    "(estimated tokens, 4 characters a token) and build time for examples/todo and a "
    "generated 200-file app; the builder's check cycle on the todo app after a one-file "
    "edit; Toolbox.call overhead per read_file and edit_file call"
)
TARGETS = {
    "context_pack_tokens_200_files": 4000,
    "context_pack_ms_200_files": 200.0,
    "check_cycle_s_todo": 1.0,
    "tool_call_overhead_ms": 20.0,
}

FUNCTION = '''"""Generated function {n}."""

from pydantic import BaseModel, Field

import atoll


class Item{n}(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    amount: int = {n}


def get(limit: int = 10, offset: int = 0) -> list[dict[str, object]]:
    rows = atoll.db.execute("SELECT * FROM t{t} LIMIT ? OFFSET ?", [limit, offset])
    return [dict(r) for r in rows]


def post(body: Item{n}) -> dict[str, object]:
    atoll.db.execute("INSERT INTO t{t} (name) VALUES (?)", [body.name])
    return body.model_dump()
'''
COMPONENT = """import {{ useState }} from "react";

export default function Widget{n}({{ label = "widget {n}", start = 0, step = {n} }}) {{
  const [count, setCount] = useState(start);
  return <button onClick={{() => setCount(count + step)}}>{{label}}: {{count}}</button>;
}}
"""


def summary(samples_ms: list[float]) -> dict[str, Any]:
    """n, p50, p99 and max of a list of milliseconds."""
    return {
        "n": len(samples_ms),
        "p50_ms": pct(samples_ms, 50, 3),
        "p99_ms": pct(samples_ms, 99, 3),
        "max_ms": round(max(samples_ms), 3),
    }


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    """Milliseconds of ``runs`` calls of ``fn``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


# -- apps --------------------------------------------------------------------------------


def todo_files() -> dict[str, bytes]:
    """examples/todo as workspace paths and contents."""
    return {
        str(p.relative_to(TODO)): p.read_bytes() for p in sorted(TODO.rglob("*")) if p.is_file()
    }


def generated_files(total: int) -> dict[str, bytes]:
    """An app of ``total`` files: 40% functions, 25% components, 25% pages, the rest
    migrations, and atoll.toml."""
    files = {"atoll.toml": b'name = "big"\n\n[python]\ndependencies = []\n'}
    shares = {"functions": 0.4, "components": 0.25, "pages": 0.25}
    counts = {kind: int((total - 1) * share) for kind, share in shares.items()}
    counts["migrations"] = total - 1 - sum(counts.values())
    for n in range(counts["migrations"]):
        sql = f"CREATE TABLE t{n} (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        files[f"migrations/{n + 1:04}_t{n}.sql"] = sql.encode()
    for n in range(counts["functions"]):
        text = FUNCTION.format(n=n, t=n % counts["migrations"])
        files[f"functions/items_{n:03}.py"] = text.encode()
    for n in range(counts["components"]):
        files[f"components/Widget{n:03}.jsx"] = COMPONENT.format(n=n).encode()
    for n in range(counts["pages"]):
        page = {
            "schemaVersion": 1,
            "title": f"Page {n}",
            "data": {"items": {"function": f"items_{n:03}"}},
            "root": {
                "type": "Stack",
                "children": [
                    {"type": "Heading", "props": {"text": f"Page {n}"}},
                    {"type": "Component", "props": {"name": f"Widget{n:03}"}},
                    {
                        "type": "Table",
                        "props": {
                            "rows": {"$bind": "data.items"},
                            "columns": [{"key": "name", "label": "Name"}],
                        },
                    },
                ],
            },
        }
        files[f"pages/page_{n:03}.json"] = json.dumps(page, indent=2).encode()
    assert len(files) == total, len(files)
    return files


def make_app(cp: ControlPlane, slug: str, files: dict[str, bytes]) -> App:
    """An app of ``files`` at one revision, with a dev database migrated as dev would."""
    with cp.engine.begin() as conn:
        tenant = tenant_repo.get_tenant(conn, TENANT)
        app = app_repo.create_app(conn, tenant.id, slug)
    changes = [Change(path, cp.workspaces.put_blob(app, data)) for path, data in files.items()]
    cp.workspaces.commit(app, None, changes, "bench", "start")
    database = dbservice.DatabaseName.of(AppEnv(tenant=TENANT, app=slug, env="dev"))
    dbservice.create_database(cp.settings.data_dir, database)
    sql = {
        p.removeprefix("migrations/"): d.decode()
        for p, d in files.items()
        if p.startswith("migrations/")
    }
    dbservice.apply_migrations(cp.settings.data_dir, database, load_migrations(sql))
    with cp.engine.connect() as conn:
        return app_repo.get_app(conn, tenant.id, slug)


# -- the measurements ----------------------------------------------------------------------


def bench_pack(cp: ControlPlane, app: App, runs: int) -> dict[str, Any]:
    """The context pack of ``app``: its size, and how long building it takes (each run on a
    fresh draft, as each turn starts with one)."""
    pack = context.context_pack(Draft.of_head(cp, app), TENANT)
    samples = timed(lambda: context.context_pack(Draft.of_head(cp, app), TENANT), runs)
    draft = Draft.of_head(cp, app)
    paths = draft.paths()
    full = context._render(draft, paths, {p: context._details(draft, p) for p in paths})
    return {
        "files": len(paths),
        "chars": len(pack),
        "tokens_estimate": context.estimate_tokens(pack),
        "cut_to_size": pack.endswith("[... map cut to size]"),
        "build": summary(samples),
        "uncut_map_tokens_estimate_baseline": context.estimate_tokens(full),
    }


def bench_check_cycle(cp: ControlPlane, app: App, runs: int) -> dict[str, Any]:
    """``check_draft`` after one edit of the todo app's function: the first run apart (it
    installs and fills caches), then warm runs, each with a different edit."""
    source = (TODO / "functions" / "todos.py").read_text()
    first: float | None = None
    samples: list[float] = []
    lines: list[str] = []
    for n in range(runs + 1):
        draft = Draft.of_head(cp, app)
        draft.write("functions/todos.py", f"{source}\n# edit {n}\n".encode())
        log = BuildLog()
        start = time.perf_counter()
        errors = check_draft(draft, TENANT, log)
        took = (time.perf_counter() - start) * 1000
        if errors:
            raise SystemExit(f"the todo app does not check: {errors}")
        if first is None:
            first = took
        else:
            samples.append(took)
            lines = log.lines
    return {
        "first_ms": round(first or 0.0, 1),
        "warm": summary(samples),
        "build_log_of_a_warm_run": lines,
    }


def bench_tool_calls(cp: ControlPlane, app: App, runs: int, work: Path) -> dict[str, Any]:
    """``Toolbox.call`` of read_file and edit_file on the todo function, against reading the
    same bytes from disk and from the blob store."""
    draft = Draft.of_head(cp, app)
    toolbox = Toolbox(file_tools(draft))
    path = "functions/todos.py"
    read_args = json.dumps({"path": path})
    edits = [
        json.dumps({"path": path, "search": "max_length=200", "replace": "max_length=201"}),
        json.dumps({"path": path, "search": "max_length=201", "replace": "max_length=200"}),
    ]
    assert toolbox.call("read_file", read_args).ok
    reads = timed(lambda: toolbox.call("read_file", read_args), runs)
    counter = iter(range(10**9))

    def edit() -> None:
        result = toolbox.call("edit_file", edits[next(counter) % 2])
        if not result.ok:
            raise SystemExit(f"edit_file failed: {result.text}")

    edit_samples = timed(edit, runs)
    on_disk = work / "todos.py"
    on_disk.write_bytes((TODO / "functions" / "todos.py").read_bytes())
    base = Draft.of_head(cp, app)
    blob_id = base.base.tree[path][0] if base.base is not None else ""
    blobs = cp.workspaces.blobs(app)
    return {
        "read_file": summary(reads),
        "edit_file": summary(edit_samples),
        "bare_disk_read_baseline": summary(timed(on_disk.read_bytes, runs)),
        "blob_store_read_baseline": summary(timed(lambda: blobs.get(blob_id), runs)),
    }


def main() -> None:
    """Measure everything on one control plane and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (5 and 100)")
    args = parser.parse_args()
    pack_runs, check_runs, call_runs = (3, 2, 100) if args.quick else (20, 10, 2000)
    load_before = round(os.getloadavg()[0], 2)
    work = Path(tempfile.mkdtemp(prefix="atoll-bench-agent-"))
    cp = ControlPlane.open(Settings(data_dir=work / "data"))
    try:
        with cp.engine.begin() as conn:
            tenant_repo.create_tenant(conn, TENANT)
        todo = make_app(cp, "todo", todo_files())
        big = make_app(cp, "big", generated_files(GENERATED_FILES))
        packs = {
            "todo": bench_pack(cp, todo, pack_runs),
            f"generated_{GENERATED_FILES}_files": bench_pack(cp, big, pack_runs),
        }
        check_cycle = bench_check_cycle(cp, todo, check_runs)
        calls = bench_tool_calls(cp, todo, call_runs, work)
    finally:
        cp.close()
        shutil.rmtree(work, ignore_errors=True)
    big_pack = packs[f"generated_{GENERATED_FILES}_files"]
    measured = {
        "context_pack_tokens_200_files": big_pack["tokens_estimate"],
        "context_pack_ms_200_files": big_pack["build"]["p50_ms"],
        "check_cycle_s_todo": round(check_cycle["warm"]["p50_ms"] / 1000, 3),
        "tool_call_overhead_ms": max(calls["read_file"]["p50_ms"], calls["edit_file"]["p50_ms"]),
    }
    report = {
        "benchmark": "agent",
        "what": WHAT,
        "context_pack": packs,
        "check_cycle_todo": check_cycle,
        "tool_calls": calls,
        "targets": TARGETS,
        "measured": measured,
        "targets_met": {key: measured[key] <= TARGETS[key] for key in TARGETS},
        "how_judged": "p50s: the 200-file app's pack build; the warm check cycle; the worse "
        "of read_file and edit_file per call",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "settings": {
            "pack_runs": pack_runs,
            "check_runs": check_runs,
            "call_runs": call_runs,
            "quick": args.quick,
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
