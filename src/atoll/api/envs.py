"""An app's environments: what each serves, its URL, and how its latest build went; and
the ones a tenant creates beside dev, staging and prod (create, delete).

Deleting a created environment deletes its release pointer, its deploy history, its vars
(their names-only history stays) and its database with its snapshots; its origin stops
answering at once. dev, staging and prod cannot be deleted.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import Field

from atoll import dbservice
from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.api.schemas import Body, EnvOut
from atoll.errors import BadInput, InvalidName
from atoll.names import check_slug
from atoll.releases import BUILD_ENV, Releases
from atoll.services import ControlPlane
from atoll.store import builds
from atoll.store import envs as env_repo
from atoll.store import releases as release_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App, Tenant

router = APIRouter(tags=["environments"])


class EnvIn(Body):
    """``POST /apps/{app}/envs``: a new environment."""

    name: str = Field(
        max_length=100,
        description="Its slug: 2-40 lowercase letters, digits and single hyphens, short "
        "enough that `{env}--{app}--{tenant}` holds in 63 characters.",
    )


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


def _env_name(env: str) -> str:
    """``env`` from a path, if it is a slug (else 422, as for every path parameter)."""
    try:
        return check_slug(env, "environment")
    except InvalidName as exc:
        raise BadInput(exc.message, **exc.detail) from None


@router.get("/apps/{app}/envs")
def list_envs(app: str, who: TenantCaller, cp: Platform) -> list[EnvOut]:
    """The app's environments: ``dev``, ``staging``, ``prod``, then the ones created for
    it, oldest first."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    with cp.engine.connect() as conn:
        names = env_repo.app_environments(conn, found.id)
    return _envs(cp, who.tenant, found, names)


@router.post("/apps/{app}/envs", status_code=status.HTTP_201_CREATED)
def create_env(app: str, body: EnvIn, who: TenantCaller, cp: Platform) -> EnvOut:
    """Create an environment beside dev, staging and prod (at most 20 per app). It starts
    empty; promote a release there to serve it at its own origin. 400 for a name it may
    not take, 409 when the app has it already."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    with cp.engine.begin() as conn:
        created = env_repo.create_env(
            conn, found, who.tenant.slug, body.name, who.author, tenant_repo.now()
        )
    return _envs(cp, who.tenant, found, (created.name,))[0]


@router.get("/apps/{app}/envs/{env}")
def get_env(app: str, env: str, who: TenantCaller, cp: Platform) -> EnvOut:
    """One environment; poll it after a push until ``build`` names the pushed revision and
    is ``ready`` or ``failed``."""
    assert who.tenant is not None
    _env_name(env)
    found = find_app(cp, who.tenant.id, app)
    with cp.engine.connect() as conn:
        env_repo.check_app_environment(conn, found, env)
    return _envs(cp, who.tenant, found, (env,))[0]


@router.delete("/apps/{app}/envs/{env}")
def delete_env(app: str, env: str, who: TenantCaller, cp: Platform) -> EnvOut:
    """Delete a created environment with its deploy history, vars and database (and its
    snapshots); its origin stops answering at once. What it served is answered. dev,
    staging and prod cannot be deleted (409)."""
    assert who.tenant is not None
    _env_name(env)
    found = find_app(cp, who.tenant.id, app)
    served = _envs(cp, who.tenant, found, (env,))[0]
    with cp.engine.begin() as conn:
        env_repo.delete_env(conn, found, env, who.author, tenant_repo.now())
    cp.workspaces.changed()  # the gateway looks again at once, and finds nothing there
    # Rows first, as for a whole app: once they are gone nothing reaches the database.
    database = dbservice.DatabaseName(tenant=who.tenant.slug, app=found.slug, env=env)
    dbservice.delete_database(cp.settings.data_dir, database)
    return served
