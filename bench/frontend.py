"""Frontend benchmark: component bundle sizes, build times and first render in Chromium.

Prints one JSON object. Baselines measured in the same run: the same components bundled with
React inlined, and with React + ReactDOM inlined (a micro-frontend that mounts itself); and
the same page with built-in nodes in place of components (what components add to render).
Build times of the inlined baseline are for the self-mounting bundles.

The design system: the runtime's CSS + JS a page without charts fetches beyond React (gz,
target <= 60 KB) and the chart chunk only chart pages fetch; and first render of a dashboard
(AppShell, stats, table, tabs, badges, a chart) against a page of plain built-ins (Stack,
Heading, Text) with the same number of nodes, in the same run.

Tailwind: a build of one component written with Tailwind classes against the same component
styled by its own CSS file, in the same run (the Tailwind compile is the difference), and the
gzipped size of the stylesheet each gets.

    .venv/bin/python bench/frontend.py [--components 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atoll.builder.components import FILE_LOADERS, build_components
from atoll.builder.esbuild import find_node_modules, run_driver
from atoll.builder.frontend import AppFrontend, build_frontend
from atoll.builder.platform import (
    EXTERNALS,
    PRODUCTION_DEFINE,
    PlatformAssets,
    build_platform_assets,
)
from atoll.gateway.app import frontend_response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

COMPONENT = """import {{ useMemo, useState }} from "react";
import {{ money, plural }} from "./lib/format.js";
import "./{name}.css";

const SEED = {seed};

