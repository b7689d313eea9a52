"""The answering physician: a launch's role, and the drafts of their answers.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("launches", sa.Column("role", sa.String(16), nullable=False, server_default="atp"))
    op.create_table(
        "answer_drafts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("iss", sa.String(2000), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("signing_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("letter_reference", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("answer_drafts")
    with op.batch_alter_table("launches") as batch:
        batch.drop_column("role")
