"""A delivery's patient, searchable without opening every sealed reference: its blind index.

The app fills it for older rows when it starts (the migration has no data keys).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("patient_key", sa.String(100), nullable=True))
    op.create_index("ix_deliveries_patient_key", "deliveries", ["patient_key"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_patient_key", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("patient_key")
