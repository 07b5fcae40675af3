"""Plain records returned by the repositories."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

BuildState = Literal["building", "ready", "failed"]


@dataclass(frozen=True)
class Tenant:
    """A tenant: the unit of isolation for apps and tokens."""

    id: int
    slug: str
    created_at: datetime
    isolation: str = "default"  # the tier its code runs on: default, bwrap or gvisor


@dataclass(frozen=True)
class Token:
    """An API token's public facts (the secret is never stored)."""

    id: int
    tenant_id: int | None
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def is_admin(self) -> bool:
        """Admin tokens belong to no tenant."""
        return self.tenant_id is None


@dataclass(frozen=True)
class App:
    """An app of a tenant with its workspace head."""

    id: int
    tenant_id: int
    slug: str
    created_at: datetime
    head_revision: str | None
    revision_count: int


@dataclass(frozen=True)
class Revision:
    """An immutable workspace revision: a tree of path -> (sha256, size)."""

    id: str
    app_id: int
    number: int
    parent_id: str | None
    author: str
    message: str
    created_at: datetime
    tree: dict[str, tuple[str, int]]
    file_count: int
    total_bytes: int


@dataclass(frozen=True)
class BuildError:
    """One reason a build failed: a workspace file and, where known, line and column."""

    file: str | None
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p is not None)
        return f"{where}: {self.message}" if self.file else self.message


@dataclass(frozen=True)
class EnvBuild:
    """An app environment's latest build attempt, and the revision it serves."""

    app_id: int
    env: str
    revision: str
    number: int
    state: BuildState
    errors: tuple[BuildError, ...]
    started_at: datetime
    finished_at: datetime | None
    live_revision: str | None
    live_number: int | None


@dataclass(frozen=True)
class PlannedMigration:
    """A migration a release's build found: its workspace path and whether it only adds."""

    file: str
    kind: str  # additive or destructive (``dbservice.classify_migration``)


@dataclass(frozen=True)
class Release:
    """A revision built once into an immutable release, ``v{number}`` of its app."""

    id: int
    app_id: int
    number: int
    revision: str
    revision_number: int
    state: BuildState
    errors: tuple[BuildError, ...]
    notes: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    build_log: str | None = None  # progress lines of its build; None when not read or kept
    migrations: tuple[PlannedMigration, ...] = ()  # what the build planned, in order

    @property
    def version(self) -> str:
        """``v{number}``."""
        return f"v{self.number}"


@dataclass(frozen=True)
class EnvRelease:
    """The release an app environment serves, since when and by whom."""

    app_id: int
    env: str
    release_number: int
    deployed_at: datetime
    deployed_by: str


@dataclass(frozen=True)
class Deploy:
    """One promotion or rollback of an app environment, as it went."""

    id: int
    env: str
    action: str
    from_number: int | None
    to_number: int
    result: str
    detail: str
    by: str
    at: datetime
    duration_ms: float


@dataclass(frozen=True)
class Var:
    """One config var of an app environment; a ``secret`` one's value never leaves the
    platform except into the environment's functions."""

    key: str
    value: str
    secret: bool
    version: int  # the change that last set it
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class VarChange:
    """One key of a change of an environment's vars (its name, never its value)."""

    key: str
    action: Literal["set", "unset"]
    secret: bool


@dataclass(frozen=True)
class VarsVersion:
    """One change of an environment's vars: which keys, by whom, when."""

    version: int
    changes: tuple[VarChange, ...]
    by: str
    at: datetime


@dataclass(frozen=True)
class EnvVars:
    """An app environment's vars at one version, as its functions get them."""

    version: int = 0
    values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    secrets: frozenset[str] = frozenset()  # the keys whose values are secrets


@dataclass(frozen=True)
class CustomEnv:
    """An environment a tenant created for an app, beside dev, staging and prod."""

    app_id: int
    name: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class AgentTurn:
    """One turn of the agent on an app: what was asked, how it ended, and its checkpoint."""

    app_id: int
    number: int
    prompt: str
    outcome: str
    summary: str
    base_revision: str | None
    revision: str | None
    snapshot: str | None
    prompt_tokens: int
    completion_tokens: int
    steps: int
    author: str
    started_at: datetime
    finished_at: datetime | None
    undone_at: datetime | None
    cost_usd: float = 0.0


@dataclass(frozen=True)
class AgentModel:
    """The model a tenant chose for its agent turns, instead of the server's."""

    tenant_id: int
    base_url: str
    model: str
    api_key: str
    price_input: float
    price_output: float
    updated_at: datetime
    updated_by: str
