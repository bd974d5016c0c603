"""Web Push: browsers' push subscriptions, the notifications sent to them once each, and how far
beyond their radius collectors see a swarm report nobody claimed in time (escalation).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.add_column(
        "swarm_reports",
        sa.Column("reach_extra_m", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column(
            "swarm_report_id",
            sa.Integer(),
            sa.ForeignKey("swarm_reports.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("report_link", sa.String(500), nullable=True),
        sa.Column("endpoint", sa.String(2000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("device", sa.String(100), server_default="", nullable=False),
        sa.Column("language", sa.String(8), server_default="en", nullable=False),
        sa.Column("swarms", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("alerts", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("reminders", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("reminder_at", sa.Time(), server_default=sa.text("'07:00'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("(user_id IS NULL) <> (swarm_report_id IS NULL)", name="one_owner"),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])
    op.create_index(
        "ix_push_subscriptions_swarm_report_id", "push_subscriptions", ["swarm_report_id"]
    )
    op.create_index(
        "ux_push_subscriptions_device",
        "push_subscriptions",
        ["endpoint"],
        unique=True,
        postgresql_where=sa.text("user_id IS NOT NULL"),
    )
    op.create_index(
        "ux_push_subscriptions_report",
        "push_subscriptions",
        ["endpoint", "swarm_report_id"],
        unique=True,
        postgresql_where=sa.text("swarm_report_id IS NOT NULL"),
    )
    op.create_table(
        "push_notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "subscription_id",
            sa.Integer(),
            sa.ForeignKey("push_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("given_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), server_default="", nullable=False),
    )
    op.create_index(
        "ux_push_notifications_once",
        "push_notifications",
        ["subscription_id", "subject"],
        unique=True,
    )
    op.create_index(
        "ix_push_notifications_due",
        "push_notifications",
        ["due_at"],
        postgresql_where=sa.text("sent_at IS NULL AND given_up_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("push_notifications")
    op.drop_table("push_subscriptions")
    op.drop_column("swarm_reports", "reach_extra_m")
