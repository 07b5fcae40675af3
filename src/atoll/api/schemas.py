"""Request and response bodies of the control-plane API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from atoll.store.records import (
    App,
    BuildError,
    Deploy,
    EnvBuild,
    Release,
    Revision,
    Tenant,
    Token,
)


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class TenantCreate(Body):
    """``POST /tenants``."""

    name: str = Field(max_length=100, description="The tenant's slug.")
    isolation: str = Field(
        "default",
        max_length=20,
        description="Which sandbox tier runs its code: default (the platform's backend), "
        "bwrap (bubblewrap) or gvisor (never run in bubblewrap instead).",
    )


class TenantOut(BaseModel):
    """A tenant."""

    name: str
    created_at: datetime
    isolation: str

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        """From a store record."""
        return cls(name=tenant.slug, created_at=tenant.created_at, isolation=tenant.isolation)


class TokenOut(BaseModel):
    """A token's public facts; the secret is never shown again."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: Token) -> TokenOut:
        """From a store record."""
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TenantCreated(BaseModel):
    """A new tenant and its first token (shown once)."""

    tenant: str
    token: str
    token_info: TokenOut
    isolation: str = "default"


class TokenCreate(Body):
    """``POST /tokens``."""

    name: str = Field("api", min_length=1, max_length=100)


class TokenCreated(BaseModel):
    """A new token; ``token`` is the secret, shown once."""

    token: str
    token_info: TokenOut


class Me(BaseModel):
    """Who the token belongs to."""

    tenant: str | None
    admin: bool
    token: TokenOut


class AppCreate(Body):
    """``POST /apps``."""

    name: str = Field(max_length=100, description="The app's slug.")
    example: str | None = Field(
        None, max_length=100, description="Start from this example's files (GET /examples)."
    )


class AppOut(BaseModel):
    """An app."""

    app: str
    created_at: datetime
    head_revision: str | None
    revisions: int

    @classmethod
    def of(cls, app: App) -> AppOut:
        """From a store record."""
        return cls(
            app=app.slug,
            created_at=app.created_at,
            head_revision=app.head_revision,
            revisions=app.revision_count,
        )


class FileEntry(BaseModel):
    """A file in a revision."""

    path: str
    sha256: str
    size: int


class RevisionOut(BaseModel):
    """A workspace revision (without its file list)."""

    revision: str
    number: int
    parent: str | None
    author: str
    message: str
    created_at: datetime
    file_count: int
    total_bytes: int

    @classmethod
    def of(cls, rev: Revision) -> RevisionOut:
        """From a store record."""
        return cls(
            revision=rev.id,
            number=rev.number,
            parent=rev.parent_id,
            author=rev.author,
            message=rev.message,
            created_at=rev.created_at,
            file_count=rev.file_count,
            total_bytes=rev.total_bytes,
        )


class RevisionWithFiles(RevisionOut):
    """A revision with its tree."""

    files: list[FileEntry]

    @classmethod
    def with_files(cls, rev: Revision) -> RevisionWithFiles:
        """From a store record, listing its files."""
        files = [FileEntry(path=p, sha256=s, size=n) for p, (s, n) in sorted(rev.tree.items())]
        return cls(**RevisionOut.of(rev).model_dump(), files=files)


class CommitResult(RevisionOut):
    """The revision a write produced; ``created`` is false when nothing changed."""

    created: bool


class ChangeIn(Body):
    """One path of a batch write: new content (text, base64 or an uploaded blob) or delete."""

    path: str = Field(max_length=4096)
    text: str | None = Field(None, description="New content as UTF-8 text.")
    base64: str | None = Field(None, description="New content, base64-encoded.")
    sha256: str | None = Field(None, description="New content: a blob uploaded before.")
    delete: bool = Field(False, description="Delete the path instead.")


