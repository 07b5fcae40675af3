"""Build status per app environment: the latest attempt and the revision it serves."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "env_builds",
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("env", sa.String(40), nullable=False),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("live_revision", sa.String(64)),
        sa.Column("live_number", sa.Integer),
        sa.PrimaryKeyConstraint("app_id", "env", name="pk_env_builds"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_env_builds_app_id_apps", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("env_builds")
