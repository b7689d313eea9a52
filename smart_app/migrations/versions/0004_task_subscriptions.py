"""Task Subscriptions: the clinic's Subscription id and the hash of the hook's secret token.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("subscription_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hook_hash", sa.String(64), nullable=True))
        batch.create_index("ix_deliveries_hook_hash", ["hook_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_hook_hash")
        batch.drop_column("hook_hash")
        batch.drop_column("subscription_id")
