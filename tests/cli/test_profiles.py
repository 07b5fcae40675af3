"""Profiles kept by ``atoll login``, and which server and token a command uses."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from atoll.cli import profiles
from atoll.cli.profiles import DEFAULT_SERVER, ProfileError, resolve

ENV_VARS = ("ATOLL_SERVER", "ATOLL_TOKEN", "ATOLL_PROFILE", "ATOLL_ADMIN_TOKEN")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean config dir and working folder, with no ATOLL_* variables set."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def config_file(home: Path) -> Path:
    """Where the profiles of ``home`` are kept."""
    return home / "config" / "atoll" / "config.json"


def store(default: str | None, **named: object) -> None:
    """Save profiles the way ``atoll login`` does."""
    profiles.save({"default": default, "profiles": named})


def write_admin_token(home: Path, token: str) -> None:
    """A ``./.atoll/admin.token`` in the working folder, as ``atoll serve`` leaves it."""
    folder = home / "work" / ".atoll"
    folder.mkdir()
    (folder / "admin.token").write_text(f"{token}\n")


# The file


def test_save_is_private_and_load_reads_it_back(home: Path) -> None:
    data = {"default": "dev", "profiles": {"dev": {"server": "http://s:1", "token": "t1"}}}
    path = profiles.save(data)
    assert Path(path) == config_file(home)
    assert profiles.config_path() == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(config_file(home).parent).st_mode) == 0o700
    assert profiles.load() == data
    assert os.listdir(config_file(home).parent) == ["config.json"]  # no temp file left


def test_save_replaces_the_file_atomically(home: Path) -> None:
    store("a", a={"token": "old"})
    before = config_file(home).read_text()
    with pytest.raises(TypeError):
        profiles.save({"default": "a", "profiles": {"a": {"token": object()}}})
    assert config_file(home).read_text() == before  # the old file, whole
    assert os.listdir(config_file(home).parent) == ["config.json"]
    store("b", b={"token": "new"})
    assert profiles.load()["default"] == "b"
    assert stat.S_IMODE(os.stat(config_file(home)).st_mode) == 0o600


def test_save_does_not_follow_a_planted_link(home: Path) -> None:
    store(None)
    victim = home / "victim"
    victim.write_text("keep")
    tmp = Path(f"{config_file(home)}.tmp-{os.getpid()}")
    tmp.symlink_to(victim)
    with pytest.raises(OSError):
        store("x", x={"token": "t"})
    assert victim.read_text() == "keep"


def test_no_file_is_an_empty_config(home: Path) -> None:
    assert profiles.load() == {"default": None, "profiles": {}}
    assert not config_file(home).exists()


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '"text"', '{"profiles": []}', '{"profiles": null}', "\xff\xfe"],
)
def test_a_corrupt_file_is_a_profile_error(home: Path, content: str) -> None:
    config_file(home).parent.mkdir(parents=True)
    config_file(home).write_text(content, encoding="latin-1")
    with pytest.raises(ProfileError, match="config.json"):
        profiles.load()
    with pytest.raises(ProfileError):
        resolve(None, None, None, admin=False)


def test_an_unreadable_path_is_a_profile_error(home: Path) -> None:
    config_file(home).mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(ProfileError, match="cannot read"):
        profiles.load()


def test_odd_profile_entries_are_ignored(home: Path) -> None:
    store("odd", odd="not a dict", mixed={"server": "http://m:1", "token": 5})
    found = resolve(None, None, None, admin=False)
    assert (found.server, found.token, found.source) == (DEFAULT_SERVER, None, "nothing")
    mixed = resolve(None, None, "mixed", admin=False)
    assert (mixed.server, mixed.token) == ("http://m:1", None)


# Which server and token a tenant command uses


def test_nothing_configured(home: Path) -> None:
    found = resolve(None, None, None, admin=False)
    assert (found.server, found.token, found.source) == ("http://127.0.0.1:8000", None, "nothing")


def test_the_default_profile(home: Path) -> None:
    store("dev", dev={"server": "http://dev:1", "token": "t-dev"})
    found = resolve(None, None, None, admin=False)
    assert (found.server, found.token, found.source) == ("http://dev:1", "t-dev", "profile dev")


def test_env_vars_beat_the_default_profile(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store("dev", dev={"server": "http://dev:1", "token": "t-dev"})
    monkeypatch.setenv("ATOLL_SERVER", "http://env:2")
    monkeypatch.setenv("ATOLL_TOKEN", "t-env")
    found = resolve(None, None, None, admin=False)
    assert (found.server, found.token, found.source) == ("http://env:2", "t-env", "ATOLL_TOKEN")


def test_atoll_profile_names_a_profile_like_the_flag(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(
        "dev",
        dev={"server": "http://dev:1", "token": "t-dev"},
        ci={"server": "http://ci:3", "token": "t-ci"},
    )
    monkeypatch.setenv("ATOLL_PROFILE", "ci")
    found = resolve(None, None, None, admin=False)
    assert (found.server, found.token, found.source) == ("http://ci:3", "t-ci", "profile ci")
    monkeypatch.setenv("ATOLL_TOKEN", "t-env")  # a named profile beats the token env var
    assert resolve(None, None, None, admin=False).token == "t-ci"
    assert resolve(None, "t-flag", None, admin=False).token == "t-flag"  # the flag beats it
    monkeypatch.setenv("ATOLL_PROFILE", "typo")
    with pytest.raises(ProfileError, match="typo"):
        resolve(None, None, None, admin=False)


def test_an_explicit_profile_beats_env_vars(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store(
        "dev",
        dev={"server": "http://dev:1", "token": "t-dev"},
        prod={"server": "http://prod:4", "token": "t-prod"},
    )
    monkeypatch.setenv("ATOLL_SERVER", "http://env:2")
    monkeypatch.setenv("ATOLL_TOKEN", "t-env")
    monkeypatch.setenv("ATOLL_PROFILE", "dev")
    found = resolve(None, None, "prod", admin=False)
    assert (found.server, found.token, found.source) == ("http://prod:4", "t-prod", "profile prod")


def test_flags_beat_everything(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store(
        "dev",
        dev={"server": "http://dev:1", "token": "t-dev"},
        prod={"server": "http://prod:4", "token": "t-prod"},
    )
    monkeypatch.setenv("ATOLL_SERVER", "http://env:2")
    monkeypatch.setenv("ATOLL_TOKEN", "t-env")
    monkeypatch.setenv("ATOLL_ADMIN_TOKEN", "t-admin-env")
    for admin in (False, True):
        found = resolve("http://flag:5", "t-flag", "prod", admin=admin)
        assert (found.server, found.token, found.source) == ("http://flag:5", "t-flag", "--token")


def test_a_token_flag_alone_keeps_the_profile_server(home: Path) -> None:
    store("dev", dev={"server": "http://dev:1", "token": "t-dev"})
    found = resolve(None, "t-flag", None, admin=False)
    assert (found.server, found.token, found.source) == ("http://dev:1", "t-flag", "--token")


def test_an_explicit_profile_without_a_server_takes_the_env_server(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(None, bare={"token": "t-bare"})
    monkeypatch.setenv("ATOLL_SERVER", "http://env:2")
    found = resolve(None, None, "bare", admin=False)
    assert (found.server, found.token) == ("http://env:2", "t-bare")


def test_an_unknown_explicit_profile_is_an_error(home: Path) -> None:
    with pytest.raises(ProfileError, match="no profile named 'nope'"):
        resolve(None, None, "nope", admin=False)  # even with no config file at all
    store("dev", dev={"token": "t"})
    with pytest.raises(ProfileError, match="atoll login --profile nope"):
        resolve(None, None, "nope", admin=True)


# Which token an admin command uses


def test_admin_commands_use_the_admin_profile_over_an_exported_tenant_token(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(
        "dev",
        dev={"server": "http://dev:1", "token": "t-dev"},
        admin={"server": "http://adm:6", "token": "t-admin"},
    )
    monkeypatch.setenv("ATOLL_TOKEN", "t-tenant")
    found = resolve(None, None, None, admin=True)
    assert (found.server, found.token, found.source) == ("http://adm:6", "t-admin", "profile admin")
    tenant = resolve(None, None, None, admin=False)  # tenant commands keep the env token
    assert (tenant.token, tenant.source) == ("t-tenant", "ATOLL_TOKEN")


def test_admin_commands_take_atoll_admin_token(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOLL_TOKEN", "t-tenant")
    monkeypatch.setenv("ATOLL_ADMIN_TOKEN", "t-admin-env")
    found = resolve(None, None, None, admin=True)
    assert (found.token, found.source) == ("t-admin-env", "ATOLL_ADMIN_TOKEN")
    assert found.server == DEFAULT_SERVER


def test_admin_commands_take_the_local_admin_token_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_admin_token(home, "t-admin-file")
    monkeypatch.setenv("ATOLL_TOKEN", "t-tenant")
    found = resolve(None, None, None, admin=True)
    assert (found.token, found.source) == ("t-admin-file", "./.atoll/admin.token")
    assert resolve(None, None, None, admin=False).token == "t-tenant"  # tenants never see it


def test_admin_token_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_admin_token(home, "t-admin-file")
    store(None, admin={"server": "http://adm:6", "token": "t-admin"})
    monkeypatch.setenv("ATOLL_TOKEN", "t-tenant")
    assert resolve(None, None, None, admin=True).source == "profile admin"
    monkeypatch.setenv("ATOLL_ADMIN_TOKEN", "t-admin-env")
    assert resolve(None, None, None, admin=True).source == "ATOLL_ADMIN_TOKEN"


def test_admin_commands_fall_back_to_atoll_token(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATOLL_TOKEN", "t-maybe-admin")
    found = resolve(None, None, None, admin=True)
    assert (found.token, found.source) == ("t-maybe-admin", "ATOLL_TOKEN")


def test_admin_commands_with_an_explicit_profile_use_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(
        None,
        ops={"server": "http://ops:7", "token": "t-ops"},
        admin={"server": "http://adm:6", "token": "t-admin"},
    )
    monkeypatch.setenv("ATOLL_ADMIN_TOKEN", "t-admin-env")
    found = resolve(None, None, "ops", admin=True)
    assert (found.server, found.token, found.source) == ("http://ops:7", "t-ops", "profile ops")


def test_an_empty_admin_token_file_is_no_token(home: Path) -> None:
    write_admin_token(home, "  ")
    found = resolve(None, None, None, admin=True)
    assert (found.token, found.source) == (None, "nothing")


def test_the_file_is_read_from_xdg_config_home(home: Path) -> None:
    config_file(home).parent.mkdir(parents=True)
    config_file(home).write_text(
        json.dumps({"default": "x", "profiles": {"x": {"server": "http://x:9", "token": "t-x"}}})
    )
    found = resolve(None, None, None, admin=False)
    assert (found.server, found.token, found.source) == ("http://x:9", "t-x", "profile x")
