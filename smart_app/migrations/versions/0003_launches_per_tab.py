"""Launches per tab: a cookie hash per launch, sealed (encrypted) columns, a refresh claim, the draft.

Launches from before this revision held their values in plain text and no cookie hash:
they are ended (values cleared, expired) rather than converted, so nobody is signed in
by a row that no browser can prove it owns; the referral ledger rows stay.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SEALED = ("code_verifier", "patient", "encounter", "fhir_user")
CLEARED = (*SEALED, "access_token", "refresh_token", "context_json", "chart_json")


def upgrade() -> None:
    op.execute(
        "UPDATE launches SET "
        + ", ".join(f"{column} = NULL" for column in CLEARED)
        + ", status = 'pending', state_hash = NULL, expires_at = created_at"
    )
    op.add_column("launches", sa.Column("cookie_hash", sa.String(64), nullable=False, server_default=""))
    op.add_column("launches", sa.Column("refreshing_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("launches", sa.Column("draft_json", sa.Text(), nullable=True))
    with op.batch_alter_table("launches") as batch:  # SQLite rebuilds the table; others ALTER
        for column in SEALED:
            batch.alter_column(column, type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("launches") as batch:
        batch.drop_column("draft_json")
        batch.drop_column("refreshing_until")
        batch.drop_column("cookie_hash")
