"""Sessions of the IDE: a signed-in browser, tied to the API token it signed in with."""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ide_sessions",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_ide_sessions"),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["tokens.id"],
            name="fk_ide_sessions_token_id_tokens",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_ide_sessions_token_id", "ide_sessions", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_ide_sessions_token_id", "ide_sessions")
    op.drop_table("ide_sessions")
