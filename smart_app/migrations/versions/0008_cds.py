"""The CDS service: seen JWT ids (replay protection shared by every worker), issued cards, feedback.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cds_jtis",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_cds_jtis_expires_at", "cds_jtis", ["expires_at"])
    op.create_table(
        "cds_cards",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("client_iss", sa.String(2000), nullable=False),
        sa.Column("rules", sa.String(200), nullable=False),
        sa.Column("issued_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_cds_cards_issued_at", "cds_cards", ["issued_at"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(36), sa.ForeignKey("cds_cards.uuid", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("accepted_suggestions", sa.Integer(), nullable=False),
        sa.Column("override_reason", sa.String(64), nullable=True),
        sa.Column("outcome_at", UTC_DATETIME, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    op.drop_table("cds_feedback")
    op.drop_table("cds_cards")
    op.drop_table("cds_jtis")
