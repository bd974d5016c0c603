"""PostGIS, users, log-in failures and hives.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FRAME_TYPES = ("langstroth", "dadant", "national", "warre", "top_bar", "other")
ORIGINS = ("swarm", "package", "nucleus", "split")
STATUSES = ("active", "dead_out", "sold", "merged")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("email = lower(email)", name="email_lower_case"),
    )

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("address", postgresql.INET(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_login_failures_email_at", "login_failures", ["email", "at"])
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])

    frame_type = postgresql.ENUM(*FRAME_TYPES, name="frame_type")
    origin = postgresql.ENUM(*ORIGINS, name="colony_origin")
    status = postgresql.ENUM(*STATUSES, name="hive_status")
    op.create_table(
        "hives",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column(
            "location",
            Geometry("POINT", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("site", sa.String(100)),
        sa.Column("frame_type", frame_type, nullable=False),
        sa.Column("origin", origin),
        sa.Column("status", status, server_default="active", nullable=False),
        sa.Column("installed_on", sa.Date()),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_hives_owner_id", "hives", ["owner_id"])
    op.create_index("ix_hives_location", "hives", ["location"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_table("hives")
    for name in ("hive_status", "colony_origin", "frame_type"):
        op.execute(f"DROP TYPE {name}")
    op.drop_table("login_failures")
    op.drop_table("users")
    op.execute("DROP EXTENSION IF EXISTS postgis")