export default function {name}({{ title = "{name}", items = [] }}) {{
  const [count, setCount] = useState(SEED);
  const [filter, setFilter] = useState("");
  const shown = useMemo(
    () => items.filter((i) => String(i.label).toLowerCase().includes(filter.toLowerCase())),
    [items, filter],
  );
  const total = shown.reduce((sum, i) => sum + i.price * {seed}, 0);
  return (
    <section className="card-{seed}">
      <h3>{{title}}</h3>
      <input value={{filter}} placeholder="Filter" onChange={{(e) => setFilter(e.target.value)}} />
      <ul>{{shown.map((i) => <li key={{i.label}}>{{i.label}}: {{money(i.price)}}</li>)}}</ul>
      <p>{{plural(shown.length, "item")}}, total {{money(total)}}</p>
      <button onClick={{() => setCount(count + {seed})}}>Clicked {{count}} times</button>
    </section>
  );
}}
"""
CSS = ".card-{seed} {{ padding: {seed}px; border: 1px solid #ccc; }} button {{ color: teal; }}\n"
LIB = """export const money = (n) => `$${n.toFixed(2)}`;
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
"""
CARD = """export default function Card({{ title = "Card", items = ["a", "b"] }}) {{
  return (
    <section className="{section}">
      <h3 className="{heading}">{{title}}</h3>
      <ul className="{list}">{{items.map((i) => <li key={{i}} className="{item}">{{i}}</li>)}}</ul>
      <button className="{button}">OK</button>
    </section>
  );
}}
"""
TAILWIND_CLASSES = {
    "section": "p-4 rounded-lg shadow bg-white text-slate-800 space-y-2",
    "heading": "text-lg font-semibold",
    "list": "divide-y divide-slate-200",
    "item": "py-1 flex justify-between",
    "button": "px-3 py-1 rounded bg-blue-600 text-white hover:bg-blue-700",
}
CARD_CSS = """.section { padding: 16px; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
.heading { font-size: 18px; font-weight: 600 } .list li + li { border-top: 1px solid #ddd }
.item { display: flex; justify-content: space-between; padding: 4px 0 }
.button { padding: 4px 12px; border-radius: 4px; background: #2563eb; color: white }
"""


def gz(data: bytes) -> int:
    """Size after gzip -9."""
    return len(gzip.compress(data, 9))


def summary(values: list[float]) -> dict[str, float]:
    """Median and 90th percentile, rounded."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 2), "p90": round(p90, 2), "n": len(ordered)}


def make_app_dir(root: Path, count: int) -> tuple[Path, list[str]]:
    """An app with ``count`` components sharing components/lib, and two pages."""
    names = [f"Widget{i}" for i in range(count)]
    comp = root / "components"
    (comp / "lib").mkdir(parents=True)
    (comp / "lib" / "format.js").write_text(LIB)
    for seed, name in enumerate(names, start=1):
        (comp / f"{name}.jsx").write_text(COMPONENT.format(name=name, seed=seed))
        (comp / f"{name}.css").write_text(CSS.format(seed=seed))
    items = [{"label": f"thing {i}", "price": i + 0.5} for i in range(5)]
    with_components = [{"type": "Component", "props": {"name": n, "items": items}} for n in names]
    with_builtins = [{"type": "Text", "props": {"text": f"{n} placeholder"}} for n in names]
    (root / "pages").mkdir()
    for page, children in (("index", with_components), ("builtins", with_builtins)):
        doc = {"schemaVersion": 1, "title": page, "root": {"type": "Stack", "children": children}}
        (root / "pages" / f"{page}.json").write_text(json.dumps(doc))
    return root, names


MOUNT = """import {{ createElement }} from "react";
import {{ createRoot }} from "react-dom/client";
import Component from "../components/{name}.jsx";
export default Component;
export const mount = (el, props) => createRoot(el).render(createElement(Component, props));
"""


def write_mount_entries(app: Path, names: list[str]) -> None:
    """Self-mounting wrappers: what a micro-frontend shipping its own React needs."""
    (app / "mount").mkdir()
    for name in names:
        (app / "mount" / f"{name}.jsx").write_text(MOUNT.format(name=name))


def esbuild_options(
    app: Path, out: Path, names: list[str], inline_react: bool, folder: str = "components"
) -> dict[str, Any]:
    """The builder's options; with ``inline_react`` each bundle carries its own React."""
    options: dict[str, Any] = {
        "entryPoints": {n: str(app / folder / f"{n}.jsx") for n in names},
        "absWorkingDir": str(app),
        "outdir": str(out),
        "bundle": True,
        "format": "esm",
        "minify": True,
        "metafile": True,
        "target": "es2022",
        "jsx": "automatic",
        "loader": FILE_LOADERS,
        "define": PRODUCTION_DEFINE,
        "entryNames": "[name]-[hash]",
        "logLevel": "silent",
    }
    if inline_react:
        options["nodePaths"] = [str(find_node_modules())]
    else:
        options |= {"external": EXTERNALS, "splitting": True, "chunkNames": "chunks/[name]-[hash]"}
    return options


def own_code_gz(app: Path, names: list[str], out: Path) -> dict[str, int]:
    """Each component's own code (its file alone, minified, nothing bundled), gzipped."""
    options = esbuild_options(app, out, names, inline_react=False)
    options |= {"bundle": False, "splitting": False}
    options.pop("external")
    options.pop("chunkNames")
    run_driver({"cmd": "build", "options": options}, find_node_modules())
    sizes: dict[str, int] = {}
    for name in names:
        (file,) = out.glob(f"{name}-*.js")
        sizes[name] = gz(file.read_bytes())
    return sizes


def bundle_sizes(metafile: dict[str, Any], app: Path) -> dict[str, int]:
    """Entry name -> gz size of its output JS."""
    sizes: dict[str, int] = {}
    for path, output in metafile["outputs"].items():
        if output.get("entryPoint") and path.endswith(".js"):
            sizes[Path(output["entryPoint"]).stem] = gz((app / path).read_bytes())
    return sizes


def time_builds(
    app: Path, work: Path, names: list[str], inline: bool, runs: int, folder: str = "components"
) -> dict[str, Any]:
    """Cold build (fresh esbuild), then rebuilds after editing one component."""
    modules = find_node_modules()
    cold, single, rebuild = [], [], []
    target = app / "components" / f"{names[0]}.jsx"
    original = target.read_text()
    for run in range(runs):
        edits = [
            [
                str(target),
                original.replace('placeholder="Filter"', f'placeholder="Filter {run}-{i}"'),
            ]
            for i in range(5)
        ]
        reply = run_driver(
            {
                "cmd": "incremental",
                "options": esbuild_options(app, work / f"t{inline}{run}", names, inline, folder),
                "edits": edits,
            },
            modules,
        )
        cold.append(reply["coldMs"] / len(names))
        rebuild.extend(reply["rebuildMs"])
        one = run_driver(
            {
                "cmd": "incremental",
                "options": esbuild_options(
                    app, work / f"s{inline}{run}", names[:1], inline, folder
                ),
                "edits": [],
            },
            modules,
        )
        single.append(one["coldMs"])
    target.write_text(original)
    return {
        "cold_ms_per_component_in_batch": summary(cold),
        "cold_ms_single_component": summary(single),
        "incremental_rebuild_ms": summary(rebuild),
    }


def time_tailwind(work: Path, runs: int) -> dict[str, Any]:
    """``build_components`` of one Tailwind component against the same one with its own CSS."""
    plain = {key: key for key in TAILWIND_CLASSES}
    apps = {"tailwind": (TAILWIND_CLASSES, ""), "own_css_baseline": (plain, CARD_CSS)}
    result: dict[str, Any] = {}
    for label, (classes, css) in apps.items():
        app = work / f"tw-{label}" / "components"
        app.mkdir(parents=True)
        (app / "Card.jsx").write_text(
            ('import "./Card.css";\n' if css else "") + CARD.format(**classes)
        )
        if css:
            (app / "Card.css").write_text(css)
        times = []
        for run in range(runs):
            out = work / f"tw-{label}-out{run}"
            t0 = time.perf_counter()
            manifest = build_components(app.parent, out)
            times.append((time.perf_counter() - t0) * 1000)
        sheet = manifest.components["Card"].css
        result[label] = {
            "build_components_ms": summary(times),
            "stylesheet_gz_bytes": gz((out / sheet).read_bytes()) if sheet else 0,
        }
    result["tailwind_compile_ms_median"] = round(
        result["tailwind"]["build_components_ms"]["median"]
        - result["own_css_baseline"]["build_components_ms"]["median"],
        1,
    )
    return result


def free_port() -> int:
    """A free TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(frontend: AppFrontend) -> Iterator[str]:
    """Serve pages and assets of ``frontend`` on a local port."""

    async def dispatch(request: Request) -> Response:
        found = frontend_response(frontend, request.url.path)
        return found if found is not None else Response(status_code=404)

    port = free_port()
    app = Starlette(routes=[Route("/{path:path}", dispatch)])
    server = uvicorn.Server(
        uvicorn.Config(app, port=port, log_level="warning", ws="none", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Records when every component host is ready (or, for the baseline, when the texts are shown).
READY_SCRIPT = """
window.__ready = null;
new MutationObserver((_, obs) => {
  const hosts = document.querySelectorAll('atoll-component');
  const texts = document.querySelectorAll('.atoll-text');
  const done = hosts.length
    ? [...hosts].every((h) => h.dataset.state === 'ready')
    : texts.length >= %d;
  if (done && window.__ready === null) { window.__ready = performance.now(); obs.disconnect(); }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def first_render(base: str, count: int, runs: int) -> dict[str, Any]:
    """Time to a fully rendered page (cold cache and warm cache), and the JS it fetched."""
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, route in (("components", "/"), ("builtins_baseline", "/builtins")):
            cold, warm = [], []
            for _ in range(runs):
                context = browser.new_context()
                page = context.new_page()
                page.add_init_script(READY_SCRIPT % count)
                urls: list[str] = []
                page.on("request", lambda r, urls=urls: urls.append(r.url))
                for bucket in (cold, warm):
                    page.goto(base + route)
                    page.wait_for_function("window.__ready !== null")
                    bucket.append(float(page.evaluate("window.__ready")))
                if label == "components":
                    result["js_urls"] = sorted({u for u in urls if u.endswith(".js")})
                context.close()
            result[label] = {"cold_cache_ms": summary(cold), "warm_cache_ms": summary(warm)}
        browser.close()
    return result


def dashboard_pages(rows: int) -> dict[str, dict[str, Any]]:
    """A dashboard of design-system nodes, and a page of plain built-ins with as many nodes."""
    data = [
        {"name": f"Customer {i}", "stage": ("won", "lead")[i % 2], "value": i * 100}
        for i in range(rows)
    ]
    months = [
        {"month": m, "won": 10 + i * 3, "pipeline": 20 + i * 2}
        for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun"])
    ]
    stats = [
        {
            "type": "Stat",
            "props": {
                "label": f"Stat {i}",
                "value": i * 10,
                "delta": "+1",
                "trend": "up",
                "icon": "users",
            },
        }
        for i in range(4)
    ]
    columns = [
        {"key": "name", "label": "Name"},
        {"key": "stage", "label": "Stage", "format": "badge", "tones": {"won": "success"}},
        {"key": "value", "label": "Value", "format": "money"},
    ]
    children = [
        {"type": "Heading", "props": {"text": "Dashboard", "level": 1}},
        {"type": "Grid", "props": {"columns": 4}, "children": stats},
        {
            "type": "Card",
            "props": {"title": "Revenue"},
            "children": [
                {
                    "type": "Chart",
                    "props": {
                        "kind": "area",
                        "data": {"$bind": "data.months"},
                        "x": "month",
                        "y": ["won", "pipeline"],
                    },
                }
            ],
        },
        {
            "type": "Tabs",
            "props": {"tabs": [{"label": "Table"}, {"label": "Notes"}]},
            "children": [
                {"type": "Table", "props": {"rows": {"$bind": "data.rows"}, "columns": columns}},
                {"type": "Text", "props": {"text": "notes"}},
            ],
        },
        {"type": "Badge", "id": "bench-end", "props": {"text": "end"}},
    ]
    dashboard = {
        "type": "AppShell",
        "props": {
            "title": "Bench",
            "nav": [{"label": "Dashboard", "to": "/dashboard"}, {"label": "Plain", "to": "/plain"}],
        },
        "children": children,
    }

    def count(node: dict[str, Any]) -> int:
        return 1 + sum(count(c) for c in node.get("children", []))

    # Same node count (the table's rows and cells counted as nodes: each is a Text here).
    size = count(dashboard) + rows * len(columns) + len(months) - 1
    plain = {
        "type": "Stack",
        "children": [
            {"type": "Heading", "props": {"text": "Plain", "level": 1}},
            *({"type": "Text", "props": {"text": f"line {i}"}} for i in range(size - 3)),
            {"type": "Text", "id": "bench-end", "props": {"text": "end"}},
        ],
    }
    values = {"rows": {"value": data}, "months": {"value": months}}
    return {
        "dashboard": {"schemaVersion": 1, "data": values, "root": dashboard},
        "plain": {"schemaVersion": 1, "root": plain},
        "nodes": {"count": size},  # not a page: removed by the caller
    }


# Records when `#bench-end` (and, on a chart page, the chart's SVG) is in the document.
END_SCRIPT = """
window.__ready = null;
new MutationObserver((_, obs) => {
  const end = document.getElementById('bench-end');
  const chart = document.querySelector('figure.atoll-chart');
  const drawn = !chart || chart.querySelector('svg');
  if (end && drawn && window.__ready === null) {
    window.__ready = performance.now();
    obs.disconnect();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def design_render(base: str, platform: PlatformAssets, runs: int) -> dict[str, Any]:
    """First render of the dashboard and the plain page, and the runtime files each fetched."""
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {}
    vendor = {platform.url_prefix + f for f in platform.vendor_files}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label in ("dashboard", "plain"):
            cold, warm = [], []
            fetched: set[str] = set()
            for _ in range(runs):
                context = browser.new_context()
                page = context.new_page()
                page.add_init_script(END_SCRIPT)
                page.on("request", lambda r, into=fetched: into.add(r.url))
                for bucket in (cold, warm):
                    page.goto(base + "/" + label)
                    page.wait_for_function("window.__ready !== null")
                    bucket.append(float(page.evaluate("window.__ready")))
                context.close()
            paths = {"/" + u.split("/", 3)[3] for u in fetched}
            result[label] = {
                "cold_cache_ms": summary(cold),
                "warm_cache_ms": summary(warm),
                "runtime_files": sorted(
                    p
                    for p in paths
                    if p.startswith(platform.url_prefix)
                    and p not in vendor
                    and p.endswith((".js", ".css"))
                ),
            }
        browser.close()
    return result


def main() -> None:
    """Run everything and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--components", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="atoll-bench-"))
    try:
        app, names = make_app_dir(work / "app", args.components)
        design = dashboard_pages(rows=20)
        design_nodes = design.pop("nodes")["count"]
        for name, doc in design.items():
            (app / "pages" / f"{name}.json").write_text(json.dumps(doc))
        platform = build_platform_assets()
        vendor_gz = sum(gz((platform.root / f).read_bytes()) for f in platform.vendor_files)
        modules = find_node_modules()
        shared = run_driver(
            {"cmd": "build", "options": esbuild_options(app, work / "shared", names, False)},
            modules,
        )
        inlined = run_driver(
            {"cmd": "build", "options": esbuild_options(app, work / "inlined", names, True)},
            modules,
        )
        write_mount_entries(app, names)
        mounting = run_driver(
            {
                "cmd": "build",
                "options": esbuild_options(app, work / "mounting", names, True, "mount"),
            },
            modules,
        )
        shared_gz = bundle_sizes(shared["metafile"], app)
        inlined_gz = bundle_sizes(inlined["metafile"], app)
        mounting_gz = bundle_sizes(mounting["metafile"], app)
        chunk_gz = sum(gz(p.read_bytes()) for p in (work / "shared" / "chunks").glob("*.js"))
        own = own_code_gz(app, names, work / "own")
        overhead = [shared_gz[n] - own[n] for n in names]

        t0 = time.perf_counter()
        build = build_frontend(app, work / "release")
        build_wall_ms = (time.perf_counter() - t0) * 1000
        shared_times = time_builds(app, work / "times", names, False, args.runs)
        inlined_times = time_builds(
            app, work / "times", names, True, max(2, args.runs // 2), "mount"
        )
        tailwind_times = time_tailwind(work, args.runs)

        frontend = AppFrontend.load(work / "release", platform)
        with serve(frontend) as base:
            render = first_render(base, len(names), args.runs)
            designed = design_render(base, platform, args.runs)

        def runtime_gz(paths: list[str]) -> int:
            return sum(
                gz((platform.root / p[len(platform.url_prefix) :]).read_bytes()) for p in paths
            )

        plain_files = designed["plain"].pop("runtime_files")
        dashboard_files = designed["dashboard"].pop("runtime_files")
        chart_only = [p for p in dashboard_files if "/chart-" in p]
        runtime_no_charts = runtime_gz(plain_files)
        page_js = 0
        for url in render.pop("js_urls"):
            asset = frontend.asset("/" + url.split("/", 3)[3])
            if asset is not None:
                page_js += gz(asset.path.read_bytes())
        reference = vendor_gz + sum(own.values())
        out = {
            "benchmark": "frontend",
            "components": len(names),
            "bundle_gz_bytes": {
                "per_component_shared_react": summary([float(v) for v in shared_gz.values()]),
                "per_component_inlined_react_baseline": summary(
                    [float(v) for v in inlined_gz.values()]
                ),
                "per_component_inlined_react_and_react_dom_baseline": summary(
                    [float(v) for v in mounting_gz.values()]
                ),
                "per_component_own_code": summary([float(v) for v in own.values()]),
                "per_component_beyond_own_code": summary([float(v) for v in overhead]),
                "shared_lib_chunks": chunk_gz,
                "vendor_react_once": vendor_gz,
            },
            "build_ms": {
                "shared_react": shared_times,
                "inlined_react_and_react_dom_baseline": inlined_times,
                "build_frontend_wall_ms_total": round(build_wall_ms, 1),
                "build_frontend_wall_ms_per_component": round(build_wall_ms / len(names), 1),
                "one_component_tailwind_against_own_css": tailwind_times,
            },
            "first_render_10_components": render,
            "design_system": {
                "runtime_css_js_gz_bytes_page_without_charts": runtime_no_charts,
                "chart_chunk_gz_bytes_chart_pages_only": runtime_gz(chart_only),
                "rich_chunk_gz_bytes_pages_with_tables_tabs_dialogs_shell": runtime_gz(
                    [p for p in dashboard_files if "/rich-" in p]
                ),
                "chart_files_fetched_by_page_without_charts": [
                    p for p in plain_files if "/chart-" in p
                ],
                "first_render_nodes_per_page": design_nodes,
                "first_render_dashboard": designed["dashboard"],
                "first_render_plain_builtins_baseline": designed["plain"],
            },
            "page_js_gz_bytes": {
                "total_fetched": page_js,
                "vendor_plus_own_code": reference,
                "ratio": round(page_js / reference, 3),
            },
            "targets": {
                "beyond_own_code_le_1024": max(overhead) <= 1024,
                "cold_build_le_20ms_per_component": shared_times["cold_ms_per_component_in_batch"][
                    "median"
                ]
                <= 20,
                "page_js_ratio_le_1_2": page_js / reference <= 1.2,
                "runtime_without_charts_le_60kb": runtime_no_charts <= 60 * 1024,
            },
            "warnings": build.warnings,
        }
        print(json.dumps(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