class CommitIn(Body):
    """``POST /apps/{app}/revisions``: one revision from many changes."""

    base: str | None = Field(
        description="The revision these changes were based on (the current head); "
        "null only for an app without revisions."
    )
    message: str = Field("", max_length=10_000)
    replace: bool = Field(
        False, description="The new tree holds exactly the given paths (a folder push)."
    )
    changes: list[ChangeIn] = Field(max_length=20_000)


class MissingIn(Body):
    """``POST /apps/{app}/blobs/missing``."""

    sha256: list[str] = Field(max_length=20_000)


class MissingOut(BaseModel):
    """Which blobs still need uploading."""

    missing: list[str]


class BlobOut(BaseModel):
    """An uploaded blob."""

    sha256: str
    size: int


class DiffEntry(BaseModel):
    """One changed path between two revisions."""

    path: str
    status: Literal["added", "removed", "modified"]
    old_sha256: str | None
    new_sha256: str | None
    diff: str | None = Field(description="Unified diff for UTF-8 text files, else null.")


class DiffOut(BaseModel):
    """The changes between two revisions."""

    old: str
    new: str
    changes: list[DiffEntry]


class BuildErrorOut(BaseModel):
    """Why a build failed: a workspace file and, where known, the line and column (1-based)."""

    file: str | None = Field(description="Workspace path, e.g. pages/index.json; null if none.")
    line: int | None
    column: int | None
    message: str

    @classmethod
    def of(cls, error: BuildError) -> BuildErrorOut:
        """From a store record."""
        return cls(file=error.file, line=error.line, column=error.column, message=error.message)


class BuildOut(BaseModel):
    """An environment's latest build attempt (normally of the workspace head)."""

    revision: str
    number: int
    state: Literal["building", "ready", "failed"]
    errors: list[BuildErrorOut] = Field(description="At most 50; empty unless failed.")
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, build: EnvBuild) -> BuildOut:
        """From a store record."""
        return cls(
            revision=build.revision,
            number=build.number,
            state=build.state,
            errors=[BuildErrorOut.of(e) for e in build.errors],
            started_at=build.started_at,
            finished_at=build.finished_at,
        )


class EnvOut(BaseModel):
    """An app environment: what it serves, where, and how its latest build went."""

    name: str
    release: str | None = Field(
        description="The release deployed here (v3); null in dev, which serves the workspace."
    )
    revision: str | None = Field(
        description="The revision served: in dev the last one that built, elsewhere the release's."
    )
    number: int | None = Field(description="That revision's number.")
    url: str = Field(description="The environment's browser origin.")
    build: BuildOut | None = Field(description="dev's latest build attempt; null if none yet.")
    digest: str | None = Field(
        None,
        description="sha256 of the artifacts served (as the release's `digest`): environments "
        "serving the same build show the same digest. Null when nothing is served.",
    )

    @classmethod
    def of(
        cls,
        name: str,
        url: str,
        build: EnvBuild | None,
        release: Release | None = None,
        digest: str | None = None,
    ) -> EnvOut:
        """From dev's build record (None if it never built), or the release deployed; and
        the digest of the artifacts served."""
        if release is not None:
            return cls(
                name=name,
                release=release.version,
                revision=release.revision,
                number=release.revision_number,
                url=url,
                build=None,
                digest=digest,
            )
        return cls(
            name=name,
            release=None,
            revision=build.live_revision if build else None,
            number=build.live_number if build else None,
            url=url,
            build=BuildOut.of(build) if build else None,
            digest=digest,
        )


class ReleaseIn(BaseModel):
    """What ``POST /apps/{app}/releases`` takes."""

    model_config = ConfigDict(extra="forbid")

    notes: str = Field("", max_length=2000, description="What this release is (shown in lists).")


