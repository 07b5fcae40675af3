"""Bundling an app's components: one ESM file per component, React shared, CSS scoped,
the Tailwind utilities each one uses compiled into its own stylesheet.

``components/<Name>.jsx`` (or ``.tsx``, ``.js``, ``.ts``) is a component; anything in a
subfolder (``components/lib/``) is a shared module that lands in shared chunks. The output
folder holds only content-hashed files, so URLs under ``public_path`` can be cached forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from atoll.builder.css_scope import scope_css
from atoll.builder.deps import declared_dependencies, install_packages, packages_to_install
from atoll.builder.esbuild import BuildMessage, build_failed, find_node_modules, run_driver
from atoll.builder.metafile import inlined_react, missing_default_exports, unshared_externals
from atoll.builder.platform import EXTERNALS, PRODUCTION_DEFINE, SHARED_SPECIFIERS, entry_outputs
from atoll.builder.tailwind import tailwind_request, tailwind_results, tailwind_version
from atoll.errors import BadInput, BuildFailed

ASSETS_URL = "/_atoll/assets/"
MANIFEST_NAME = ".manifest.json"  # a dotfile: never served
COMPONENT_FILE = re.compile(r"^([A-Z][A-Za-z0-9_]{0,63})\.(jsx|tsx|js|ts)$")
FILE_LOADERS = {
    ext: "file"
    for ext in (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".ico")
    + (".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".webm")
}


@dataclass(frozen=True)
class ComponentEntry:
    """One built component: its module and stylesheets (file names inside the output folder)."""

    name: str
    source: str
    js: str
    css: str | None = None
    document_css: str | None = None
    bytes: int = 0
    chunks: list[str] = field(default_factory=list)

    def files(self) -> list[str]:
        """Module files this component loads up front (its own and its shared chunks)."""
        return [self.js, *self.chunks]


@dataclass(frozen=True)
class ComponentManifest:
    """What a component build produced, and what a page needs to load it."""

    public_path: str
    components: dict[str, ComponentEntry] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    lockfile: str | None = None
    warnings: list[str] = field(default_factory=list)
    # The tailwindcss version that styled some component (it changes the build's id).
    tailwind: str | None = None

    def url(self, file: str) -> str:
        """The URL a file of this build is served at."""
        return self.public_path + file

    def preload_urls(self, names: Iterable[str]) -> tuple[list[str], list[str]]:
        """(module URLs, stylesheet URLs) the named components load, for preload links."""
        modules: list[str] = []
        sheets: list[str] = []
        for name in sorted(set(names)):
            entry = self.components.get(name)
            if entry is None:
                continue
            modules += [self.url(f) for f in entry.files() if self.url(f) not in modules]
            sheets += [self.url(f) for f in (entry.css, entry.document_css) if f]
        return modules, sheets

    def browser_entries(self) -> dict[str, dict[str, str | None]]:
        """Component name -> ``{js, css, documentCss}`` URLs, as the runtime expects."""
        return {
            name: {
                "js": self.url(c.js),
                "css": self.url(c.css) if c.css else None,
                "documentCss": self.url(c.document_css) if c.document_css else None,
            }
            for name, c in self.components.items()
        }

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (written as ``.manifest.json`` in the output folder)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentManifest:
        """Read back what ``to_json`` wrote."""
        components = {k: ComponentEntry(**v) for k, v in data.get("components", {}).items()}
        return cls(
            public_path=data["public_path"],
            components=components,
            files=list(data.get("files", [])),
            packages=dict(data.get("packages", {})),
            lockfile=data.get("lockfile"),
            warnings=list(data.get("warnings", [])),
            tailwind=data.get("tailwind"),
        )


def discover_components(src_dir: Path) -> dict[str, str]:
    """Component name -> source path (relative to ``src_dir``) for ``components/*``."""
    folder = src_dir / "components"
    found: dict[str, str] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        match = COMPONENT_FILE.match(path.name)
        if match and path.is_file():
            name = match.group(1)
            if name in found:
                raise build_failed(
                    "two files define the same component",
                    [BuildMessage(f"{found[name]} and components/{path.name} are both {name}")],
                )
            found[name] = f"components/{path.name}"
    return found


def _esbuild_options(
    src_dir: Path, out_dir: Path, entries: dict[str, str], public_path: str, node_paths: list[str]
) -> dict[str, Any]:
    return {
        "entryPoints": {name: str(src_dir / rel) for name, rel in entries.items()},
        "absWorkingDir": str(src_dir),
        "outdir": str(out_dir),
        "bundle": True,
        "format": "esm",
        "splitting": True,
        "minify": True,
        "metafile": True,
        "target": "es2022",
        "jsx": "automatic",
        "external": EXTERNALS,
        "loader": FILE_LOADERS,
        "publicPath": public_path.rstrip("/"),
        "entryNames": "[name]-[hash]",
        "chunkNames": "chunks/[name]-[hash]",
        "assetNames": "files/[name]-[hash]",
        "define": PRODUCTION_DEFINE,
        "nodePaths": node_paths,
        "legalComments": "none",
        "charset": "utf8",
    }


def _allowed_roots(src_dir: Path, deps: Path | None) -> list[str]:
    """Folders esbuild may read: the app, and its installed packages (real paths)."""
    roots = [str(src_dir)]
    if deps is not None:
        roots.append(str(deps.resolve()))
        node_modules = deps / "node_modules"
        if node_modules.is_dir():
            # `file:` packages are symlinks to where they live; allow exactly those folders.
            for entry in [*node_modules.iterdir(), *node_modules.glob("@*/*")]:
                if entry.is_symlink():
                    roots.append(str(entry.resolve()))
    return roots


