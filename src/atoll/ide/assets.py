"""The IDE's browser code: ``web/ide`` bundled by esbuild with its own React and editor.

Built once per installation, and again only when ``web/ide`` or its packages change, into
``src/atoll/ide/static/<stamp>/``. The stamp is in every URL, so the files are cached for
good. The IDE does not share the apps' React: it runs on another origin.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from atoll.builder.esbuild import (
    DRIVER,
    BuildMessage,
    build_failed,
    find_node_modules,
    run_driver,
)
from atoll.builder.platform import PRODUCTION_DEFINE, WEB_DIR, build_stamped, entry_outputs

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_URL = "/ide/assets/"
ENTRIES = ("main", "signin")  # web/ide/<entry>.jsx
# web/ide/<boot>.js: a classic script that the page runs in <head>, before its first paint.
BOOT = "theme-boot"
PACKAGES = ("react", "react-dom", "esbuild")  # whose versions are part of the stamp


@dataclass(frozen=True)
class IdeAssets:
    """Where the built IDE is and the URLs of its entry scripts and stylesheet."""

    root: Path  # holds <stamp>/
    stamp: str
    scripts: dict[str, str]  # entry -> URL
    stylesheet: str
    sizes: dict[str, int]  # file under <stamp>/ -> bytes

    def file(self, name: str) -> Path | None:
        """A built file by its path under the stamp, or None (never outside it)."""
        if name not in self.sizes:
            return None
        return self.root / self.stamp / name


def _stamp(web_dir: Path, modules: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in (web_dir / "ide").rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(web_dir)).encode() + b"\0" + path.read_bytes())
    for path in (DRIVER, Path(__file__)):
        digest.update(path.read_bytes())
    for package in PACKAGES:
        digest.update((modules / package / "package.json").read_bytes())
    # Every installed package's version (the editor's CodeMirror packages among them).
    installed = modules / ".package-lock.json"
    if installed.is_file():
        digest.update(installed.read_bytes())
    return digest.hexdigest()[:16]


def build_ide_assets(
    static_dir: Path = STATIC_DIR, *, web_dir: Path = WEB_DIR, node_modules: Path | None = None
) -> IdeAssets:
    """Build the IDE unless the current build is up to date; where it is."""
    modules = find_node_modules(node_modules)
    stamp = _stamp(web_dir, modules)

    def build(work: Path) -> dict[str, Any]:
        return _build_into(work, stamp, web_dir, modules)

    return _load(build_stamped(static_dir, stamp, ".ide.json", build), static_dir)


def _build_into(work: Path, stamp: str, web_dir: Path, modules: Path) -> dict[str, Any]:
    out = work / "out"
    options = {
        "entryPoints": {name: str(web_dir / "ide" / f"{name}.jsx") for name in ENTRIES},
        "outdir": str(out),
        "bundle": True,
        "format": "esm",
        "splitting": True,
        "minify": True,
        "metafile": True,
        "target": "es2022",
        "jsx": "automatic",
        "define": PRODUCTION_DEFINE,
        "entryNames": "[name]-[hash]",
        "chunkNames": "chunk-[hash]",
        "assetNames": "[name]-[hash]",
        "loader": {".svg": "file", ".woff2": "file"},
        "nodePaths": [str(modules)],
        "legalComments": "none",
        "absWorkingDir": str(work),
    }
    outputs = _build(options, modules, work, out)
    # The boot script must hold up the first paint, which a module never does: it is a
    # classic script, so it has a build of its own.
    boot = {
        **{k: v for k, v in options.items() if k not in ("splitting", "jsx", "loader")},
        "entryPoints": {BOOT: str(web_dir / "ide" / f"{BOOT}.js")},
        "format": "iife",
    }
    outputs |= _build(boot, modules, work, out)
    base = f"{ASSETS_URL}{stamp}/"
    css = outputs["main"]["css"]
    return {
        "stamp": stamp,
        "scripts": {name: base + outputs[name]["js"] for name in (*ENTRIES, BOOT)},
        "stylesheet": base + css if css else "",
        "sizes": {str(p.relative_to(out)): p.stat().st_size for p in out.rglob("*") if p.is_file()},
    }


def _build(
    options: dict[str, Any], modules: Path, work: Path, out: Path
) -> dict[str, dict[str, Any]]:
    reply = run_driver({"cmd": "build", "options": options}, modules)
    if not reply["ok"]:
        messages = [BuildMessage.from_driver(m) for m in reply["errors"]]
        raise build_failed("building the IDE failed", messages)
    return entry_outputs(reply["metafile"], work, out)


def _load(data: dict[str, Any], static_dir: Path) -> IdeAssets:
    return IdeAssets(
        root=static_dir,
        stamp=data["stamp"],
        scripts=dict(data["scripts"]),
        stylesheet=data["stylesheet"],
        sizes=dict(data["sizes"]),
    )


def describe(assets: IdeAssets) -> dict[str, Any]:
    """JSON-ready facts about a build (for benchmarks and diagnostics)."""
    return {k: v for k, v in asdict(assets).items() if k != "root"}
