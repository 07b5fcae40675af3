"""The agent's turns per app: prompt, outcome, revisions and the checkpoint to undo them."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_turns",
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("base_revision", sa.String(64), nullable=True),
        sa.Column("revision", sa.String(64), nullable=True),
        sa.Column("snapshot", sa.String(64), nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("steps", sa.Integer, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("app_id", "number", name="pk_agent_turns"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_agent_turns_app_id_apps", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("agent_turns")
