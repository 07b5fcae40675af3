"""The builder's checks on a turn's draft, before anything is committed: what a build of
the edited sources would report, with the file and line of each problem."""

from __future__ import annotations

import tempfile
from pathlib import Path

from atoll import dbservice
from atoll.names import AppEnv
from atoll.releases.artifacts import check_sources
from atoll.releases.buildlog import BuildLog
from atoll.store.records import BuildError

from .draft import Draft

CHECK_ENV = "dev"  # migrations are dry-run on a copy of this environment's database


def check_draft(draft: Draft, tenant: str, build_log: BuildLog | None = None) -> list[BuildError]:
    """Every problem a build of the draft would find (none: it would build)."""
    with tempfile.TemporaryDirectory(prefix="atoll-draft-") as tmp:
        folder = Path(tmp) / "app"
        materialize(draft, folder)
        database = dbservice.DatabaseName.of(
            AppEnv(tenant=tenant, app=draft.app.slug, env=CHECK_ENV)
        )
        return check_sources(draft.cp, draft.app, folder, database, build_log)


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
