"""npm packages that an app's components import, installed per app with a lockfile.

React is never installed for an app: every page shares the platform's copy. Packages come
only from the registry of the operator's npm configuration: versions, ranges and tags are
the only specs accepted, lockfiles are checked before and after npm reads them, npm runs
outside the app's folder (its ``.npmrc`` is never read) with scripts, git, URL, file and
directory packages refused, and tenants see its output only as ``installer_summary``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from atoll.errors import AtollError, BadInput, BuildFailed
from atoll.runtime.requirements import installer_summary

log = logging.getLogger("atoll.builder")

SHARED = frozenset({"react", "react-dom", "scheduler", "@atoll/ui"})
NPM_TIMEOUT_S = 300.0
_PACKAGE = re.compile(r"^(@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*$")
_STAMP = ".atoll-deps.json"
# Versions, ranges and dist-tags. npm reads a spec as a path when it starts with "." or
# "~/", or ends like a tarball; ":" and "/" mark URLs, git, aliases and shorthands.
_REGISTRY_SPEC = re.compile(r"[0-9A-Za-z^~<>=|*_ .+-]{1,64}", re.ASCII)
_TARBALL = re.compile(r"[.](?:tgz|tar[.]gz|tar)$", re.IGNORECASE)
_NAME = r"(?:@[A-Za-z0-9][\w.~-]*/)?[A-Za-z0-9][\w.~-]*"
_LOCK_PATH = re.compile(rf"node_modules/{_NAME}(?:/node_modules/{_NAME})*", re.ASCII)
_SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?", re.ASCII)
_ROOT_KEYS = frozenset({"name", "version", "license", "dependencies"})
# What npm may fetch besides registry packages: nothing (``root``: only what the root
# package.json names, which tests use for ``file:`` packages).
_ALLOW_KINDS = ("git", "remote", "file", "directory")


def is_registry_spec(spec: str) -> bool:
    """Whether npm reads ``spec`` as a registry version, range or tag (never a path or URL)."""
    return (
        _REGISTRY_SPEC.fullmatch(spec) is not None
        and bool(spec.strip())
        and not spec.startswith((".", "~/"))
        and _TARBALL.search(spec) is None
    )


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
        if not is_registry_spec(version) and not (allow_local and version.startswith("file:")):
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
    # Only ``dependencies`` is read: overrides, workspaces and the rest never reach npm.
    deps = data.get("dependencies", {}) if isinstance(data, dict) else {}
    if not isinstance(deps, dict):
        raise BadInput("components/package.json: dependencies must be an object")
    for name, version in deps.items():
        if not isinstance(version, str):
            raise BadInput(f"components/package.json: {name} must be a version string")
    return dict(deps)


def operator_registry() -> str:
    """The registry the operator's npm configuration names (``npm config get registry``).

    Refuses an npm too old to know the ``allow-*`` settings: it would fetch the git, URL
    and path dependencies of registry packages before any check could see them.
    """
    npm = _npm()
    keys = ["registry", *(f"allow-{kind}" for kind in _ALLOW_KINDS)]
    # A folder of our own: npm reads a project .npmrc from where it runs.
    with tempfile.TemporaryDirectory(prefix="atoll-npm-") as cwd:
        try:
            proc = subprocess.run(
                [npm, "config", "get", *keys],
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BuildFailed("reading npm's configuration timed out") from exc
    values = dict(line.partition("=")[::2] for line in proc.stdout.splitlines() if "=" in line)
    registry = values.get("registry", "").strip()
    parts = urllib.parse.urlsplit(registry)
    if proc.returncode != 0 or parts.scheme not in ("http", "https") or not parts.netloc:
        log.error("npm config get registry: %r %r", proc.stdout, proc.stderr)
        raise AtollError("npm's registry setting is not an http(s) URL")
    unknown = [key for key in keys[1:] if values.get(key, "undefined") == "undefined"]
    if unknown:
        raise AtollError(
            f"this npm does not know {', '.join(unknown)}, which the builder needs to refuse "
            "git, URL and path packages; upgrade npm to install component packages"
        )
    return registry if registry.endswith("/") else registry + "/"


def _lock_problem(path: str, entry: Any, registry: str) -> str | None:
    """Why one ``packages`` entry of a lockfile would install from outside ``registry``."""
    if not isinstance(entry, dict):
        return "an entry that is not an object"
    if path == "":
        extra = set(entry) - _ROOT_KEYS
        deps = entry.get("dependencies", {})
        if extra:
            return f"root fields {sorted(extra)}"
        if not isinstance(deps, dict) or not all(
            isinstance(v, str) and is_registry_spec(v) for v in deps.values()
        ):
            return "root dependencies that are not registry versions"
        return None
    if _LOCK_PATH.fullmatch(path) is None:
        return "a location outside node_modules"
    if entry.get("link"):
        return "a link"
    version = entry.get("version")
    if version is not None and (not isinstance(version, str) or not _SEMVER.fullmatch(version)):
        return f"version {version!r}"
    name = entry.get("name")
    if name is not None and name != path.rsplit("node_modules/", 1)[-1]:
        return f"another package ({name!r})"
    resolved = entry.get("resolved")
    if resolved is not None and not _from_registry(resolved, registry):
        return f"{resolved!r}" if isinstance(resolved, str) else "a resolved value"
    return None


def _from_registry(url: object, registry: str) -> bool:
    """Whether ``url`` is a file under ``registry`` (same origin, below its path)."""
    if not isinstance(url, str):
        return False
    got, want = urllib.parse.urlsplit(url), urllib.parse.urlsplit(registry)
    path = urllib.parse.unquote(got.path)
    return (
        (got.scheme, got.netloc) == (want.scheme, want.netloc)
        and "@" not in got.netloc
        and path.startswith(want.path)
        and posixpath.normpath(path).startswith(want.path.rstrip("/") + "/")
        and ".." not in path.split("/")
    )


def check_lockfile(lockfile: bytes, registry: str) -> None:
    """Refuse a lockfile that would install anything but packages from ``registry``."""
    try:
        data = json.loads(lockfile)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"the component lockfile is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("lockfileVersion") not in (2, 3):
        # Version 1 lockfiles keep their sources in a tree this check does not read.
        raise BadInput("the component lockfile is not an npm lockfile of version 2 or 3")
    entries = data.get("packages")
    if not isinstance(entries, dict):
        raise BadInput("the component lockfile has no packages object")
    for path, entry in entries.items():
        problem = _lock_problem(path, entry, registry)
        if problem is not None:
            raise BadInput(f"the component lockfile installs {path or 'the root'} from {problem}")


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise AtollError("npm is not installed; the builder needs it for component packages")
    return npm


def install_packages(
    packages: Mapping[str, str],
    deps_dir: Path,
    lockfile: bytes | None = None,
    *,
    registry: str | None = None,
    allow_local: bool = False,
) -> bytes:
    """Install ``packages`` into ``deps_dir/node_modules``; return the lockfile to keep.

    With a lockfile from an earlier build the same versions are installed again. Nothing is
    done when the folder already holds exactly this set. ``registry`` defaults to the
    operator's npm configuration; ``allow_local`` (tests only) lets root ``file:`` packages in.
    """
    deps_dir.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "atoll-app-components", "private": True, "dependencies": dict(packages)}
    stamp = hashlib.sha256(
        json.dumps(manifest, sort_keys=True).encode() + b"\0" + (lockfile or b"")
    ).hexdigest()
    lock_path = deps_dir / "package-lock.json"
    stamp_path = deps_dir / _STAMP
    if stamp_path.is_file() and stamp_path.read_text() == stamp and lock_path.is_file():
        return lock_path.read_bytes()
    registry = registry or operator_registry()
    if lockfile and not allow_local:
        check_lockfile(lockfile, registry)
    (deps_dir / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if lockfile:
        lock_path.write_bytes(lockfile)
    elif lock_path.is_file() and not allow_local:
        # npm would read a lockfile left in the folder: it is held to the same rule.
        try:
            check_lockfile(lock_path.read_bytes(), registry)
        except BadInput as exc:
            log.warning("dropping %s: %s", lock_path, exc.message)
            lock_path.unlink()
    stamp_path.unlink(missing_ok=True)
    allowed = "root" if allow_local else "none"
    try:
        proc = subprocess.run(
            [
                _npm(),
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--legacy-peer-deps",  # peers such as react come from the shared bundle
                "--loglevel=error",
                f"--registry={registry}",
                "--workspaces=false",
                # Packages of packages may name git repositories, URLs and paths too.
                *(f"--allow-{kind}={allowed}" for kind in _ALLOW_KINDS),
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
        output = proc.stderr or proc.stdout
        log.warning("npm install in %s exited with %s:\n%s", deps_dir, proc.returncode, output)
        # Tenants see no host paths or URLs (the operator's registry may carry a token).
        tail = installer_summary(output, max_lines=5).splitlines()
        raise BuildFailed(
            f"installing component packages failed: {' | '.join(tail)}",
            packages=sorted(packages),
        )
    new_lock = lock_path.read_bytes() if lock_path.is_file() else b""
    if new_lock and not allow_local:
        try:
            check_lockfile(new_lock, registry)
        except BadInput as exc:
            shutil.rmtree(deps_dir / "node_modules", ignore_errors=True)
            lock_path.unlink(missing_ok=True)
            raise BuildFailed(f"installing component packages failed: {exc.message}") from None
    stamp_path.write_text(stamp)
    return new_lock
