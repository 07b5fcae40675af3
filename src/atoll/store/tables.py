"""The metadata schema, portable between SQLite and PostgreSQL (no dialect-only types)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(40), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Which sandbox backend runs its code: default (the platform's), bwrap or gvisor.
    sa.Column("isolation", sa.String(20), nullable=False, server_default="default"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # NULL tenant means an admin token.
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "tenant_id",
        sa.Integer,
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("slug", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The workspace head; moved only by compare-and-swap so no write is lost.
    sa.Column("head_revision", sa.String(64)),
    sa.Column("revision_count", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("tenant_id", "slug", name="uq_apps_tenant_slug"),
    # Never reuse an app id: per-app folders on disk are named by it.
    sqlite_autoincrement=True,
)

revisions = sa.Table(
    "revisions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("parent_id", sa.String(64)),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # JSON text {path: [sha256, size]}; kept as text so both dialects store it the same way.
    sa.Column("tree", sa.Text, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("total_bytes", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("app_id", "number", name="uq_revisions_app_number"),
)

env_builds = sa.Table(
    "env_builds",
    metadata,
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("env", sa.String(40), nullable=False),
    # The latest build attempt: which revision, how it went, when.
    sa.Column("revision", sa.String(64), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    # JSON text [{file, line, column, message}], bounded by ``store.builds``.
    sa.Column("errors", sa.Text, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # The last revision that built: what the environment serves.
    sa.Column("live_revision", sa.String(64)),
    sa.Column("live_number", sa.Integer),
    sa.PrimaryKeyConstraint("app_id", "env", name="pk_env_builds"),
)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    # v1, v2, ... per app; never reused.
    sa.Column("number", sa.Integer, nullable=False),
    # The workspace revision it was built from (its artifacts are keyed by it).
    sa.Column("revision", sa.String(64), nullable=False),
    sa.Column("revision_number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    # JSON text [{file, line, column, message}], bounded by ``store.builds``.
    sa.Column("errors", sa.Text, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    # The build's progress lines, bounded by ``store.releases``; NULL before 0006.
    sa.Column("build_log", sa.Text),
    # JSON text [{file, kind}]: the migrations the build planned; NULL before 0006.
    sa.Column("migrations", sa.Text),
    sa.UniqueConstraint("app_id", "number", name="uq_releases_app_number"),
    sqlite_autoincrement=True,
)

env_releases = sa.Table(
    "env_releases",
    metadata,
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("env", sa.String(40), nullable=False),
    # The release this environment serves: moved by promotion and rollback only.
    sa.Column("release_number", sa.Integer, nullable=False),
    sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deployed_by", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("app_id", "env", name="pk_env_releases"),
)

deploys = sa.Table(
    "deploys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("env", sa.String(40), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # promote, rollback
    sa.Column("from_number", sa.Integer),
    sa.Column("to_number", sa.Integer, nullable=False),
    sa.Column("result", sa.String(16), nullable=False),  # ok, failed
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sqlite_autoincrement=True,
)

env_vars = sa.Table(
    "env_vars",
    metadata,
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("env", sa.String(40), nullable=False),
    sa.Column("key", sa.String(64), nullable=False),
    # A secret's value too: the API never answers it, the runtime hands it to functions.
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("secret", sa.Boolean, nullable=False),
    # The change (``env_var_changes.version``) that last set it.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("app_id", "env", "key", name="pk_env_vars"),
)

env_var_changes = sa.Table(
    "env_var_changes",
    metadata,
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("env", sa.String(40), nullable=False),
    # 1, 2, ... per environment: its newest is the environment's vars version.
    sa.Column("version", sa.Integer, nullable=False),
    # JSON text [{key, action: set|unset, secret}]: names only, never a value.
    sa.Column("changes", sa.Text, nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("app_id", "env", "version", name="pk_env_var_changes"),
)

app_envs = sa.Table(
    "app_envs",
    metadata,
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    # An environment its tenant created; dev, staging and prod have no row (every app has them).
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("app_id", "name", name="pk_app_envs"),
)

agent_turns = sa.Table(
    "agent_turns",
    metadata,
    sa.Column("app_id", sa.Integer, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),  # 1, 2, ... per app
    sa.Column("prompt", sa.Text, nullable=False),
    # running, done, stopped, stuck, limit, failed (a turn cut short by a stop: failed)
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("base_revision", sa.String(64), nullable=True),  # the head the turn began on
    sa.Column("revision", sa.String(64), nullable=True),  # what it committed, if anything
    sa.Column("snapshot", sa.String(64), nullable=True),  # of the dev database, taken first
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("steps", sa.Integer, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
    # US dollars, at the model's configured prices (or as its server reported them).
    sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"),
    sa.PrimaryKeyConstraint("app_id", "number", name="pk_agent_turns"),
)

agent_models = sa.Table(
    "agent_models",
    metadata,
    sa.Column(
        "tenant_id", sa.Integer, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("base_url", sa.String(2000), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    # Like a secret var's value: the API never answers it.
    sa.Column("api_key", sa.Text, nullable=False),
    sa.Column("price_input", sa.Float, nullable=False),  # US dollars per million tokens
    sa.Column("price_output", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", name="pk_agent_models"),
)

ide_sessions = sa.Table(
    "ide_sessions",
    metadata,
    # SHA-256 of the cookie's secret: a copy of the table signs nobody in.
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column(
        "token_id",
        sa.Integer,
        sa.ForeignKey("tokens.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Sent by the IDE's scripts with every state-changing call (a cookie alone is not enough).
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("hash", name="pk_ide_sessions"),
)
