"""An app's environments in the store: the name rules (pure) and their stable order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from atoll.errors import AlreadyExists, Conflict, InvalidName, NotFound
from atoll.store import apps as app_repo
from atoll.store import envs as env_repo
from atoll.store import open_store
from atoll.store import tenants as tenant_repo


@pytest.mark.parametrize(
    "name",
    ["q", "QA", "qa--x", "-qa", "qa-", "q_a", "q a", "q.a", "1qa", "qä", "x" * 41, ""],
)
def test_names_that_are_not_slugs_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        env_repo.check_env_name(name, "shop", "acme")


def test_a_name_keeps_the_origin_label_within_63_characters() -> None:
    app, tenant = "a" * 40, "t" * 10  # 40 + 10 + 4 for the two "--" leave 9
    assert env_repo.check_env_name("e" * 9, app, tenant) == "e" * 9
    with pytest.raises(InvalidName, match="use at most 9 characters") as refused:
        env_repo.check_env_name("e" * 10, app, tenant)
    assert refused.value.detail["max_length"] == 9
    with pytest.raises(InvalidName):  # no room at all: any name is too long
        env_repo.check_env_name("qa", "a" * 40, "t" * 19)


def test_defaults_first_then_created_ones_by_creation(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'meta.db'}")
    at = tenant_repo.now()
    with engine.begin() as conn:
        tenant = tenant_repo.create_tenant(conn, "acme")
        app = app_repo.create_app(conn, tenant.id, "shop")
        for i, name in enumerate(("zeta", "alpha", "mid")):
            env_repo.create_env(conn, app, "acme", name, "acme/t", at + timedelta(seconds=i))
        assert env_repo.app_environments(conn, app.id) == (
            "dev",
            "staging",
            "prod",
            "zeta",
            "alpha",
            "mid",
        )
        assert env_repo.is_app_environment(conn, app.id, "prod")
        assert not env_repo.is_app_environment(conn, app.id, "beta")
        with pytest.raises(AlreadyExists):
            env_repo.create_env(conn, app, "acme", "alpha", "acme/t", at)
        with pytest.raises(Conflict, match="cannot be deleted"):
            env_repo.delete_env(conn, app, "staging", "acme/t", at)
        with pytest.raises(NotFound, match="environment 'beta' not found"):
            env_repo.delete_env(conn, app, "beta", "acme/t", at)
        assert env_repo.delete_env(conn, app, "alpha", "acme/t", at).name == "alpha"
        with pytest.raises(NotFound):
            env_repo.check_app_environment(conn, app, "alpha")
        assert env_repo.app_environments(conn, app.id)[3:] == ("zeta", "mid")
    engine.dispose()
