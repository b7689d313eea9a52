"""The delivery outbox and each referral's history.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("iss", sa.String(2000), nullable=False),
        sa.Column("fhir_user", sa.String(2000), nullable=False),
        sa.Column("service_request_id", sa.String(64), nullable=False),
        sa.Column("patient_reference", sa.Text, nullable=False),  # sealed
        sa.Column("summary_json", sa.Text, nullable=False),
        sa.Column("receiver_url", sa.String(2000), nullable=False),
        sa.Column("payload_json", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("task_id", sa.String(64)),
        sa.Column("task_status", sa.String(32)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("polls", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_until", UTC_DATETIME),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("last_error", sa.Text),
        sa.Column("result_json", sa.Text),
        sa.Column("filing", sa.String(16)),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    op.create_index("ix_deliveries_next_attempt_at", "deliveries", ["next_attempt_at"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])
    op.create_table(
        "delivery_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id", sa.String(64), sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_delivery_events_delivery_id", "delivery_events", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("delivery_events")
    op.drop_table("deliveries")
