"""The city layer: public swarm reports, their claims by collectors, collector settings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("open", "claimed", "closed")
OUTCOMES = ("collected", "gone", "not_honeybees")
HEIGHTS = ("ground", "ladder", "high", "unknown")
SIZES = ("small", "medium", "large", "unknown")
TYPES = ("swarm_status", "swarm_outcome", "swarm_height", "swarm_size")


def upgrade() -> None:
    status = postgresql.ENUM(*STATUSES, name="swarm_status")
    outcome = postgresql.ENUM(*OUTCOMES, name="swarm_outcome")
    height = postgresql.ENUM(*HEIGHTS, name="swarm_height")
    size = postgresql.ENUM(*SIZES, name="swarm_size")
    op.create_table(
        "swarm_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("height", height, nullable=False),
        sa.Column("hanging_on", sa.String(100), server_default="", nullable=False),
        sa.Column("size", size, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("contact", sa.String(254), nullable=False),
        sa.Column("status_token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("reporter_address", postgresql.INET(), nullable=False),
        sa.Column("status", status, server_default="open", nullable=False),
        sa.Column("outcome", outcome),
        sa.Column("claimed_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'closed') = (outcome IS NOT NULL)", name="closed_with_outcome"
        ),
    )
    op.create_index("ix_swarm_reports_claimed_by", "swarm_reports", ["claimed_by"])
    op.create_index(
        "ix_swarm_reports_location", "swarm_reports", ["location"], postgresql_using="gist"
    )
    op.create_index(
        "ix_swarm_reports_address_created", "swarm_reports", ["reporter_address", "created_at"]
    )

    op.create_table(
        "swarm_collectors",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("radius_m BETWEEN 500 AND 50000", name="radius_500_m_to_50_km"),
    )


def downgrade() -> None:
    op.drop_table("swarm_collectors")
    op.drop_table("swarm_reports")
    for name in TYPES:
        op.execute(f"DROP TYPE {name}")
