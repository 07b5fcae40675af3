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
    max_path_length: int = Field(1024, description="Longest workspace path, in bytes.")
    max_body_bytes: int = Field(
        300 * MiB, description="Largest HTTP request body the control plane accepts."
    )
    max_json_body_bytes: int = Field(
        8 * MiB, description="Largest JSON request body (file contents travel base64 or raw)."
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
    limits: Limits = Field(default_factory=Limits, description="Storage limits.")

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
