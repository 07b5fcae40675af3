"""The metadata store on a real PostgreSQL server (a private cluster started for the test)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient

from atoll.api import make_app
from atoll.api.bootstrap import ensure_admin_token
from atoll.config import Settings
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import builds, metadata, open_store
from atoll.store import tenants as tenant_repo
from tests.conftest import commit_text, head_of, make_tenant

BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _as_postgres(*cmd: str) -> None:
    # PostgreSQL refuses to run as root; tests run as root here, so drop to its own user.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A URL of a fresh PostgreSQL database on a unix socket."""
    if not BINDIRS:
        pytest.fail(
            "PostgreSQL is not installed; `make test` installs it (scripts/install-sysdeps.sh)"
        )
    bindir = Path(BINDIRS[-1])
    # Not under pytest's temp dir: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="atoll-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    _as_postgres(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust")
    _as_postgres(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-l",
        str(root / "log"),
        "-o",
        f"-k {sock} -c listen_addresses='' -p 5432",
        "start",
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port=5432"
    finally:
        _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_migrations_match_tables_on_postgres(pg_url: str) -> None:
    engine = open_store(pg_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_control_plane_on_postgres(pg_url: str, tmp_path: Path) -> None:
    cp = ControlPlane.open(Settings(data_dir=tmp_path / "data", database_url=pg_url))
    try:
        admin = {"Authorization": f"Bearer {ensure_admin_token(cp)}"}
        with TestClient(make_app(cp)) as client:
            acme = make_tenant(client, admin, "acme")
            globex = make_tenant(client, admin, "globex")
            assert (
                client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
            )
            commit_text(client, acme, "shop", {"a.txt": "1"})
            base = head_of(client, acme, "shop")
            commit_text(client, acme, "shop", {"a.txt": "2"})
            stale = {"base": base, "changes": [{"path": "a.txt", "text": "3"}]}
            r = client.post("/api/v1/apps/shop/revisions", json=stale, headers=acme)
            assert r.status_code == 409
            assert client.get("/api/v1/apps/shop/files/a.txt", headers=acme).text == "2"
            assert client.get("/api/v1/apps/shop", headers=globex).status_code == 404
            history = client.get("/api/v1/apps/shop/revisions", headers=acme).json()
            assert [h["number"] for h in history] == [2, 1]
            assert client.delete("/api/v1/apps/shop", headers=acme).status_code == 200
    finally:
        cp.close()


def test_build_records_on_postgres(pg_url: str) -> None:
    engine = open_store(pg_url)
    at = tenant_repo.now()
    try:
        with engine.begin() as conn:
            tenant = tenant_repo.create_tenant(conn, "builder")
            app = app_repo.create_app(conn, tenant.id, "shop")
            assert builds.start_build(conn, app.id, "dev", "r2", 2, at)
            assert not builds.start_build(conn, app.id, "dev", "r1", 1, at)
            assert builds.finish_build(conn, app.id, "dev", "r2", 2, "failed", [], at, at)
            assert not builds.start_build(conn, app.id, "dev", "r2", 2, at)
            builds.finish_build(conn, app.id, "dev", "r1", 1, "ready", [], at, at)
            record = builds.get_build(conn, app.id, "dev")
            assert record is not None
            assert (record.revision, record.state, record.live_revision) == ("r2", "failed", "r1")
            assert record.started_at == at
    finally:
        engine.dispose()
