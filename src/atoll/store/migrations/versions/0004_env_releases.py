"""Which release each environment serves, and every promotion and rollback."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "env_releases",
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("env", sa.String(40), nullable=False),
        sa.Column("release_number", sa.Integer, nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "env", name="pk_env_releases"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_env_releases_app_id_apps", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "deploys",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("env", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_number", sa.Integer),
        sa.Column("to_number", sa.Integer, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deploys"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_deploys_app_id_apps", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("deploys")
    op.drop_table("env_releases")
