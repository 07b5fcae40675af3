"""An app's releases: build the workspace head into the next one, list them, read one
(with its build log), compare two; deploy one to an environment (promote), point an
environment back (rollback), and each environment's history of both.

Releases never change once built: there is no route that edits or deletes one (the
methods answer 405 and say so).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.api.schemas import (
    ConfigDifferenceOut,
    DependencyDifferenceOut,
    Deployed,
    DeployOut,
    FileDifferenceOut,
    History,
    MigrationDifferenceOut,
    MigrationRunOut,
    PromoteIn,
    ReleaseCreated,
    ReleaseDetail,
    ReleaseDiffOut,
    ReleaseIn,
    ReleaseList,
    ReleaseOut,
    RestoredDbOut,
    RollbackIn,
    RollbackPlanOut,
    SnapshotRefOut,
)
from atoll.errors import AtollError, BadInput, InvalidName
from atoll.names import check_slug
from atoll.releases import Releases
from atoll.releases.diff import release_diff
from atoll.services import ControlPlane
from atoll.store.records import App, Release, Tenant

router = APIRouter(tags=["releases"])

_TO = "The release to roll back to (v2); default: what the environment served before."
_VERSION = re.compile(r"v?([1-9][0-9]{0,8})")


class Immutable(AtollError):
    """A release was asked to change."""

    status = 405
    code = "method_not_allowed"


def parse_version(version: str) -> int:
    """``v3`` (or ``3``) as 3; ``BadInput`` otherwise."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise BadInput(f"invalid release version {version!r}: use v1, v2, ...", version=version)
    return int(match.group(1))


@router.post("/apps/{app}/releases", status_code=status.HTTP_201_CREATED)
async def create_release(
    app: str, body: ReleaseIn, who: TenantCaller, cp: Platform
) -> ReleaseCreated:
    """Build the workspace head into the app's next release (``v1``, ``v2``, ...). A build
    that fails is still a release, ``failed`` with its errors; it deploys nowhere."""
    assert who.tenant is not None
    tenant_id = who.tenant.id
    found = await run_in_threadpool(find_app, cp, tenant_id, app)
    releases = Releases(cp)
    release, seconds = await run_in_threadpool(releases.create, found, body.notes, who.author)
    detail = await run_in_threadpool(_detail, releases, found, release)
    return ReleaseCreated(**detail.model_dump(), duration_ms=round(seconds * 1000, 1))


