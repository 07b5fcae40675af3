"""An app's environments: what each serves, its URL, and how its latest build went."""

from __future__ import annotations

from fastapi import APIRouter

from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.api.schemas import EnvOut
from atoll.errors import BadInput, InvalidName, NotFound
from atoll.names import DEFAULT_ENVIRONMENTS, check_slug
from atoll.releases import BUILD_ENV, Releases
from atoll.services import ControlPlane
from atoll.store import builds
from atoll.store import releases as release_repo
from atoll.store.records import App, Tenant

router = APIRouter(tags=["environments"])


def _envs(cp: ControlPlane, tenant: Tenant, app: App, names: tuple[str, ...]) -> list[EnvOut]:
    with cp.engine.connect() as conn:
        found = {name: builds.get_build(conn, app.id, name) for name in names}
        pointers = release_repo.list_env_releases(conn, app.id)
        deployed = {
            env: release_repo.get_release(conn, app.id, pointer.release_number)
            for env, pointer in pointers.items()
            if env in names
        }
    releases = Releases(cp)
    served: list[EnvOut] = []
    for name in names:
        build = found[name] if name == BUILD_ENV else None
        release = deployed.get(name)
        revision = release.revision if release else build.live_revision if build else None
        digest = releases.digest(app, revision) if revision else None
        url = cp.origin_url(name, app.slug, tenant.slug)
        served.append(EnvOut.of(name, url, build, release, digest))
    return served


@router.get("/apps/{app}/envs")
def list_envs(app: str, who: TenantCaller, cp: Platform) -> list[EnvOut]:
    """The app's environments (``dev``, ``staging``, ``prod``)."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    return _envs(cp, who.tenant, found, DEFAULT_ENVIRONMENTS)


@router.get("/apps/{app}/envs/{env}")
def get_env(app: str, env: str, who: TenantCaller, cp: Platform) -> EnvOut:
    """One environment; poll it after a push until ``build`` names the pushed revision and
    is ``ready`` or ``failed``."""
    assert who.tenant is not None
    try:
        check_slug(env, "environment")
    except InvalidName as exc:
        raise BadInput(exc.message, **exc.detail) from None
    found = find_app(cp, who.tenant.id, app)
    if env not in DEFAULT_ENVIRONMENTS:
        raise NotFound(f"environment {env!r} not found", env=env, app=app)
    return _envs(cp, who.tenant, found, (env,))[0]
