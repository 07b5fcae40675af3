"""Revisions written out as folders."""

from __future__ import annotations

from fastapi.testclient import TestClient

from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.workspace.checkouts import checkout
from tests.conftest import commit_text


def test_checkout_writes_the_revision_once(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    client.post("/api/v1/apps", json={"name": "shop"}, headers=acme)
    commit_text(client, acme, "shop", {"a.txt": "1", "d/e/f.py": "print()"})
    with cp.engine.connect() as conn:
        app = app_repo.list_apps(conn, 1)[0]
    rev = cp.workspaces.revision(app)
    folder = checkout(cp.workspaces, app, rev)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["a.txt", "d/e/f.py"]
    assert (folder / "d/e/f.py").read_text() == "print()"
    assert checkout(cp.workspaces, app, rev) == folder
    assert [p.name for p in folder.parent.iterdir()] == [rev.id]  # no temp folders left
