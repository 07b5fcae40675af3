"""A revision's build artifacts: its code checked out and checked, its ``atoll.toml`` read,
its migrations planned, its pages and components built, once per revision.

``build_revision`` is the one build: ``dev`` deploys each head through it, a release is
built by it, and promotion and rollback read the artifacts it kept. Each step says in a
``BuildLog`` what it did and how long it took.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from atoll import dbservice
from atoll.builder.appdocs import app_docs, read_app_docs, summary_line
from atoll.builder.components import MANIFEST_NAME, ComponentManifest
from atoll.builder.frontend import PAGES_FILE, build_frontend
from atoll.builder.functions import (
    FunctionCheck,
    function_files,
    inspect_functions,
    unresolved_imports,
)
from atoll.builder.reports import MIGRATIONS_DIR, build_errors, build_failure
from atoll.dbservice.migrations import migration_problems
from atoll.errors import AtollError, BuildFailed
from atoll.releases.buildlog import BuildLog, size_text
from atoll.runtime.deps import LOCK_FILE, Layer, dependency_layers
from atoll.runtime.layout import sandbox_modules
from atoll.runtime.limits import AppConfig, AppLimits, load_app_config, maxima
from atoll.runtime.requirements import pinned_lines
from atoll.services import ControlPlane
from atoll.store import builds
from atoll.store.records import App, BuildError, PlannedMigration, Revision
from atoll.workspace.checkouts import checkout, checkout_dir

log = logging.getLogger("atoll.releases")

SHOWN_DEPENDENCIES = 10  # [python] dependencies named in a build log line
INTERNAL_FAILURE = (
    "the build stopped on an internal error of the platform (the server log has the "
    "details); push again, and tell the operator if it persists"
)


def code_migrations(code_dir: Path) -> list[dbservice.Migration]:
    """The migrations a checked-out revision brings, in order."""
    files: dict[str, str] = {}
    for path in sorted((code_dir / MIGRATIONS_DIR).glob("*.sql")):
        rel = f"{MIGRATIONS_DIR}/{path.name}"
        try:
            files[rel] = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BuildFailed("a migration must be UTF-8 text", file=rel) from exc
    return dbservice.load_migrations(files)


def build_revision(
    cp: ControlPlane,
    app: App,
    revision: Revision,
    build_log: BuildLog | None = None,
    *,
    document: bool = False,
) -> tuple[Path, Path]:
    """Check and build one revision: its code checked out, functions compiled, ``atoll.toml``
    read, migrations planned, pages and components built. Its code folder and built frontend
    folder, both keyed by the revision (a revision built before is not built again);
    ``BuildFailed`` with every problem found, at its file and line. ``build_log`` gets a line per
    step (what it did, how long it took), the errors, and the migrations planned. ``document``
    (a release): its app docs are generated as part of the build; else (dev) they are made
    when first asked for, off the path from a save to the preview."""
    build_log = BuildLog() if build_log is None else build_log
    mark = build_log.start()
    try:
        built = _build_steps(cp, app, revision, build_log)
        if document:
            _document(app, *built, build_log)
    except AtollError as exc:
        build_log.errors(build_errors(exc))
        build_log.say(f"r{revision.number} did not build ({build_log.took(mark)})")
        raise
    except Exception:
        build_log.say(INTERNAL_FAILURE)
        raise
    build_log.say(f"r{revision.number} built in {build_log.took(mark)}")
    return built


def _document(app: App, code_dir: Path, built: Path, build_log: BuildLog) -> None:
    """Generate the revision's app docs (``builder.appdocs``); never fails the build."""
    mark = build_log.start()
    reused = read_app_docs(built)
    try:
        found = reused if reused is not None else app_docs(code_dir, built, app.slug)
    except Exception:  # a failure to document something must not fail the build
        log.exception("%s: the app docs of %s were not generated", app.slug, built.name)
        build_log.say("docs: not generated (the server log has the details)")
        return
    how = "reused" if reused is not None else f"in {build_log.took(mark)}"
    build_log.say(f"{summary_line(found)} {how}")


