"""The builder's checks on a turn's draft, before anything is committed: what a build of
the edited sources would report, with the file and line of each problem."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from atoll import dbservice
from atoll.builder.components import undeclared_packages
from atoll.builder.deps import declared_dependencies
from atoll.errors import AtollError
from atoll.names import AppEnv
from atoll.releases.artifacts import check_sources
from atoll.releases.buildlog import BuildLog
from atoll.store.records import BuildError

from .draft import Draft

CHECK_ENV = "dev"
PACKAGE_JSON = (
    "components/package.json"  # migrations are dry-run on a copy of this environment's database
)


def check_draft(draft: Draft, tenant: str, build_log: BuildLog | None = None) -> list[BuildError]:
    """Every problem a build of the draft would find (none: it would build)."""
    with tempfile.TemporaryDirectory(prefix="atoll-draft-") as tmp:
        folder = Path(tmp) / "app"
        materialize(draft, folder)
        database = dbservice.DatabaseName.of(
            AppEnv(tenant=tenant, app=draft.app.slug, env=CHECK_ENV)
        )
        return check_sources(draft.cp, draft.app, folder, database, build_log)


def new_npm_packages(draft: Draft) -> list[str]:
    """The npm packages the turn brings in: imported by the draft's components without
    being listed in ``components/package.json``, or listed there by the turn (none when no
    file under ``components/`` changed)."""
    if not any(p.startswith("components/") for p in draft.changed_paths()):
        return []
    with tempfile.TemporaryDirectory(prefix="atoll-draft-") as tmp:
        folder = Path(tmp) / "app"
        materialize(draft, folder)
        found = undeclared_packages(folder)
        try:
            now = declared_dependencies(folder)
        except AtollError:
            return found  # the checks say what is wrong with it
    before: dict[str, str] = {}
    if draft.base is not None and PACKAGE_JSON in draft.base.tree:
        blob = draft.cp.workspaces.blobs(draft.app).get(draft.base.tree[PACKAGE_JSON][0])
        with tempfile.TemporaryDirectory(prefix="atoll-draft-") as tmp:
            (Path(tmp) / "components").mkdir()
            (Path(tmp) / PACKAGE_JSON).write_bytes(blob)
            with contextlib.suppress(AtollError):
                before = declared_dependencies(Path(tmp))
    return found + sorted(name for name in now if name not in before and name not in found)


def materialize(draft: Draft, folder: Path) -> None:
    """Write the draft's files into ``folder`` (paths were checked when they were written)."""
    for path in draft.paths():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(draft.content(path))


def describe(errors: list[BuildError]) -> str:
    """Check results as the model reads them: one ``file:line:col: message`` per problem."""
    if not errors:
        return "all checks passed: the app builds"
    return f"{len(errors)} problem(s):\n" + "\n".join(str(e) for e in errors)
