"""Apps: create (empty, or from one of the examples that come with Atoll), list, get,
delete; and the examples."""

from __future__ import annotations

import shutil

from fastapi import APIRouter

from atoll import dbservice
from atoll.api.auth import Platform, TenantCaller
from atoll.api.bootstrap import import_folder
from atoll.api.examples import ExampleOut, examples, find_example
from atoll.api.schemas import AppCreate, AppOut
from atoll.services import ControlPlane
from atoll.store import apps as repo
from atoll.store.records import App

router = APIRouter(tags=["apps"])


def find_app(cp: ControlPlane, tenant_id: int, name: str) -> App:
    """The caller's app ``name``; anything else (another tenant's included) is a 404."""
    with cp.engine.connect() as conn:
        return repo.get_app(conn, tenant_id, name)


@router.post("/apps", status_code=201)
def create_app(body: AppCreate, who: TenantCaller, cp: Platform) -> AppOut:
    """Create an app: empty (fill its workspace with a push or a batch write), or with an
    example's files as its first revision (``example``: a name ``GET /examples`` lists)."""
    assert who.tenant is not None
    example = find_example(body.example) if body.example is not None else None
    with cp.engine.begin() as conn:
        app = repo.create_app(conn, who.tenant.id, body.name)
    if example is not None:
        import_folder(cp, app, example.path, who.author, f"the {example.name} example")
        app = find_app(cp, who.tenant.id, app.slug)
    return AppOut.of(app)


@router.get("/examples")
def list_examples(who: TenantCaller) -> list[ExampleOut]:
    """The example apps an app can start from."""
    return [ExampleOut(name=e.name, description=e.description) for e in examples().values()]


@router.get("/apps")
def list_apps(who: TenantCaller, cp: Platform) -> list[AppOut]:
    """The tenant's apps."""
    assert who.tenant is not None
    with cp.engine.connect() as conn:
        return [AppOut.of(a) for a in repo.list_apps(conn, who.tenant.id)]


@router.get("/apps/{app}")
def get_app(app: str, who: TenantCaller, cp: Platform) -> AppOut:
    """One app."""
    assert who.tenant is not None
    return AppOut.of(find_app(cp, who.tenant.id, app))


@router.delete("/apps/{app}")
def delete_app(app: str, who: TenantCaller, cp: Platform) -> AppOut:
    """Delete an app with its workspace, releases and databases; other apps are untouched."""
    assert who.tenant is not None
    found = find_app(cp, who.tenant.id, app)
    with cp.engine.begin() as conn:
        repo.delete_app(conn, found.id)
    # Rows go first: once they are gone the app is unreachable, so removing its files
    # afterwards cannot race a reader, and a crash in between leaves only garbage on disk.
    cp.workspaces.destroy(found)
    shutil.rmtree(cp.settings.data_dir / "apps" / str(found.id), ignore_errors=True)
    dbservice.delete_app_databases(cp.settings.data_dir, who.tenant.slug, found.slug)
    return AppOut.of(found)