def kept_artifacts(cp: ControlPlane, app: App, revision: Revision) -> tuple[Path, Path]:
    """The code and frontend folders of a revision that built, as they were kept: nothing
    checked or built again (a release is immutable, and a promotion or rollback should cost
    a pointer move); built again only when they are gone."""
    code_dir = checkout_dir(cp.workspaces, app, revision.id)
    built = built_dir(cp, app, revision.id)
    if code_dir.is_dir() and built.is_dir():
        return code_dir, built
    return build_revision(cp, app, revision)


def built_dir(cp: ControlPlane, app: App, revision_id: str) -> Path:
    """Where a revision's built pages and components are kept (may not exist)."""
    return cp.workspaces.apps_root / str(app.id) / "builds" / revision_id


_DIGESTS: dict[tuple[Path, Path], str] = {}
_DIGESTS_KEPT = 4096


def artifact_digest(code_dir: Path, built: Path) -> str:
    """``sha256:...`` of a revision's artifacts (every file of its code and frontend
    folders, by path and content): two environments with the same digest run the same
    bytes. Remembered, since the folders never change once written."""
    key = (code_dir, built)
    found = _DIGESTS.get(key)
    if found is not None:
        return found
    digest = hashlib.sha256()
    for label, root in (("code", code_dir), ("built", built)):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            digest.update(f"{label}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    found = "sha256:" + digest.hexdigest()
    if len(_DIGESTS) >= _DIGESTS_KEPT:
        _DIGESTS.clear()
    _DIGESTS[key] = found
    return found


def _build_steps(
    cp: ControlPlane, app: App, revision: Revision, build_log: BuildLog
) -> tuple[Path, Path]:
    """The steps of ``build_revision``: each checks all it can, so one build reports every
    problem; the frontend step's error is raised as it is when it is the only one."""
    code_dir = _checkout(cp, app, revision, build_log)
    # Pages and components build while the functions are checked (each mostly waits on a
    # child process of its own); the frontend's lines follow the checks' in the log.
    front_log = BuildLog()
    with ThreadPoolExecutor(1, thread_name_prefix="atoll-frontend") as pool:
        frontend = pool.submit(_frontend, cp, app, revision, code_dir, front_log)
        problems, lock, _ = _check_code(cp, code_dir, built_dir(cp, app, revision.id), build_log)
        built: Path | None = None
        try:
            built = frontend.result()
        except AtollError as exc:
            if not problems:
                raise
            problems += build_errors(exc)
        finally:
            for line in front_log.lines:
                build_log.say(line)
    if built is not None and lock is not None and python_lock(built) is None:
        _write_lock(built, lock)  # kept with the artifacts: part of the release's digest
    if problems or built is None:
        summary = f"r{revision.number} does not build"
        raise build_failure(summary, builds.bounded_errors(problems))
    return code_dir, built


def check_sources(
    cp: ControlPlane,
    app: App,
    code_dir: Path,
    database: dbservice.DatabaseName | None = None,
    build_log: BuildLog | None = None,
) -> list[BuildError]:
    """Every problem a build of the sources in ``code_dir`` would find, without keeping
    anything: functions compiled and their imports resolved, ``atoll.toml`` read and its
    dependencies locked and installed, migrations planned and (given ``database``)
    dry-run on a copy of it, pages validated and components bundled into a folder thrown
    away after. For sources not committed yet (the agent's edits)."""
    build_log = BuildLog() if build_log is None else build_log
    problems, _lock, planned = _check_code(cp, code_dir, None, build_log)
    if database is not None and planned:
        problems += _dry_run(cp, code_dir, database, build_log)
    npm_root = cp.workspaces.apps_root / str(app.id)
    lock_path = npm_root / "npm-lock.json"
    with tempfile.TemporaryDirectory(prefix="atoll-check-") as out:
        try:
            build_frontend(
                code_dir,
                Path(out),
                deps_dir=npm_root / "npm",
                lockfile=lock_path.read_bytes() if lock_path.is_file() else None,
            )
        except AtollError as exc:
            problems += build_errors(exc)
    return builds.bounded_errors(problems)


_SEMVER = re.compile(r"\d{1,9}\.\d{1,9}\.\d{1,9}(?:[-+][0-9A-Za-z.+-]{1,100})?", re.ASCII)


def installed_npm_version(cp: ControlPlane, app: App, package: str) -> str | None:
    """The version of ``package`` the app's last build or check installed for its
    components, if it did."""
    manifest = cp.workspaces.apps_root / str(app.id) / "npm" / "node_modules" / package
    try:
        version = json.loads((manifest / "package.json").read_text()).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) and _SEMVER.fullmatch(version) else None


