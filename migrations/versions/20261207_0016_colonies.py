"""Colonies, queens, colony events and the hives' boxes (issue 16). Each existing hive gets
its colony, started on the day the hive was installed (or added), so no hive's history is lost;
a hive that was already dead, sold or merged gets an ended colony.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
COLONY_STATUSES = ("alive", "united", "dead", "sold")
QUEEN_ORIGINS = ("own_rearing", "bought", "swarm", "supersedure", "emergency")
QUEEN_STATUSES = ("laying", "missing", "superseded", "dead", "replaced")
EVENT_KINDS = (
    "started",
    "split",
    "union",
    "requeen",
    "swarm_lost",
    "swarm_captured",
    "died",
    "sold",
)
ENUMS = ("colony_status", "queen_origin", "queen_status", "colony_event_kind")

# Every hive's colony: a hive that is no longer active holds one that ended with it.
EXISTING_HIVES_COLONIES = """
    INSERT INTO colonies (owner_id, hive_id, name, status, started_on, ended_on)
    SELECT hive.owner_id, hive.id, hive.name,
           CASE hive.status WHEN 'active' THEN 'alive' WHEN 'dead_out' THEN 'dead'
                            WHEN 'sold' THEN 'sold' ELSE 'united' END::colony_status,
           coalesce(hive.installed_on, hive.created_at::date),
           CASE WHEN hive.status = 'active' THEN NULL
                ELSE greatest(hive.updated_at::date, coalesce(hive.installed_on,
                                                              hive.created_at::date)) END
    FROM hives AS hive
"""
EXISTING_HIVES_EVENTS = """
    INSERT INTO colony_events (colony_id, kind, happened_on, hive_id)
    SELECT colony.id, 'started', colony.started_on, colony.hive_id FROM colonies AS colony
"""


def upgrade() -> None:
    bind = op.get_bind()
    colony_status = postgresql.ENUM(*COLONY_STATUSES, name="colony_status", create_type=False)
    queen_origin = postgresql.ENUM(*QUEEN_ORIGINS, name="queen_origin", create_type=False)
    queen_status = postgresql.ENUM(*QUEEN_STATUSES, name="queen_status", create_type=False)
    event_kind = postgresql.ENUM(*EVENT_KINDS, name="colony_event_kind", create_type=False)
    for kind in (colony_status, queen_origin, queen_status, event_kind):
        kind.create(bind)
    op.create_table(
        "colonies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="SET NULL")),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", colony_status, server_default="alive", nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("(status = 'alive') = (ended_on IS NULL)", name="ended_when_not_alive"),
    )
    op.create_index("ix_colonies_owner_id", "colonies", ["owner_id"])
    op.create_index(
        "ux_colonies_one_alive_per_hive",
        "colonies",
        ["hive_id"],
        unique=True,
        postgresql_where=sa.text("status = 'alive'"),
    )
    op.create_table(
        "queens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("colony_id", sa.Integer(), sa.ForeignKey("colonies.id", ondelete="SET NULL")),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("colour", sa.String(10), nullable=False),
        sa.Column("marked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("clipped", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("race", sa.String(100), server_default="", nullable=False),
        sa.Column("origin", queen_origin),
        sa.Column("breeder", sa.String(100), server_default="", nullable=False),
        sa.Column("mother_id", sa.Integer(), sa.ForeignKey("queens.id", ondelete="SET NULL")),
        sa.Column("introduced_on", sa.Date()),
        sa.Column("status", queen_status, server_default="laying", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("mother_id <> id", name="not_her_own_mother"),
    )
    op.create_index("ix_queens_owner_id", "queens", ["owner_id"])
    op.create_index("ix_queens_colony_id", "queens", ["colony_id"])
    op.create_table(
        "colony_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "colony_id",
            sa.Integer(),
            sa.ForeignKey("colonies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", event_kind, nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="SET NULL")),
        sa.Column(
            "other_colony_id", sa.Integer(), sa.ForeignKey("colonies.id", ondelete="SET NULL")
        ),
        sa.Column("other_hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="SET NULL")),
        sa.Column("frames_of_brood", sa.SmallInteger()),
        sa.Column("frames_of_bees", sa.SmallInteger()),
        sa.Column("queen_id", sa.Integer(), sa.ForeignKey("queens.id", ondelete="SET NULL")),
        sa.Column("old_queen_fate", queen_status),
        sa.Column("detail", sa.String(200), server_default="", nullable=False),
        sa.Column(
            "swarm_report_id",
            sa.Integer(),
            sa.ForeignKey("swarm_reports.id", ondelete="SET NULL"),
        ),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.create_index(
        "ix_colony_events_colony_id_happened_on", "colony_events", ["colony_id", "happened_on"]
    )
    op.create_index("ix_colony_events_hive_id", "colony_events", ["hive_id"])
    op.create_index("ix_colony_events_other_hive_id", "colony_events", ["other_hive_id"])
    op.create_index("ix_colony_events_other_colony_id", "colony_events", ["other_colony_id"])
    op.create_table(
        "hive_boxes",
        sa.Column(
            "hive_id",
            sa.Integer(),
            sa.ForeignKey("hives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("brood_boxes", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("supers", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("queen_excluder", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("feeder", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("frames_per_box", sa.SmallInteger()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("brood_boxes BETWEEN 0 AND 10", name="brood_boxes_0_to_10"),
        sa.CheckConstraint("supers BETWEEN 0 AND 20", name="supers_0_to_20"),
        sa.CheckConstraint("frames_per_box BETWEEN 1 AND 40", name="frames_per_box_1_to_40"),
    )
    op.execute(EXISTING_HIVES_COLONIES)
    op.execute(EXISTING_HIVES_EVENTS)


def downgrade() -> None:
    op.drop_table("hive_boxes")
    op.drop_table("colony_events")
    op.drop_table("queens")
    op.drop_table("colonies")
    for name in ENUMS:
        postgresql.ENUM(name=name).drop(op.get_bind())