class ReleaseOut(BaseModel):
    """A release: the revision it was built from, how the build went, and its notes."""

    version: str = Field(description="v1, v2, ... per app.")
    number: int
    status: Literal["building", "ready", "failed"]
    revision: str = Field(description="The workspace revision it was built from.")
    revision_number: int
    errors: list[BuildErrorOut] = Field(description="At most 50; empty unless failed.")
    notes: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    deployed_to: list[str] = Field(
        default_factory=list,
        description="The environments whose pointer is on it (dev follows the workspace and "
        "is never listed).",
    )

    @classmethod
    def of(cls, release: Release, deployed_to: Sequence[str] = ()) -> ReleaseOut:
        """From a store record, and where it is deployed."""
        return cls(
            version=release.version,
            number=release.number,
            status=release.state,
            revision=release.revision,
            revision_number=release.revision_number,
            errors=[BuildErrorOut.of(e) for e in release.errors],
            notes=release.notes,
            created_by=release.created_by,
            created_at=release.created_at,
            finished_at=release.finished_at,
            deployed_to=list(deployed_to),
        )


class PlannedMigrationOut(BaseModel):
    """A migration a release's build planned."""

    file: str = Field(description="Workspace path, e.g. migrations/0002_notes.sql.")
    kind: Literal["additive", "destructive"]


class ReleaseDetail(ReleaseOut):
    """One release with its build log and the migrations its build planned (not in lists)."""

    build_log: str | None = Field(
        description="What each build step did and how long it took, then the errors as "
        "file:line:col: message; at most 64 KiB (its start cut, with a note). Null for "
        "releases built before build logs were kept."
    )
    migrations: list[PlannedMigrationOut]
    digest: str | None = Field(
        description="sha256 of the artifacts it built (code and frontend, every file by path "
        "and content); the same in every environment it is deployed to. Null unless ready."
    )

    @classmethod
    def of(
        cls, release: Release, deployed_to: Sequence[str] = (), digest: str | None = None
    ) -> ReleaseDetail:
        """From a store record, its artifacts' digest and where it is deployed."""
        return cls(
            **ReleaseOut.of(release, deployed_to).model_dump(),
            build_log=release.build_log,
            migrations=[PlannedMigrationOut(file=m.file, kind=m.kind) for m in release.migrations],
            digest=digest,
        )


class ReleaseCreated(ReleaseDetail):
    """A release just built, with how long its build took."""

    duration_ms: float


class ReleaseList(BaseModel):
    """An app's releases, newest first."""

    releases: list[ReleaseOut]


class PromoteIn(BaseModel):
    """What ``POST /apps/{app}/envs/{env}/promote`` takes: a release, or an environment
    whose release to take (neither: the newest release that built)."""

    model_config = ConfigDict(extra="forbid")

    release: str | None = Field(None, max_length=12, description="v3 (or 3).")
    from_env: str | None = Field(None, alias="from", max_length=40, description="e.g. staging")


class RollbackIn(BaseModel):
    """What ``POST /apps/{app}/envs/{env}/rollback`` takes."""

    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(None, max_length=12, description="v2; default: what it served before")
    restore_db: StrictBool = Field(
        False,
        description="When a destructive migration the release never saw ran on the database "
        "since, restore the snapshot taken before it (rows written since are lost). Without "
        "it such a rollback is refused with 409 rollback_blocked, naming the migration and "
        "the snapshot.",
    )


class RestoredDbOut(BaseModel):
    """What a rollback with ``restore_db`` did to the database."""

    snapshot: str = Field(description="The snapshot restored, taken before `migration` ran.")
    migration: str = Field(description="The destructive migration undone (and all after it).")
    safety_snapshot: str | None = Field(description="The replaced content, kept to undo this.")
    lost_rows: dict[str, int] = Field(
        description="Per table, rows written or changed since the snapshot: now gone."
    )


class SnapshotRefOut(BaseModel):
    """A snapshot named by a rollback plan."""

    id: str
    taken_at: datetime


class MigrationRunOut(BaseModel):
    """A migration run on an environment's database."""

    file: str
    kind: str = Field(description="additive, or destructive (anything that does more than add).")


