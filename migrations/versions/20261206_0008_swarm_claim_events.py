"""Every claim, release and close of a swarm report, recorded: who, what, when. The report
limit now counts in throttle_attempts, so the index that counted reports per address goes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("claimed", "released", "closed")


def upgrade() -> None:
    kind = postgresql.ENUM(*KINDS, name="swarm_claim_event_kind", create_type=False)
    kind.create(op.get_bind())
    op.create_table(
        "swarm_claim_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "report_id",
            sa.Integer(),
            sa.ForeignKey("swarm_reports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("collector_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("kind", kind, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_swarm_claim_events_report_id_at", "swarm_claim_events", ["report_id", "at"])
    op.create_index("ix_swarm_claim_events_collector_id", "swarm_claim_events", ["collector_id"])
    op.drop_index("ix_swarm_reports_address_created", table_name="swarm_reports")


def downgrade() -> None:
    op.create_index(
        "ix_swarm_reports_address_created", "swarm_reports", ["reporter_address", "created_at"]
    )
    op.drop_table("swarm_claim_events")
    postgresql.ENUM(name="swarm_claim_event_kind").drop(op.get_bind())