@router.get("/apps/{app}/releases")
def list_releases(app: str, who: TenantCaller, cp: Platform) -> ReleaseList:
    """The app's releases, newest first."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    releases = Releases(cp)
    where = _deployed_to(releases, found)
    return ReleaseList(
        releases=[ReleaseOut.of(r, where.get(r.number, [])) for r in releases.of_app(found)]
    )


def _deployed_to(releases: Releases, app: App) -> dict[int, list[str]]:
    """Release number -> the environments serving it."""
    where: dict[int, list[str]] = {}
    for env, pointer in sorted(releases.deployed(app).items()):
        where.setdefault(pointer.release_number, []).append(env)
    return where


@router.get("/apps/{app}/releases/{version}")
def get_release(app: str, version: str, who: TenantCaller, cp: Platform) -> ReleaseDetail:
    """One release (``v3`` or ``3``), with its build log and the migrations it planned."""
    assert who.tenant is not None
    number = parse_version(version)
    found = find_app(cp, who.tenant.id, app)
    releases = Releases(cp)
    return _detail(releases, found, releases.get(found, number))


def _detail(releases: Releases, app: App, release: Release) -> ReleaseDetail:
    digest = releases.digest(app, release.revision) if release.state == "ready" else None
    where = _deployed_to(releases, app).get(release.number, [])
    return ReleaseDetail.of(release, where, digest)


@router.get("/apps/{app}/releases/{version}/diff/{other}")
def diff_releases(
    app: str, version: str, other: str, who: TenantCaller, cp: Platform, patch: bool = False
) -> ReleaseDiffOut:
    """What differs from release ``version`` to release ``other`` (``v3`` or ``3``): files
    (with unified diffs of small text files when ``patch``), migrations, Python
    dependencies and ``atoll.toml`` settings. Failed releases can be compared too."""
    assert who.tenant is not None
    old, new = parse_version(version), parse_version(other)
    found = find_app(cp, who.tenant.id, app)
    a, b, diff = release_diff(cp, found, old, new, patch=patch)
    return ReleaseDiffOut(
        old=a.version,
        new=b.version,
        old_revision=a.revision,
        new_revision=b.revision,
        files=[FileDifferenceOut(**dataclasses.asdict(f)) for f in diff.files],
        migrations=[MigrationDifferenceOut(**dataclasses.asdict(m)) for m in diff.migrations],
        dependencies=[DependencyDifferenceOut(**dataclasses.asdict(d)) for d in diff.dependencies],
        config=[ConfigDifferenceOut(**dataclasses.asdict(c)) for c in diff.config],
        notes=list(diff.notes),
    )


@router.api_route(
    "/apps/{app}/releases/{version}", methods=["PUT", "PATCH", "DELETE"], include_in_schema=False
)
def change_release(app: str, version: str, who: TenantCaller) -> None:
    """Releases never change."""
    raise Immutable(
        "releases are immutable: build a new one with POST /apps/{app}/releases",
        app=app,
        version=version,
    )


def _env(env: str) -> str:
    try:
        return check_slug(env, "environment")
    except InvalidName as exc:
        raise BadInput(exc.message, **exc.detail) from None


def _deployed(
    cp: ControlPlane, tenant: Tenant, app: str, env: str, before: int | None, release: Release
) -> Deployed:
    return Deployed(
        env=env,
        release=release.version,
        previous=f"v{before}" if before else None,
        revision=release.revision,
        url=cp.origin_url(env, app, tenant.slug),
    )


@router.post("/apps/{app}/envs/{env}/promote")
async def promote(app: str, env: str, body: PromoteIn, who: TenantCaller, cp: Platform) -> Deployed:
    """Deploy an existing release to an environment other than dev: the same artifacts, no
    rebuild. The environment's database is snapshotted and migrated to the release's
    migrations first; then the environment serves the release."""
    assert who.tenant is not None
    tenant = who.tenant
    _env(env)
    number = parse_version(body.release) if body.release is not None else None
    from_env = _env(body.from_env) if body.from_env is not None else None
    found = await run_in_threadpool(find_app, cp, tenant.id, app)
    before, release = await run_in_threadpool(
        Releases(cp).promote, tenant.slug, found, env, who.author, number, from_env
    )
    return _deployed(cp, tenant, app, env, before, release)


@router.post("/apps/{app}/envs/{env}/rollback")
async def rollback(
    app: str, env: str, body: RollbackIn, who: TenantCaller, cp: Platform
) -> Deployed:
    """Point the environment back at an earlier release (default: the one it served
    before), without rebuilding. The database is left as it is, unless a destructive
    migration the release never saw ran on it: then 409 ``rollback_blocked`` names the
    migration and the snapshot that ``restore_db`` restores."""
    assert who.tenant is not None
    tenant = who.tenant
    _env(env)
    number = parse_version(body.to) if body.to is not None else None
    found = await run_in_threadpool(find_app, cp, tenant.id, app)
    before, release, restored = await run_in_threadpool(
        Releases(cp).rollback, tenant.slug, found, env, who.author, number, body.restore_db
    )
    deployed = _deployed(cp, tenant, app, env, before, release)
    if restored is not None:
        deployed.restored_db = RestoredDbOut(**dataclasses.asdict(restored))
    return deployed


@router.get("/apps/{app}/envs/{env}/rollback-plan")
def rollback_plan(
    app: str,
    env: str,
    who: TenantCaller,
    cp: Platform,
    to: Annotated[str | None, Query(max_length=12, description=_TO)] = None,
) -> RollbackPlanOut:
    """What rolling the environment back to release ``to`` would do to its database, asked
    before doing it (nothing changes): whether the release runs on it as it is, and if not,
    the migration that blocks it, the snapshot ``restore_db`` would restore and the rows
    written since that it would lose. 409 where the rollback itself would be refused for
    another reason (nothing deployed, already served, not built, migrations not run)."""
    assert who.tenant is not None
    _env(env)
    number = parse_version(to) if to is not None else None
    found = find_app(cp, who.tenant.id, app)
    plan = Releases(cp).rollback_plan(who.tenant.slug, found, env, number)
    snapshot = plan.snapshot
    return RollbackPlanOut(
        env=plan.env,
        release=plan.release,
        current=plan.current,
        compatible=plan.compatible,
        migrations_after=[MigrationRunOut(file=f, kind=k) for f, k in plan.migrations_after],
        destructive=plan.destructive,
        blocking=plan.blocking,
        snapshot=SnapshotRefOut(id=snapshot.id, taken_at=snapshot.created_at) if snapshot else None,
        lost_rows=plan.lost_rows,
        would_lose=plan.would_lose,
    )


@router.get("/apps/{app}/envs/{env}/history")
def history(app: str, env: str, who: TenantCaller, cp: Platform) -> History:
    """The environment's promotions and rollbacks, newest first (at most 100)."""
    assert who.tenant is not None
    _env(env)
    found = find_app(cp, who.tenant.id, app)
    return History(deploys=[DeployOut.of(d) for d in Releases(cp).history(found, env)])
