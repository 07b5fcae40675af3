"""Releases keep their build log and the migrations their build planned."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("releases", sa.Column("build_log", sa.Text))
    op.add_column("releases", sa.Column("migrations", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("migrations")
        batch.drop_column("build_log")
