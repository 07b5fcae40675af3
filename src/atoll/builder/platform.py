"""The platform's own browser assets: the shared React vendor bundle and the SDUI runtime.

Built once per installation (and again only when ``web/`` or React change) into
``src/atoll/sdui/static/<stamp>/``; every app's pages load them from the same URLs, so a
browser fetches React once and keeps it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from atoll.builder.esbuild import (
    DRIVER,
    REPO_ROOT,
    BuildMessage,
    build_failed,
    find_node_modules,
    run_driver,
)
from atoll.builder.metafile import inlined_react

STATIC_DIR = Path(__file__).resolve().parents[1] / "sdui" / "static"
WEB_DIR = REPO_ROOT / "web"
STATIC_URL = "/_atoll/static/"
UI_SPECIFIER = "@atoll/ui"
# Specifier -> (vendor entry name, package whose named exports are re-exported).
VENDOR_ENTRIES: dict[str, tuple[str, str]] = {
    "react": ("react", "react"),
    "react/jsx-runtime": ("react-jsx-runtime", "react/jsx-runtime"),
    "react-dom": ("react-dom", "react-dom"),
    "react-dom/client": ("react-dom-client", "react-dom/client"),
}
SHARED_SPECIFIERS = frozenset([*VENDOR_ENTRIES, UI_SPECIFIER])
EXTERNALS = ["react", "react/*", "react-dom", "react-dom/*", UI_SPECIFIER]
PRODUCTION_DEFINE = {"process.env.NODE_ENV": '"production"'}
# Runtime modules (web/runtime/<name>.js) loaded on demand, each built into a chunk of its own.
LAZY_MODULES = ("rich", "chart")
# Node types whose code is in each lazy chunk (and a Button with `confirm`, for its dialog).
LAZY_NODE_TYPES = {
    "rich": frozenset({"AppShell", "Dialog", "Table", "Tabs"}),
    "chart": frozenset({"Chart"}),
}


@dataclass(frozen=True)
class PlatformAssets:
    """Where the platform's browser files are, and the URLs and import map pages use."""

    root: Path
    url_prefix: str
    stamp: str
    import_map: dict[str, str]
    runtime_js: str
    runtime_css: str
    vendor_files: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    # Chunks the runtime imports on demand (``rich``: tables, tabs, dialogs, the app shell;
    # ``chart``) -> URL, preloaded by pages that have such nodes.
    lazy_chunks: dict[str, str] = field(default_factory=dict)

    @property
    def preload(self) -> list[str]:
        """Module URLs worth ``<link rel=modulepreload>``: React and the runtime."""
        return [self.url_prefix + f for f in self.vendor_files] + [self.runtime_js]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (stored as ``.platform.json``)."""
        return {**asdict(self), "root": str(self.root)}


def _sources_stamp(web_dir: Path, node_modules: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in (web_dir / "runtime").rglob("*") if p.is_file())
    for path in [*files, DRIVER, Path(__file__)]:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("react", "react-dom", "esbuild"):
        digest.update((node_modules / package / "package.json").read_bytes())
    return digest.hexdigest()[:16]


def _vendor_shims(shim_dir: Path, node_modules: Path) -> dict[str, str]:
    packages = sorted({pkg for _, pkg in VENDOR_ENTRIES.values()})
    reply = run_driver({"cmd": "exports", "names": packages}, node_modules)
    entries: dict[str, str] = {}
    for name, package in VENDOR_ENTRIES.values():
        names = reply["exports"][package]
        # React ships CommonJS: re-export its named exports so `import {useState}` works.
        shim = f'import M from "{package}";\nexport default M;\n'
        if names:
            shim += f"export const {{ {', '.join(names)} }} = M;\n"
        path = shim_dir / f"{name}.js"
        path.write_text(shim)
        entries[name] = str(path)
    return entries


def _build(options: dict[str, Any], node_modules: Path, what: str) -> dict[str, Any]:
    reply = run_driver({"cmd": "build", "options": options}, node_modules)
    if not reply["ok"]:
        messages = [BuildMessage.from_driver(m) for m in reply["errors"]]
        raise build_failed(f"building the {what} failed", messages)
    metafile: dict[str, Any] = reply["metafile"]
    return metafile


def entry_outputs(metafile: dict[str, Any], base: Path, out_dir: Path) -> dict[str, dict[str, Any]]:
    """Entry file stem -> its outputs (``js``, ``css``) relative to ``out_dir``.

    Paths in a metafile are relative to esbuild's working directory ``base``.
    """
    found: dict[str, dict[str, Any]] = {}
    for out_path, output in metafile["outputs"].items():
        entry = output.get("entryPoint")
        if entry and out_path.endswith(".js"):
            css = output.get("cssBundle")
            found[Path(entry).stem] = {
                "js": os.path.relpath(base / out_path, out_dir),
                "css": os.path.relpath(base / css, out_dir) if css else None,
                "entry": entry,
                "bytes": output.get("bytes", 0),
                "imports": [i["path"] for i in output.get("imports", [])],
            }
    return found


def build_stamped(
    static_dir: Path,
    stamp: str,
    manifest_name: str,
    build: Callable[[Path], dict[str, Any]],
) -> dict[str, Any]:
    """The manifest of the build ``static_dir/<stamp>/``, built first unless it is there.

    ``build(work)`` writes the files into ``work / "out"`` and returns the manifest; the
    folder is renamed to ``<stamp>/`` and the manifest (``static_dir / manifest_name``)
    replaced atomically, so a reader never sees a half-built stamp or a torn manifest.
    """
    manifest = static_dir / manifest_name
    if manifest.is_file():
        current: dict[str, Any] = json.loads(manifest.read_text())
        if current.get("stamp") == stamp and (static_dir / stamp).is_dir():
            return current
    static_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=static_dir))
    try:
        data = build(work)
        final = static_dir / stamp
        try:
            os.rename(work / "out", final)
        except OSError:
            if not final.is_dir():  # lost a race to an identical build: fine
                raise
        tmp = static_dir / f"{manifest.stem}-{os.getpid()}.json"
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, manifest)
        return data
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_platform_assets(
    static_dir: Path = STATIC_DIR,
    *,
    web_dir: Path = WEB_DIR,
    node_modules: Path | None = None,
    url_prefix: str = STATIC_URL,
) -> PlatformAssets:
    """Build the vendor bundle and the runtime unless the current build is up to date."""
    modules = find_node_modules(node_modules)
    stamp = _sources_stamp(web_dir, modules)

    def build(work: Path) -> dict[str, Any]:
        assets = _build_into(work, stamp, web_dir, modules, url_prefix)
        return assets.to_json() | {"root": str(static_dir / stamp)}

    return _load(build_stamped(static_dir, stamp, ".platform.json", build), static_dir)


def _build_into(
    work: Path, stamp: str, web_dir: Path, modules: Path, url_prefix: str
) -> PlatformAssets:
    out = work / "out"
    shim_dir = work / "shims"
    shim_dir.mkdir()
    base = f"{url_prefix}{stamp}/"
    common: dict[str, Any] = {
        "bundle": True,
        "format": "esm",
        "splitting": True,
        "minify": True,
        "metafile": True,
        "target": "es2022",
        "define": PRODUCTION_DEFINE,
        "entryNames": "[name]-[hash]",
        "chunkNames": "[name]-[hash]",
        "nodePaths": [str(modules)],
        "legalComments": "none",
        "absWorkingDir": str(work),
    }
    vendor_out = out / "vendor"
    vendor_meta = _build(
        {**common, "entryPoints": _vendor_shims(shim_dir, modules), "outdir": str(vendor_out)},
        modules,
        "React vendor bundle",
    )
    vendor = entry_outputs(vendor_meta, work, vendor_out)
    runtime_out = out / "runtime"
    runtime_meta = _build(
        {
            **common,
            "entryPoints": {
                "atoll": str(web_dir / "runtime" / "main.js"),
                "ui": str(web_dir / "runtime" / "ui.js"),
            },
            "outdir": str(runtime_out),
            "external": [e for e in EXTERNALS if e != UI_SPECIFIER],
        },
        modules,
        "SDUI runtime",
    )
    problems = inlined_react(runtime_meta)
    if problems:
        raise build_failed("the SDUI runtime would inline React", problems)
    runtime = entry_outputs(runtime_meta, work, runtime_out)
    # esbuild makes each import() target an entry point of its own, named after its file.
    lazy_chunks = {name: f"{base}runtime/{runtime[name]['js']}" for name in LAZY_MODULES}
    import_map = {
        spec: f"{base}vendor/{vendor[name]['js']}" for spec, (name, _) in VENDOR_ENTRIES.items()
    }
    import_map[UI_SPECIFIER] = f"{base}runtime/{runtime['ui']['js']}"
    vendor_files = sorted(
        f"{stamp}/vendor/{os.path.relpath(work / p, vendor_out)}"
        for p in vendor_meta["outputs"]
        if p.endswith(".js")
    )
    sizes = {
        f"{stamp}/{p.relative_to(out)}": p.stat().st_size for p in out.rglob("*") if p.is_file()
    }
    css = runtime["main"]["css"]
    return PlatformAssets(
        root=out,
        url_prefix=url_prefix,
        stamp=stamp,
        import_map=import_map,
        runtime_js=f"{base}runtime/{runtime['main']['js']}",
        runtime_css=f"{base}runtime/{css}" if css else "",
        vendor_files=vendor_files,
        sizes=sizes,
        lazy_chunks=lazy_chunks,
    )


def _load(data: dict[str, Any], static_dir: Path) -> PlatformAssets:
    return PlatformAssets(
        root=static_dir,
        url_prefix=data["url_prefix"],
        stamp=data["stamp"],
        import_map=dict(data["import_map"]),
        runtime_js=data["runtime_js"],
        runtime_css=data["runtime_css"],
        vendor_files=list(data["vendor_files"]),
        sizes=dict(data["sizes"]),
        lazy_chunks=dict(data.get("lazy_chunks", {})),
    )
