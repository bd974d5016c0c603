"""Idempotency keys kept with a fingerprint of their request.

The same key sent again with another body is refused (422) instead of being answered with the
first record: the fingerprint is SHA-256 of the method, the route and the canonical body. Keys
kept before this revision have none, and keep replaying their first answer.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotent_requests", sa.Column("fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("idempotent_requests", "fingerprint")
