"""The lifecycle: the Task as last read, the ATP's cancel, re-route and added records, token refusals.

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("task_json", sa.Text, nullable=True))  # sealed: the Task as last read
        batch.add_column(sa.Column("cancel_reason", sa.Text, nullable=True))  # sealed: the ATP's words
        batch.add_column(sa.Column("rerouted_to", sa.String(64), nullable=True))  # the new referral's id
        batch.add_column(sa.Column("replaces", sa.String(64), nullable=True))  # the declined referral's id
        batch.add_column(sa.Column("records_json", sa.Text, nullable=True))  # sealed: records to deliver
        batch.add_column(sa.Column("token_refused_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        for name in ("token_refused_at", "records_json", "replaces", "rerouted_to", "cancel_reason"):
            batch.drop_column(name)
        batch.drop_column("task_json")
