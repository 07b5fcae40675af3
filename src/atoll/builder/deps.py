"""npm packages that an app's components import, installed per app with a lockfile.

React is never installed for an app: every page shares the platform's copy.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from atoll.errors import AtollError, BadInput, BuildFailed

SHARED = frozenset({"react", "react-dom", "scheduler", "@atoll/ui"})
NPM_TIMEOUT_S = 300.0
REGISTRY_URL = "https://registry.npmjs.org/"
_PACKAGE = re.compile(r"^(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*$")
_STAMP = ".atoll-deps.json"
_REGISTRY_VERSION = re.compile(r"^[\w.^~<>=|* -]{1,64}$")


def package_name(specifier: str) -> str:
    """The npm package a bare import names: ``lodash/fp`` -> ``lodash``, ``@a/b/c`` -> ``@a/b``."""
    parts = specifier.split("/")
    return "/".join(parts[:2]) if specifier.startswith("@") else parts[0]


def packages_to_install(
    imports: Iterable[str],
    declared: Mapping[str, str] | None = None,
    *,
    allow_local: bool = False,
) -> dict[str, str]:
    """Package -> version range for the bare imports of components (React excluded).

    Versions come from the app's ``components/package.json`` when it lists the package;
    otherwise ``*`` (the lockfile then pins what was installed). Only registry versions
    are accepted: ``file:``, ``link:``, git and URL specs could reach outside the app
    (``allow_local`` lets tests use ``file:`` packages).
    """
    declared = declared or {}
    for name, version in declared.items():
        if not _REGISTRY_VERSION.match(version) and not (
            allow_local and version.startswith("file:")
        ):
            raise BadInput(
                f"components/package.json: {name} {version!r} is not a registry version "
                "(use a version or range such as ^1.2.0)"
            )
    wanted: dict[str, str] = {}
    for spec in imports:
        if spec.startswith("node:"):
            raise BadInput(f"components run in the browser; {spec!r} is a Node.js module")
        name = package_name(spec)
        if name in SHARED:
            continue
        if not _PACKAGE.match(name):
            raise BadInput(f"{spec!r} is not an npm package name")
        wanted[name] = str(declared.get(name, "*"))
    return dict(sorted(wanted.items()))


def declared_dependencies(src_dir: Path) -> dict[str, str]:
    """The ``dependencies`` of the app's ``components/package.json``, if it has one."""
    path = src_dir / "components" / "package.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"components/package.json is not valid JSON: {exc}") from exc
    deps = data.get("dependencies", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in deps.items()} if isinstance(deps, dict) else {}


def check_lockfile(lockfile: bytes) -> None:
    """Refuse a lockfile that would install from anywhere but the npm registry over HTTPS."""
    try:
        data = json.loads(lockfile)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"the component lockfile is not valid JSON: {exc}") from exc
    entries = data.get("packages", {}) if isinstance(data, dict) else {}
    for path, entry in entries.items() if isinstance(entries, dict) else []:
        if not path or not isinstance(entry, dict):
            continue
        resolved = entry.get("resolved")
        if entry.get("link") or (
            resolved is not None and not str(resolved).startswith(REGISTRY_URL)
        ):
            raise BadInput(f"the component lockfile installs {path} from {resolved!r}")


def install_packages(
    packages: Mapping[str, str],
    deps_dir: Path,
    lockfile: bytes | None = None,
    *,
    allow_local: bool = False,
) -> bytes:
    """Install ``packages`` into ``deps_dir/node_modules``; return the lockfile to keep.

    With a lockfile from an earlier build the same versions are installed again. Nothing is
    done when the folder already holds exactly this set.
    """
    if lockfile and not allow_local:
        check_lockfile(lockfile)
    deps_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "atoll-app-components", "private": True, "dependencies": dict(packages)}
    stamp = hashlib.sha256(
        json.dumps(manifest, sort_keys=True).encode() + b"\0" + (lockfile or b"")
    ).hexdigest()
    lock_path = deps_dir / "package-lock.json"
    stamp_path = deps_dir / _STAMP
    if stamp_path.is_file() and stamp_path.read_text() == stamp and lock_path.is_file():
        return lock_path.read_bytes()
    (deps_dir / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if lockfile:
        lock_path.write_bytes(lockfile)
    npm = shutil.which("npm")
    if npm is None:
        raise AtollError("npm is not installed; the builder needs it for component packages")
    try:
        proc = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--legacy-peer-deps",  # peers such as react come from the shared bundle
                "--loglevel=error",
            ],
            cwd=deps_dir,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BuildFailed("installing component packages timed out") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise BuildFailed(
            f"installing component packages failed: {' | '.join(tail)}",
            packages=sorted(packages),
        )
    stamp_path.write_text(stamp)
    return lock_path.read_bytes() if lock_path.is_file() else b""
