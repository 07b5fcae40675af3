"""The environments a tenant creates for an app, beside dev, staging and prod."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_envs",
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "name", name="pk_app_envs"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_app_envs_app_id_apps", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("app_envs")
