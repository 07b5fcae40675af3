"""Database names (``{tenant}--{app}--{env}``) and where their files live. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atoll.errors import InvalidName
from atoll.names import AppEnv, is_valid_slug


def check_slug(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid tenant/app/environment slug, else raise InvalidName."""
    if not is_valid_slug(value):
        raise InvalidName(f"invalid {kind} name {value!r}", kind=kind, value=value)
    return value


@dataclass(frozen=True, slots=True)
class DatabaseName:
    """The database of one app environment."""

    tenant: str
    app: str
    env: str

    def __post_init__(self) -> None:
        check_slug("tenant", self.tenant)
        check_slug("app", self.app)
        check_slug("environment", self.env)

    @classmethod
    def of(cls, app_env: AppEnv) -> DatabaseName:
        """The database of ``app_env``."""
        return cls(tenant=app_env.tenant, app=app_env.app, env=app_env.env)

    @classmethod
    def parse(cls, text: str) -> DatabaseName:
        """Parse ``tenant--app--env``."""
        parts = text.split("--")
        if len(parts) != 3:
            raise InvalidName(f"invalid database name {text!r}", kind="database", value=text)
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.tenant}--{self.app}--{self.env}"

    def path(self, data_dir: Path) -> Path:
        """The SQLite file of this database."""
        return databases_root(data_dir) / self.tenant / self.app / f"{self.env}.sqlite"

    def snapshot_dir(self, data_dir: Path) -> Path:
        """Where this database's snapshots are kept."""
        return snapshots_root(data_dir) / self.tenant / self.app / self.env


def databases_root(data_dir: Path) -> Path:
    """The folder holding every app environment's database."""
    return data_dir / "databases"


def snapshots_root(data_dir: Path) -> Path:
    """The folder holding every database's snapshots."""
    return data_dir / "snapshots"
