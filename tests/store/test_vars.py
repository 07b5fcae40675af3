"""Config vars: the rules for names and values, one version per change, secrets that stay
secret, a history of names only, and nothing left behind when an app goes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from atoll.errors import BadInput, LimitExceeded, NotFound
from atoll.store import apps as app_repo
from atoll.store import open_store
from atoll.store import tenants as tenant_repo
from atoll.store import vars as repo
from atoll.store.records import App, VarChange
from atoll.store.tables import env_var_changes, env_vars

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated metadata store in a temp file."""
    engine = open_store(f"sqlite:///{tmp_path / 'meta.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def app(engine: sa.Engine) -> App:
    """App ``shop`` of tenant ``acme``."""
    with engine.begin() as conn:
        owner = tenant_repo.create_tenant(conn, "acme")
        return app_repo.create_app(conn, owner.id, "shop")


def _change(
    engine: sa.Engine,
    app: App,
    values: dict[str, str] | None = None,
    unset: list[str] | None = None,
    secret: bool = False,
    env: str = "prod",
) -> int:
    with engine.begin() as conn:
        return repo.change_vars(
            conn, app.id, env, values or {}, unset or [], secret, "acme/default", T0
        )


# -- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["A", "API_KEY", "_PRIVATE", "X1", "A" * 64, "DATABASE_URL2"])
def test_good_names_pass(key: str) -> None:
    assert repo.check_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "api_key", "1ST", "A-B", "A B", "A.B", "É", "A" * 65, "A=B", "A\x00", "KEY\n"],
)
def test_malformed_names_are_refused_in_one_line(key: str) -> None:
    with pytest.raises(BadInput) as caught:
        repo.check_key(key)
    assert "invalid var name" in caught.value.message and "\n" not in caught.value.message


@pytest.mark.parametrize(
    "key",
    ["ATOLL_ENV", "ATOLL_X", "PYTHONPATH", "PYTHONHOME", "LD_PRELOAD", "LD_LIBRARY_PATH", "PATH",
     "HOME", "LANG", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "LC_ALL",
     "GLIBC_TUNABLES", "GCONV_PATH"],
)  # fmt: skip
def test_names_that_would_break_the_sandbox_are_reserved(key: str) -> None:
    with pytest.raises(BadInput, match="reserved"):
        repo.check_key(key)