def _scan_options(src_dir: Path, entries: dict[str, str]) -> dict[str, Any]:
    return {
        "entryPoints": [str(src_dir / rel) for rel in entries.values()],
        "absWorkingDir": str(src_dir),
        "bundle": True,
        "format": "esm",
        "jsx": "automatic",
        "loader": FILE_LOADERS | {".css": "empty"},
        "outdir": str(src_dir / ".scan"),
    }


def _failed(src_dir: Path, reply: dict[str, Any]) -> BuildFailed:
    return build_failed(
        "components failed to build",
        [BuildMessage.from_driver(m, str(src_dir)) for m in reply["errors"]],
    )


def _static_chunks(
    metafile: dict[str, Any], output: str, src_dir: Path, out_dir: Path
) -> list[str]:
    """Chunks an output imports statically, transitively (relative to ``out_dir``)."""
    outputs = metafile["outputs"]
    seen: list[str] = []
    stack = [output]
    while stack:
        for imp in outputs.get(stack.pop(), {}).get("imports", []):
            path = imp["path"]
            if imp.get("external") or imp.get("kind") != "import-statement" or path in seen:
                continue
            seen.append(path)
            stack.append(path)
    return sorted(os.path.relpath(src_dir / p, out_dir) for p in seen)


def _write_styles(
    out_dir: Path, name: str, css_file: str | None, tailwind: str, warnings: list[str]
) -> tuple[str | None, str | None]:
    """The component's shadow-root sheet and document sheet (file names, None when empty):
    its Tailwind CSS, then the CSS it imports (unlayered, so it wins), scoped together."""
    own = ""
    if css_file:
        original = out_dir / css_file
        own = original.read_text()
        original.unlink()
    if not (tailwind or own):
        return None, None
    scoped = scope_css(tailwind + own, name)
    for rule in scoped.imports:
        warnings.append(
            f"{name}: {rule} is ignored (stylesheets in a shadow root cannot @import); put the "
            "font or CSS file in components/ and import it, or use @font-face with a url()"
        )
    names: list[str | None] = []
    for text, suffix in ((scoped.shadow, "css"), (scoped.document, "document.css")):
        if not text.strip():
            names.append(None)
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        file = f"{name}-{digest}.{suffix}"
        (out_dir / file).write_text(text)
        names.append(file)
    return names[0], names[1]