def _check_code(
    cp: ControlPlane, code_dir: Path, kept: Path | None, build_log: BuildLog
) -> tuple[list[BuildError], str | None, bool]:
    """The checks of a build before its pages and components: functions compiled and their
    imports resolved, ``atoll.toml`` read, its dependencies locked (reusing the lock of the
    build ``kept`` for the revision, if any) and installed, migrations planned. The problems
    found, the lock, and whether the migrations could be planned."""
    functions = _check_functions(code_dir, build_log)
    problems = list(functions.errors)
    config, config_problems = _check_config(cp, code_dir, build_log)
    problems += config_problems
    lock: str | None = None
    if config is not None:
        lock, layer, dependency_problems = _python_dependencies(cp, config, kept, build_log)
        problems += dependency_problems
        if not dependency_problems:  # (else its imports are missing for that reason)
            problems += _check_imports(functions, code_dir, layer, build_log)
    planned = _plan_migrations(code_dir, build_log)
    return problems + planned, lock, not planned


def _dry_run(
    cp: ControlPlane, code_dir: Path, database: dbservice.DatabaseName, build_log: BuildLog
) -> list[BuildError]:
    """The migrations the database has not run, applied to a copy of it."""
    report = dbservice.dry_run_migrations(cp.settings.data_dir, database, code_migrations(code_dir))
    if report.ok:
        applied = len(report.outcomes)
        build_log.say(f"migrations: {_plural(applied, 'pending migration')} dry-run on {database}")
        return []
    build_log.say(f"migrations: the dry run on {database} failed")
    failed = report.outcomes[-1] if report.outcomes else None
    where = f"{MIGRATIONS_DIR}/{failed.filename}" if failed else MIGRATIONS_DIR
    line = failed.line if failed else None
    return [BuildError(where, line, None, f"dry run on a copy of {database}: {report.error}")]


def _checkout(cp: ControlPlane, app: App, revision: Revision, build_log: BuildLog) -> Path:
    """The revision's files as a folder (written once per revision)."""
    mark = build_log.start()
    code_dir = checkout(cp.workspaces, app, revision)
    files = _plural(revision.file_count, "file")
    size = size_text(revision.total_bytes)
    build_log.say(f"checked out r{revision.number} ({files}, {size}) in {build_log.took(mark)}")
    return code_dir


def _check_functions(code_dir: Path, build_log: BuildLog) -> FunctionCheck:
    """What keeps the app's functions from compiling, and what they import."""
    mark = build_log.start()
    files = function_files(code_dir)
    check = inspect_functions(code_dir)
    errors = check.errors
    if not files:
        build_log.say("functions: none")
    elif errors:
        build_log.say(f"functions: {len(files)} checked, {_plural(len(errors), 'error')}")
    else:
        build_log.say(f"functions: {len(files)} compiled in {build_log.took(mark)}")
    return check


