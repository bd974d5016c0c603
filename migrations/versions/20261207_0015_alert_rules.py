"""Alert rules a beekeeper writes: on a measurement of the hive (a sensor kind, inside, outside
or either), a comparison (above, below, drops by, rises by), a threshold in the kind's unit, a
time window for drops and rises, and the months and hours the rule sleeps. An alert raised by
one names it (alerts.rule_id; kind 'rule'); one open alert per rule and sensor. A rule deleted
leaves its alerts, resolved, in the history.

The built-in alerts (alert_rules, alert_sleeps) stay as they are: they are the hive's default
rules, and their alerts and settings are kept unchanged.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPARISONS = ("above", "below", "drops_by", "rises_by")


def upgrade() -> None:
    # Used by the application only, never in this transaction (PostgreSQL forbids that).
    op.execute("ALTER TYPE alert_kind ADD VALUE IF NOT EXISTS 'rule'")
    op.create_table(
        "hive_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "sensor_kind", postgresql.ENUM(name="sensor_kind", create_type=False), nullable=False
        ),
        sa.Column("placement", postgresql.ENUM(name="sensor_placement", create_type=False)),
        sa.Column(
            "comparison", postgresql.ENUM(*COMPARISONS, name="rule_comparison"), nullable=False
        ),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_minutes", sa.Integer()),
        sa.Column(
            "months", postgresql.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False
        ),
        sa.Column(
            "hours", postgresql.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(comparison IN ('drops_by', 'rises_by')) = (window_minutes IS NOT NULL)",
            name="ck_hive_rules_window",
        ),
    )
    op.create_index("ix_hive_rules_hive_id", "hive_rules", ["hive_id"])
    op.add_column(
        "alerts",
        sa.Column("rule_id", sa.Integer(), sa.ForeignKey("hive_rules.id", ondelete="SET NULL")),
    )
    # The built-in alerts' index now leaves rule alerts to their own (one per rule and sensor).
    op.drop_index("ix_alerts_one_active", table_name="alerts")
    op.create_index(
        "ix_alerts_one_active",
        "alerts",
        ["hive_id", "kind", "sensor_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL AND rule_id IS NULL"),
        postgresql_nulls_not_distinct=True,
    )
    op.create_index(
        "ix_alerts_one_active_rule",
        "alerts",
        ["rule_id", "sensor_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL AND rule_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_one_active_rule", table_name="alerts")
    op.execute("DELETE FROM alerts WHERE kind = 'rule'")
    op.drop_index("ix_alerts_one_active", table_name="alerts")
    op.create_index(
        "ix_alerts_one_active",
        "alerts",
        ["hive_id", "kind", "sensor_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_column("alerts", "rule_id")
    op.drop_table("hive_rules")
    op.execute("DROP TYPE rule_comparison")
    # PostgreSQL cannot drop an enum value: 'rule' stays in alert_kind, unused.
