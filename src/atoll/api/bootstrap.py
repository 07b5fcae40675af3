"""First-run set-up: the bootstrap admin token and the demo tenant with its example apps."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from atoll.errors import NotFound
from atoll.releases import Releases
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App
from atoll.workspace import Change
from atoll.workspace.folders import scan_folder

DEMO_TENANT = "demo"
DEMO_APP = "todo"
DEMO_APPS = (DEMO_APP, "crm")  # examples/<name>, each imported as app <name>


def _write_secret(path: Path, secret: str) -> None:
    # Create with 0600 from the start so the secret is never world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    os.chmod(path, 0o600)


def _read_live_token(conn: sa.Connection, path: Path) -> str | None:
    if not path.is_file():
        return None
    secret = path.read_text().strip()
    return secret if tenant_repo.resolve_token(conn, secret) else None


def ensure_admin_token(cp: ControlPlane) -> str:
    """The admin token kept in ``<data-dir>/admin.token``, minted on first start."""
    path = cp.settings.admin_token_path
    with cp.engine.begin() as conn:
        secret = _read_live_token(conn, path)
        if secret is None:
            _, secret = tenant_repo.create_token(conn, None, "bootstrap-admin")
            _write_secret(path, secret)
    return secret


def import_folder(cp: ControlPlane, app: App, folder: Path, author: str, message: str) -> None:
    """Commit ``folder`` as the app's whole tree."""
    changes = [
        Change(f.path, cp.workspaces.put_blob(app, f.source.read_bytes()))
        for f in scan_folder(folder, cp.settings.limits)
    ]
    cp.workspaces.commit(app, app.head_revision, changes, author, message, replace=True)


def ensure_demo(cp: ControlPlane, *examples: Path) -> str:
    """Tenant ``demo`` with an app per example folder (named after it), each released as v1
    and promoted to prod; idempotent. Returns a demo token."""
    path = cp.settings.data_dir / "demo.token"
    with cp.engine.begin() as conn:
        try:
            tenant = tenant_repo.get_tenant(conn, DEMO_TENANT)
        except NotFound:
            tenant = tenant_repo.create_tenant(conn, DEMO_TENANT)
        secret = _read_live_token(conn, path)
        if secret is None:
            _, secret = tenant_repo.create_token(conn, tenant.id, "demo")
            _write_secret(path, secret)
    for example in examples:
        _ensure_example(cp, tenant.id, example)
    return secret


def _ensure_example(cp: ControlPlane, tenant_id: int, example: Path) -> None:
    name = example.name
    with cp.engine.begin() as conn:
        try:
            app = app_repo.get_app(conn, tenant_id, name)
        except NotFound:
            app = app_repo.create_app(conn, tenant_id, name)
    if app.head_revision is None:
        import_folder(cp, app, example, f"{DEMO_TENANT}/demo", f"import {name} example")
        with cp.engine.connect() as conn:
            app = app_repo.get_app(conn, tenant_id, name)
    releases = Releases(cp)
    if not releases.of_app(app):  # the example released as v1 and serving in prod
        release, _seconds = releases.create(app, "the example, as installed", "demo/demo")
        if release.state == "ready":
            releases.promote(DEMO_TENANT, app, "prod", "demo/demo", release.number)