def _check_imports(
    check: FunctionCheck, code_dir: Path, layer: Layer | None, build_log: BuildLog
) -> list[BuildError]:
    """The functions' imports that nothing provides where they run: the standard library,
    the platform's packages, the dependency layer, or the app's own modules."""
    if not check.imports:
        return []
    available = sandbox_modules() | (layer.modules() if layer is not None else set())
    errors = unresolved_imports(check, code_dir, available)
    modules = len({site.module for site in check.imports})
    if errors:
        build_log.say(f"imports: {_plural(len(errors), 'module')} not found")
    else:
        build_log.say(f"imports: {_plural(modules, 'module')} resolved")
    return errors


def _check_config(
    cp: ControlPlane, code_dir: Path, build_log: BuildLog
) -> tuple[AppConfig | None, list[BuildError]]:
    """The app's ``atoll.toml`` read, or what is wrong with it (its functions could not run)."""
    runtime = cp.settings.runtime
    try:
        config = load_app_config(code_dir, maxima(runtime), runtime)
    except AtollError as exc:
        build_log.say("atoll.toml: invalid")
        return None, build_errors(exc, file="atoll.toml")
    build_log.say(
        _config_line(config) if (code_dir / "atoll.toml").is_file() else "atoll.toml: none"
    )
    return config, []


def python_lock(built: Path) -> str | None:
    """The resolved ``[python] dependencies`` kept with a build (``name==version`` lines, ""
    for none); None when the build kept none (it has no dependencies, or it was made before
    builds locked them)."""
    try:
        return (built / LOCK_FILE).read_text("utf-8")
    except FileNotFoundError:
        return None


def _python_dependencies(
    cp: ControlPlane, config: AppConfig, kept: Path | None, build_log: BuildLog
) -> tuple[str | None, Layer | None, list[BuildError]]:
    """The revision's ``[python] dependencies`` locked (the lock an earlier build of it kept,
    else resolved now) and their layer installed, so the release starts without installing
    anything and runs the same versions wherever it is promoted. The lock ("" when nothing
    is to be installed; None without dependencies), its layer, and what kept it from
    installing."""
    requirements = config.dependencies
    lock = python_lock(kept) if kept is not None and kept.is_dir() else None
    if lock is None and not requirements:
        build_log.say("dependencies: none")
        return None, None, []
    mark = build_log.start()
    layers = dependency_layers(cp.settings)
    try:
        if lock is None:
            lock, layer = layers.lock_and_install(requirements)
            how = "locked"
        else:
            layer = layers.install_lock(lock) if lock.strip() else None
            how = "locked before, reused"
        pins = pinned_lines(lock)
    except AtollError as exc:
        build_log.say(f"dependencies: {_shown(requirements)}: not installed")
        return None, None, build_errors(exc, file="atoll.toml")
    if layer is None:
        build_log.say(f"dependencies: {_shown(requirements)}: none for this platform ({how})")
    else:
        build_log.say(
            f"dependencies: {_shown(pins)} ({how}; layer {layer.digest[:12]} ready in "
            f"{build_log.took(mark)})"
        )
    return lock, layer, []


def _config_line(config: AppConfig) -> str:
    """``atoll.toml: ok``, with the limits it changes and the hosts it lets functions reach."""
    defaults = AppLimits()
    changed = [
        f"{f.name}={getattr(config.limits, f.name)}"
        for f in dataclasses.fields(AppLimits)
        if getattr(config.limits, f.name) != getattr(defaults, f.name)
    ]
    parts = [f"limits {', '.join(changed)}"] if changed else []
    if config.egress:
        parts.append(f"egress {', '.join(config.egress)}")
    return "atoll.toml: ok" + (f" ({'; '.join(parts)})" if parts else "")


def _shown(entries: Sequence[str]) -> str:
    """``a, b and 3 more``: dependency entries or pins, for a build log line."""
    shown = ", ".join(entries[:SHOWN_DEPENDENCIES])
    more = len(entries) - SHOWN_DEPENDENCIES
    return shown + (f" and {more} more" if more > 0 else "")


