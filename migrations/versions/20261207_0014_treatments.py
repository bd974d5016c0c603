"""Veterinary medicines: purchases, disposals, treatments and the hives they were given to.

A treatment's end and the first day honey may be taken again are computed by the database
(generated columns), so the harvest guard, the register and the pages read the same dates.
Treated hives keep the hive's name and outlive the hive (hive_id set null): the register is
kept for five years.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    method = postgresql.ENUM(
        "trickling",
        "sublimation",
        "evaporator",
        "strips",
        "spraying",
        name="treatment_method",
        create_type=False,
    )
    method.create(op.get_bind())
    now = sa.func.now()
    op.create_table(
        "medicine_purchases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("active_substance", sa.String(100), server_default="", nullable=False),
        sa.Column("batch", sa.String(50), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("supplier_name", sa.String(200), nullable=False),
        sa.Column("supplier_address", sa.String(500), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(10, 2), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("invoice_number", sa.String(100), nullable=False),
        sa.Column("vet", sa.String(200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("quantity > 0", name="purchase_quantity_positive"),
    )
    op.create_index("ix_medicine_purchases_owner_id", "medicine_purchases", ["owner_id"])
    op.create_table(
        "medicine_disposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "purchase_id",
            sa.Integer(),
            sa.ForeignKey("medicine_purchases.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("disposed_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(10, 2), nullable=False),
        sa.Column("how", sa.String(200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("quantity > 0", name="disposal_quantity_positive"),
    )
    op.create_index("ix_medicine_disposals_purchase_id", "medicine_disposals", ["purchase_id"])
    op.create_table(
        "treatments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "purchase_id",
            sa.Integer(),
            sa.ForeignKey("medicine_purchases.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("dose", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Numeric(10, 2), nullable=False),
        sa.Column("method", method, nullable=False),
        sa.Column("duration_days", sa.SmallInteger(), nullable=False),
        sa.Column("withdrawal_days", sa.SmallInteger(), nullable=False),
        sa.Column("treated_by", sa.String(100), nullable=False),
        sa.Column("strips_removed_on", sa.Date()),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "ends_on",
            sa.Date(),
            sa.Computed("started_on + duration_days - 1", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "harvest_allowed_on",
            sa.Date(),
            sa.Computed(
                "GREATEST(started_on + duration_days - 1, COALESCE(strips_removed_on, started_on))"
                " + withdrawal_days + 1",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint("quantity > 0", name="treatment_quantity_positive"),
        sa.CheckConstraint("duration_days BETWEEN 1 AND 366", name="duration_1_to_366_days"),
        sa.CheckConstraint("withdrawal_days >= 0", name="withdrawal_days_not_negative"),
        sa.CheckConstraint(
            "strips_removed_on IS NULL OR strips_removed_on >= started_on",
            name="strips_removed_after_start",
        ),
    )
    op.create_index("ix_treatments_owner_id", "treatments", ["owner_id"])
    op.create_index("ix_treatments_purchase_id", "treatments", ["purchase_id"])
    op.create_index("ix_treatments_owner_started_on", "treatments", ["owner_id", "started_on"])
    op.create_table(
        "treated_hives",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "treatment_id",
            sa.Integer(),
            sa.ForeignKey("treatments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="SET NULL")),
        sa.Column("hive_name", sa.String(100), nullable=False),
    )
    op.create_index("ix_treated_hives_treatment_id", "treated_hives", ["treatment_id"])
    op.create_index("ix_treated_hives_hive_id", "treated_hives", ["hive_id"])


def downgrade() -> None:
    op.drop_table("treated_hives")
    op.drop_table("treatments")
    op.drop_table("medicine_disposals")
    op.drop_table("medicine_purchases")
    postgresql.ENUM(name="treatment_method").drop(op.get_bind())