class RollbackPlanOut(BaseModel):
    """What a rollback would do to the environment's database, before it is done."""

    env: str
    release: str = Field(description="The release the rollback would serve.")
    current: str = Field(description="What the environment serves now.")
    compatible: bool = Field(
        description="Whether the release runs on the database as it is: then the rollback "
        "only moves the pointer, and `restore_db` changes nothing."
    )
    migrations_after: list[MigrationRunOut] = Field(
        description="Migrations run on the database that the release never saw, in order."
    )
    destructive: list[str] = Field(description="Those of them that do more than add.")
    blocking: str | None = Field(
        description="The first destructive one: a rollback without `restore_db` is refused "
        "(409 rollback_blocked) naming it. Null when compatible."
    )
    snapshot: SnapshotRefOut | None = Field(
        description="The snapshot `restore_db` restores (taken before `blocking` ran); null "
        "when compatible, or when it is gone (then the rollback cannot be done)."
    )
    lost_rows: dict[str, int] = Field(
        description="Per table, rows written or changed since `snapshot`, counted now: what "
        "`restore_db` would lose (rows written meanwhile too)."
    )
    would_lose: str | None = Field(
        description="One sentence on what `restore_db` would lose; null when compatible."
    )


class Deployed(BaseModel):
    """An environment after a promotion or rollback."""

    env: str
    release: str = Field(description="What it serves now.")
    previous: str | None = Field(description="What it served before.")
    revision: str
    url: str
    restored_db: RestoredDbOut | None = Field(
        None, description="Set when a rollback restored the database."
    )


class DeployOut(BaseModel):
    """One promotion or rollback."""

    action: Literal["promote", "rollback"]
    from_release: str | None
    to_release: str
    result: Literal["ok", "failed", "running"] = Field(description="running while under way.")
    detail: str
    by: str
    at: datetime
    duration_ms: float

    @classmethod
    def of(cls, deploy: Deploy) -> DeployOut:
        """From a store record."""
        return cls(
            action=deploy.action,
            from_release=f"v{deploy.from_number}" if deploy.from_number else None,
            to_release=f"v{deploy.to_number}",
            result=deploy.result,
            detail=deploy.detail,
            by=deploy.by,
            at=deploy.at,
            duration_ms=deploy.duration_ms,
        )


class History(BaseModel):
    """An environment's promotions and rollbacks, newest first."""

    deploys: list[DeployOut]


class FileDifferenceOut(BaseModel):
    """A file added, removed or modified between two releases."""

    path: str
    status: Literal["added", "removed", "modified"]
    old_size: int | None = Field(description="Bytes in the older release; null when absent.")
    new_size: int | None = Field(description="Bytes in the newer release; null when absent.")
    patch: str | None = Field(
        None,
        description="With ?patch=1: a unified diff (cut at 64 KiB), `binary, N bytes`, or why "
        "it is not shown.",
    )


class MigrationDifferenceOut(BaseModel):
    """A migration one release brings and the other does not, or brings changed."""

    file: str
    status: Literal["added", "removed", "changed"]
    kind: Literal["additive", "destructive"]


class DependencyDifferenceOut(BaseModel):
    """A ``[python] dependencies`` package added, removed or asked for differently."""

    name: str
    status: Literal["added", "removed", "changed"]
    old: str | None
    new: str | None


class ConfigDifferenceOut(BaseModel):
    """An ``atoll.toml`` setting that differs, by dotted key; null where it is not set."""

    key: str = Field(description="e.g. limits.memory_mb, egress.allow")
    old: Any
    new: Any


class ReleaseDiffOut(BaseModel):
    """What differs from release ``old`` to release ``new``."""

    old: str = Field(description="v1")
    new: str = Field(description="v2")
    old_revision: str
    new_revision: str
    files: list[FileDifferenceOut]
    migrations: list[MigrationDifferenceOut]
    dependencies: list[DependencyDifferenceOut]
    config: list[ConfigDifferenceOut]
    notes: list[str] = Field(description="What could not be compared, and why.")
