"""A tenant's own model for the agent, and what each turn cost."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent_turns") as batch:
        batch.add_column(sa.Column("cost_usd", sa.Float, nullable=False, server_default="0"))
    op.create_table(
        "agent_models",
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("base_url", sa.String(2000), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("api_key", sa.Text, nullable=False),
        sa.Column("price_input", sa.Float, nullable=False),
        sa.Column("price_output", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_agent_models"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_agent_models_tenant_id_tenants",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("agent_models")
    with op.batch_alter_table("agent_turns") as batch:
        batch.drop_column("cost_usd")
