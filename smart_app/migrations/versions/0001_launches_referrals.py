"""Launches and the ledger of referrals (the schema before migrations existed).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "launches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("state_hash", sa.String(64), unique=True),
        sa.Column("registration", sa.String(200), nullable=False),
        sa.Column("iss", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("code_verifier", sa.String(128)),
        sa.Column("nonce", sa.String(128)),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("access_token", sa.Text),
        sa.Column("refresh_token", sa.Text),
        sa.Column("token_expires_at", UTC_DATETIME),
        sa.Column("scope", sa.Text),
        sa.Column("patient", sa.String(200)),
        sa.Column("encounter", sa.String(200)),
        sa.Column("fhir_user", sa.String(2000)),
        sa.Column("context_json", sa.Text),
        sa.Column("chart_json", sa.Text),
    )
    op.create_index("ix_launches_expires_at", "launches", ["expires_at"])
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "launch_id", sa.String(64), sa.ForeignKey("launches.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("iss", sa.String(2000), nullable=False),
        sa.Column("service_request_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_referrals_launch_id", "referrals", ["launch_id"])


def downgrade() -> None:
    op.drop_table("referrals")
    op.drop_table("launches")