def build_components(
    src_dir: Path,
    out_dir: Path,
    *,
    public_path: str = ASSETS_URL,
    deps_dir: Path | None = None,
    lockfile: bytes | None = None,
    node_modules: Path | None = None,
    allow_local_packages: bool = False,
) -> ComponentManifest:
    """Bundle ``src_dir/components`` into ``out_dir``; raise ``BuildFailed`` naming file:line.

    Packages the components import are installed into ``deps_dir`` (default: a hidden
    folder in ``out_dir``, never served; pass one folder per app to reuse installs) using
    ``lockfile`` when given; the manifest carries the lockfile to keep for the next build.
    """
    src_dir = src_dir.resolve()
    out_dir = out_dir.resolve()
    modules = find_node_modules(node_modules)
    entries = discover_components(src_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not entries:
        manifest = ComponentManifest(public_path=public_path)
        (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest.to_json(), indent=1))
        return manifest
    # One driver call scans the imports and, when no npm package is needed, also builds.
    options = _esbuild_options(src_dir, out_dir, entries, public_path, [])
    tailwind = tailwind_request(src_dir, entries, modules)
    reply = run_driver(
        {
            "cmd": "scan-build",
            "scanOptions": _scan_options(src_dir, entries),
            "options": options,
            "shared": sorted(SHARED_SPECIFIERS),
            "allowedRoots": _allowed_roots(src_dir, None),
            "tailwind": tailwind,
        },
        modules,
    )
    if not reply["ok"]:
        raise _failed(src_dir, reply)
    packages = packages_to_install(
        [i for i in reply["imports"] if i not in SHARED_SPECIFIERS],
        declared_dependencies(src_dir),
        allow_local=allow_local_packages,
    )
    new_lock: bytes | None = None
    if not reply["built"]:
        deps: Path | None = None
        if packages:
            deps = (deps_dir or out_dir / ".component-deps").resolve()
            new_lock = install_packages(packages, deps, lockfile, allow_local=allow_local_packages)
            options["nodePaths"] = [str(deps / "node_modules")]
        request = {
            "cmd": "build",
            "options": options,
            "allowedRoots": _allowed_roots(src_dir, deps),
            "tailwind": tailwind,
        }
        reply = run_driver(request, modules)
        if not reply["ok"]:
            raise _failed(src_dir, reply)
    metafile: dict[str, Any] = reply["metafile"]
    problems = (
        inlined_react(metafile)
        + unshared_externals(metafile, SHARED_SPECIFIERS)
        + missing_default_exports(metafile, set(entries.values()))
    )
    if problems:
        raise build_failed("components failed the shared-React checks", problems)
    outputs = entry_outputs(metafile, src_dir, out_dir)
    by_source = {info["entry"]: info for info in outputs.values()}
    components: dict[str, ComponentEntry] = {}
    css_warnings: list[str] = []
    tailwind_css = tailwind_results(reply, entries)
    for name, source in entries.items():
        info = by_source[source]
        css, document_css = _write_styles(
            out_dir, name, info["css"], tailwind_css.get(name, ""), css_warnings
        )
        out_path = os.path.relpath(out_dir / info["js"], src_dir)
        components[name] = ComponentEntry(
            name,
            source,
            info["js"],
            css,
            document_css,
            int(info["bytes"]),
            _static_chunks(metafile, out_path, src_dir, out_dir),
        )
    produced = sorted(
        os.path.relpath(src_dir / p, out_dir) for p in metafile["outputs"] if not p.endswith(".css")
    )
    css_files = [f for c in components.values() for f in (c.css, c.document_css) if f]
    warnings = [str(BuildMessage.from_driver(m, str(src_dir))) for m in reply["warnings"]]
    warnings += css_warnings
    manifest = ComponentManifest(
        public_path=public_path,
        components=components,
        files=sorted(produced + css_files),
        packages=packages,
        lockfile=new_lock.decode() if new_lock else None,
        warnings=warnings,
        tailwind=tailwind_version(modules) if tailwind_css else None,
    )
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest.to_json(), indent=1))
    return manifest


def undeclared_packages(src_dir: Path, node_modules: Path | None = None) -> list[str]:
    """The npm packages the components in ``src_dir`` import that their
    ``components/package.json`` does not list (the shared React left out): what a build
    would install at ``*``. Empty when the scan fails; a build says why."""
    src_dir = src_dir.resolve()
    entries = discover_components(src_dir)
    if not entries:
        return []
    reply = run_driver(
        {"cmd": "scan", "options": _scan_options(src_dir, entries)}, find_node_modules(node_modules)
    )
    if not reply["ok"]:
        return []
    try:
        declared = declared_dependencies(src_dir)
        wanted = packages_to_install(
            [i for i in reply["imports"] if i not in SHARED_SPECIFIERS], declared
        )
    except BadInput:
        return []
    return [name for name in wanted if name not in declared]
