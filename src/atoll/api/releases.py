"""An app's releases: build the workspace head into the next one, list them, read one.

Releases never change once built: there is no route that edits or deletes one (the
methods answer 405 and say so).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.api.schemas import ReleaseCreated, ReleaseIn, ReleaseList, ReleaseOut
from atoll.errors import AtollError, BadInput
from atoll.releases import Releases

router = APIRouter(tags=["releases"])

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
    release, seconds = await run_in_threadpool(Releases(cp).create, found, body.notes, who.author)
    return ReleaseCreated(
        **ReleaseOut.of(release).model_dump(), duration_ms=round(seconds * 1000, 1)
    )


@router.get("/apps/{app}/releases")
def list_releases(app: str, who: TenantCaller, cp: Platform) -> ReleaseList:
    """The app's releases, newest first."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    return ReleaseList(releases=[ReleaseOut.of(r) for r in Releases(cp).list(found)])


@router.get("/apps/{app}/releases/{version}")
def get_release(app: str, version: str, who: TenantCaller, cp: Platform) -> ReleaseOut:
    """One release (``v3`` or ``3``)."""
    assert who.tenant is not None
    number = parse_version(version)
    found = find_app(cp, who.tenant.id, app)
    return ReleaseOut.of(Releases(cp).get(found, number))


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
