"""The field log: inspections (scheduled, recorded), harvests over hives, idempotency keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    queen_cells = postgresql.ENUM(
        "none", "swarm", "supersedure", "emergency", name="queen_cells", create_type=False
    )
    temperament = postgresql.ENUM(
        "calm", "nervous", "aggressive", name="temperament", create_type=False
    )
    varroa_method = postgresql.ENUM(
        "sugar_roll", "alcohol_wash", "natural_drop", name="varroa_method", create_type=False
    )
    for kind in (queen_cells, temperament, varroa_method):
        kind.create(op.get_bind())
    now = sa.func.now()
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hive_id",
            sa.Integer(),
            sa.ForeignKey("hives.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("scheduled_for", sa.Date()),
        sa.Column("schedule_note", sa.String(500), server_default="", nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("frames_of_bees", sa.SmallInteger()),
        sa.Column("queen_seen", sa.Boolean()),
        sa.Column("eggs_seen", sa.Boolean()),
        sa.Column("larvae_seen", sa.Boolean()),
        sa.Column("capped_brood_seen", sa.Boolean()),
        sa.Column("queen_cells", queen_cells),
        sa.Column("queen_cell_count", sa.SmallInteger()),
        sa.Column("brood_pattern", sa.SmallInteger()),
        sa.Column("temperament", temperament),
        sa.Column("honey_frames", sa.Numeric(4, 1)),
        sa.Column("pollen_frames", sa.Numeric(4, 1)),
        sa.Column("varroa_count", sa.Integer()),
        sa.Column("varroa_method", varroa_method),
        sa.Column("varroa_sample", sa.Integer()),
        sa.Column("treatment_product", sa.String(100), server_default="", nullable=False),
        sa.Column("treatment_dose", sa.String(100), server_default="", nullable=False),
        sa.Column("feeding_kind", sa.String(100), server_default="", nullable=False),
        sa.Column("feeding_amount", sa.String(100), server_default="", nullable=False),
        sa.Column("weight_kg", sa.Numeric(6, 2)),
        sa.Column("actions", postgresql.ARRAY(sa.String(30)), server_default="{}", nullable=False),
        sa.Column("weather_temp_c", sa.Numeric(4, 1)),
        sa.Column("weather_conditions", sa.String(50), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("scheduled_for IS NOT NULL OR done_at IS NOT NULL", name="when_known"),
        sa.CheckConstraint("brood_pattern BETWEEN 1 AND 5", name="brood_pattern_1_to_5"),
        sa.CheckConstraint(
            "varroa_count IS NULL OR varroa_method IS NOT NULL", name="varroa_method"
        ),
    )
    op.create_index("ix_inspections_hive_done", "inspections", ["hive_id", "done_at"])
    op.create_index(
        "ix_inspections_due",
        "inspections",
        ["hive_id", "scheduled_for"],
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_table(
        "harvests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("harvested_on", sa.Date(), nullable=False),
        sa.Column("total_kg", sa.Numeric(8, 2), nullable=False),
        sa.Column("frames", sa.Integer()),
        sa.Column("moisture_pct", sa.Numeric(4, 1)),
        sa.Column("honey_kind", sa.String(100), server_default="", nullable=False),
        sa.Column("quality", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("total_kg >= 0", name="total_kg_not_negative"),
    )
    op.create_index("ix_harvests_owner_harvested_on", "harvests", ["owner_id", "harvested_on"])
    op.create_table(
        "harvest_shares",
        sa.Column(
            "harvest_id",
            sa.Integer(),
            sa.ForeignKey("harvests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "hive_id",
            sa.Integer(),
            sa.ForeignKey("hives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kg", sa.Numeric(8, 2), nullable=False),
        sa.CheckConstraint("kg >= 0", name="share_kg_not_negative"),
    )
    op.create_index("ix_harvest_shares_hive_id", "harvest_shares", ["hive_id"])
    op.create_table(
        "idempotent_requests",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("location", sa.String(500), server_default="", nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "calendar_feeds",
        "idempotent_requests",
        "harvest_shares",
        "harvests",
        "inspections",
    ):
        op.drop_table(table)
    for kind in ("varroa_method", "temperament", "queen_cells"):
        postgresql.ENUM(name=kind).drop(op.get_bind())
