"""Config vars and secrets per app environment, and the history of their changes."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "env_vars",
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("env", sa.String(40), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("secret", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "env", "key", name="pk_env_vars"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_env_vars_app_id_apps", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "env_var_changes",
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("env", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "env", "version", name="pk_env_var_changes"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_env_var_changes_app_id_apps", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("env_var_changes")
    op.drop_table("env_vars")
