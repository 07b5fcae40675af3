"""Platform configuration: one settings model read from ``ATOLL_*`` once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Limits(BaseSettings):
    """Size and count limits on what tenants may store."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_LIMIT_", frozen=True)

    max_file_bytes: int = Field(5 * MiB, description="Largest single workspace file.")
    max_workspace_bytes: int = Field(200 * MiB, description="Largest total workspace size.")
    max_files: int = Field(5000, description="Most files in one workspace.")
    max_app_store_bytes: int = Field(
        2048 * MiB,
        description="Most bytes of file content one app keeps, every revision and upload "
        "together (uploads no revision names are collected after an hour to make room).",
    )
    max_path_length: int = Field(1024, description="Longest workspace path, in bytes.")
    max_body_bytes: int = Field(
        300 * MiB, description="Largest HTTP request body the control plane accepts."
    )
    max_json_body_bytes: int = Field(
        8 * MiB, description="Largest JSON request body (file contents travel base64 or raw)."
    )


class RuntimeSettings(BaseSettings):
    """How tenant functions are sandboxed and pooled; per-app ``[limits]`` stay within these."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_RUNTIME_", frozen=True)

    backend: str = Field("bwrap", description="Sandbox backend: bwrap or runsc.")
    runtime_dir: Path | None = Field(
        None,
        description="Where sandbox-visible files live (must be traversable by the sandbox "
        "uids); default data_dir/runtime, or a folder under /tmp when that is not reachable.",
    )
    sandbox_uid_base: int = Field(
        1_000_000, description="First unprivileged host uid given to sandboxes (one per slot)."
    )
    pool_size: int = Field(2, description="Generic pre-started sandboxes kept ready.")
    idle_seconds: float = Field(60.0, description="An idle app zygote exits after this long.")
    worker_max_requests: int = Field(1000, description="A worker is replaced after this many.")
    worker_poll_us: int = Field(
        500,
        ge=0,
        le=10_000,
        description="After a call made while CPUs were spare, the worker polls this long for "
        "its next call before it sleeps (0: never); a sleeping worker is slow to wake on VMs.",
    )
    max_timeout_seconds: float = Field(60.0, description="Largest per-app wall-clock limit.")
    max_memory_mb: int = Field(1024, description="Largest per-app memory limit.")
    max_processes: int = Field(128, description="Largest per-app process limit.")
    max_concurrency: int = Field(16, description="Largest per-app concurrency cap.")
    max_tmp_mb: int = Field(256, description="Largest per-app /tmp size.")
    egress_private_allowed: list[str] = Field(
        default_factory=list,
        description="host:port pairs on private or loopback addresses that apps may list "
        "under [egress] allow (all other private addresses are refused).",
    )


class Settings(BaseSettings):
    """Everything configurable about an Atoll installation."""

    model_config = SettingsConfigDict(env_prefix="ATOLL_", frozen=True)

    data_dir: Path = Field(Path(".atoll"), description="Where all platform data lives.")
    database_url: str | None = Field(
        None,
        description="Metadata database URL (SQLAlchemy); default SQLite under data_dir.",
    )
    host: str = Field("127.0.0.1", description="Address every listener binds to.")
    port: int = Field(8000, description="Control plane (API + IDE) port.")
    gateway_port: int = Field(8080, description="App gateway port.")
    db_port: int = Field(8081, description="DB service (Hrana over HTTP) port.")
    public_host: str = Field(
        "localhost", description="Host name apps are served under: {env}--{app}--{tenant}.HOST."
    )
    busy_poll_us: int = Field(
        200,
        ge=0,
        le=10_000,
        description="Before the server's event loop sleeps, it polls for this many microseconds "
        "(0: never). Saves a costly wake-up per request where idle CPUs halt (e.g. VMs).",
    )
    limits: Limits = Field(default_factory=Limits, description="Storage limits.")
    runtime: RuntimeSettings = Field(
        default_factory=RuntimeSettings, description="Function sandboxes and pools."
    )

    @property
    def metadata_url(self) -> str:
        """The SQLAlchemy URL of the metadata store."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'atoll.db').resolve()}"

    @property
    def admin_token_path(self) -> Path:
        """Where the bootstrap admin token is kept (mode 0600)."""
        return self.data_dir / "admin.token"