def _plan_migrations(code_dir: Path, build_log: BuildLog) -> list[BuildError]:
    """The migrations the revision brings, in order, each classified (into ``build_log``); what
    keeps any of them from running at all."""
    try:
        migrations = code_migrations(code_dir)
    except AtollError as exc:
        build_log.say("migrations: cannot be planned")
        return build_errors(exc, file=MIGRATIONS_DIR)
    problems: list[BuildError] = []
    planned: list[str] = []
    for migration in migrations:
        path = f"{MIGRATIONS_DIR}/{migration.filename}"
        kind = dbservice.classify_migration(migration.sql).kind
        build_log.migrations.append(PlannedMigration(path, kind))
        planned.append(f"{migration.filename} ({kind})")
        problems += [BuildError(path, None, None, p) for p in migration_problems(migration.sql)]
    build_log.say(f"migrations: {', '.join(planned) or 'none'}")
    return problems


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _frontend(
    cp: ControlPlane,
    app: App,
    revision: Revision,
    code_dir: Path,
    build_log: BuildLog,
) -> Path:
    """The revision's pages and component bundles, built once into the app's folder (its
    dependency lock is written beside them by the caller: one folder holds what the build
    made)."""
    target = built_dir(cp, app, revision.id)
    root = target.parent
    if target.is_dir():
        for line in _reused_lines(target):
            build_log.say(line)
        return target
    root.mkdir(parents=True, exist_ok=True)
    # The app's component packages stay pinned from build to build by their lockfile.
    lock_path = root.parent / "npm-lock.json"
    lock = lock_path.read_bytes() if lock_path.is_file() else None
    work = Path(tempfile.mkdtemp(dir=root, prefix=".tmp-"))
    try:
        mark = build_log.start()
        built = build_frontend(code_dir, work, deps_dir=root.parent / "npm", lockfile=lock)
        build_log.say(f"pages: {len(built.pages)} validated")
        build_log.say(_components_line(built.components, work, f"in {build_log.took(mark)}"))
        for warning in built.warnings:
            log.warning("%s@%s: %s", app.slug, revision.number, warning)
            build_log.say(_warning_line(warning))
        if built.components.lockfile:
            lock_path.write_text(built.components.lockfile)
        try:
            work.rename(target)
        except OSError:
            if not target.is_dir():  # lost a race to an identical build: fine
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _write_lock(folder: Path, lock: str) -> None:
    tmp = folder / f".{LOCK_FILE}.tmp"
    tmp.write_text(lock, "utf-8")
    tmp.chmod(0o644)
    tmp.replace(folder / LOCK_FILE)


def _reused_lines(built: Path) -> list[str]:
    """What an earlier build of the revision made into ``built`` (not built again)."""
    try:
        pages = json.loads((built / PAGES_FILE).read_bytes())
        manifest = ComponentManifest.from_json(json.loads((built / MANIFEST_NAME).read_bytes()))
    except (OSError, ValueError, KeyError, TypeError):
        return ["pages and components: built before for this revision, reused"]
    return [f"pages: {len(pages)} validated, reused", _components_line(manifest, built, "reused")]


def _components_line(manifest: ComponentManifest, built: Path, how: str) -> str:
    """``components: 4 bundled (112 KB) in 0.4 s`` (``how``: the time pages and components
    took, or ``reused``)."""
    if not manifest.components:
        return "components: none"
    size = sum((built / f).stat().st_size for f in manifest.files if (built / f).is_file())
    packages = f", npm packages {', '.join(manifest.packages)}" if manifest.packages else ""
    count = len(manifest.components)
    return f"components: {count} bundled ({size_text(size)}{packages}) {how}"


def _warning_line(warning: dict[str, Any]) -> str:
    """A build warning as ``warning: file: path: message``."""
    where = [str(warning[k]) for k in ("file", "path") if warning.get(k) not in (None, "", "$")]
    return ": ".join(["warning", *where, str(warning.get("message", ""))])
