"""Proof of purchase (issue 17, item 1): a photo or PDF of a medicine's invoice or receipt, kept
beside its purchase in the database (so that a backup holds it with the register it proves).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/webp")


def upgrade() -> None:
    kinds = ", ".join(f"'{kind}'" for kind in MEDIA_TYPES)
    op.create_table(
        "purchase_proofs",
        sa.Column(
            "purchase_id",
            sa.Integer(),
            sa.ForeignKey("medicine_purchases.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("media_type", sa.String(30), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint(f"media_type IN ({kinds})", name="purchase_proofs_media_type"),
    )


def downgrade() -> None:
    op.drop_table("purchase_proofs")