def test_values_are_text_without_nul_within_the_cap() -> None:
    assert repo.check_value("K", "") == ""
    assert repo.check_value("K", "line one\nline two\tü€") == "line one\nline two\tü€"
    assert repo.check_value("K", "x" * repo.MAX_VALUE_BYTES)
    with pytest.raises(BadInput, match="NUL"):
        repo.check_value("K", "a\x00b")
    with pytest.raises(BadInput, match="not valid Unicode"):
        repo.check_value("K", "\ud800")  # a lone surrogate: JSON can carry one
    with pytest.raises(LimitExceeded) as caught:
        repo.check_value("K", "é" * (repo.MAX_VALUE_BYTES // 2 + 1))  # bytes, not characters
    assert caught.value.detail["limit"] == "max_var_bytes"


def test_a_refused_value_is_never_quoted() -> None:
    for value in ("hunter2-secret\x00", "hunter2-secret" * 5000):
        with pytest.raises((BadInput, LimitExceeded)) as caught:
            repo.check_value("TOKEN", value)
        assert "hunter2" not in caught.value.message and "hunter2" not in str(caught.value.detail)


def test_an_environment_holds_a_bounded_number_of_vars_and_bytes() -> None:
    repo.check_totals({f"K{i}": "v" for i in range(repo.MAX_VARS)})
    with pytest.raises(LimitExceeded, match="at most"):
        repo.check_totals({f"K{i}": "v" for i in range(repo.MAX_VARS + 1)})
    big = "x" * repo.MAX_VALUE_BYTES
    with pytest.raises(LimitExceeded) as caught:
        repo.check_totals({f"K{i}": big for i in range(repo.MAX_TOTAL_BYTES // len(big) + 1)})
    assert caught.value.detail["limit"] == "max_vars_bytes"


def test_a_change_must_change_something_and_not_set_and_unset_one_key() -> None:
    with pytest.raises(BadInput, match="nothing to change"):
        repo.check_change({}, [])
    with pytest.raises(BadInput, match="both set and unset"):
        repo.check_change({"A": "1"}, ["A"])
    with pytest.raises(BadInput, match="invalid var name"):
        repo.check_change({}, ["lower"])


# -- rows and versions ----------------------------------------------------------------------


def test_each_change_is_one_version_per_environment(engine: sa.Engine, app: App) -> None:
    assert _change(engine, app, {"A": "1", "B": "2"}) == 1
    assert _change(engine, app, {"A": "3"}, unset=["B"]) == 2
    assert _change(engine, app, {"A": "dev"}, env="dev") == 1  # its own counter
    with engine.connect() as conn:
        listed = repo.list_vars(conn, app.id, "prod")
        assert [(v.key, v.value, v.version) for v in listed] == [("A", "3", 2)]
        assert repo.current_version(conn, app.id, "prod") == 2
        assert repo.version_of(conn, "acme", "shop", "prod") == 2
        assert repo.version_of(conn, "acme", "shop", "staging") == 0
        assert repo.version_of(conn, "acme", "gone", "prod") == 0
        loaded = repo.load_env_vars(conn, "acme", "shop", "dev")
    assert (loaded.version, dict(loaded.values), loaded.secrets) == (1, {"A": "dev"}, frozenset())


def test_setting_the_same_values_again_makes_no_version(engine: sa.Engine, app: App) -> None:
    assert _change(engine, app, {"A": "1"}) == 1
    assert _change(engine, app, {"A": "1"}) == 1
    with engine.connect() as conn:
        assert len(repo.list_changes(conn, app.id, "prod")) == 1


def test_a_secret_stays_secret_until_it_is_unset(engine: sa.Engine, app: App) -> None:
    _change(engine, app, {"TOKEN": "s3cr3t-one", "PLAIN": "p"}, secret=False)
    _change(engine, app, {"TOKEN": "s3cr3t-two"}, secret=True)
    _change(engine, app, {"TOKEN": "s3cr3t-three"})  # the flag forgotten: still a secret
    with engine.connect() as conn:
        loaded = repo.load_env_vars(conn, "acme", "shop", "prod")
    assert loaded.secrets == {"TOKEN"} and loaded.values["TOKEN"] == "s3cr3t-three"
    _change(engine, app, unset=["TOKEN"])
    _change(engine, app, {"TOKEN": "now-plain"})
    with engine.connect() as conn:
        assert repo.load_env_vars(conn, "acme", "shop", "prod").secrets == frozenset()


def test_the_history_names_keys_and_never_holds_a_value(engine: sa.Engine, app: App) -> None:
    _change(engine, app, {"TOKEN": "s3cr3t-value"}, secret=True)
    _change(engine, app, {"URL": "https://example.test/plain-value"})
    _change(engine, app, unset=["TOKEN"])
    with engine.connect() as conn:
        history = repo.list_changes(conn, app.id, "prod")
        raw = conn.execute(sa.select(env_var_changes)).all()
    assert [(h.version, h.changes) for h in history] == [
        (3, (VarChange("TOKEN", "unset", True),)),
        (2, (VarChange("URL", "set", False),)),
        (1, (VarChange("TOKEN", "set", True),)),
    ]
    assert history[0].by == "acme/default" and history[0].at == T0
    assert not any("s3cr3t" in str(row) or "plain-value" in str(row) for row in raw)


def test_unsetting_a_missing_key_changes_nothing(engine: sa.Engine, app: App) -> None:
    _change(engine, app, {"A": "1", "B": "2"})
    with pytest.raises(NotFound, match="no var C"):
        _change(engine, app, unset=["A", "C"])
    with engine.connect() as conn:
        assert [v.key for v in repo.list_vars(conn, app.id, "prod")] == ["A", "B"]
        assert repo.current_version(conn, app.id, "prod") == 1


def test_a_change_over_the_caps_writes_nothing(engine: sa.Engine, app: App) -> None:
    big = "x" * repo.MAX_VALUE_BYTES
    count = repo.MAX_TOTAL_BYTES // (len(big) + 8)
    _change(engine, app, {f"K{i}": big for i in range(count)})
    with pytest.raises(LimitExceeded):
        _change(engine, app, {"ONE_MORE": big})
    with engine.connect() as conn:
        assert len(repo.list_vars(conn, app.id, "prod")) == count
        assert repo.current_version(conn, app.id, "prod") == 1


def test_history_is_bounded(engine: sa.Engine, app: App) -> None:
    for i in range(5):
        with engine.begin() as conn:
            repo.change_vars(conn, app.id, "prod", {"A": str(i)}, [], False, "me", T0, 3)
    with engine.connect() as conn:
        assert [h.version for h in repo.list_changes(conn, app.id, "prod")] == [5, 4, 3]
        assert repo.current_version(conn, app.id, "prod") == 5


def test_deleting_an_app_deletes_its_vars(engine: sa.Engine, app: App) -> None:
    _change(engine, app, {"TOKEN": "s3cr3t-value"}, secret=True)
    with engine.begin() as conn:
        app_repo.delete_app(conn, app.id)
        again = app_repo.create_app(conn, app.tenant_id, "shop")
    with engine.connect() as conn:
        assert conn.execute(sa.select(env_vars)).all() == []
        assert conn.execute(sa.select(env_var_changes)).all() == []
        assert repo.list_vars(conn, again.id, "prod") == []
        assert repo.current_version(conn, again.id, "prod") == 0
