"""Devices as things: a hive's device with its own key, its type and its sensors.

A device's sensors name the field of its posts they take (`t_i_1`, `s_fan_4`, `w_v`); the new
kinds are what BEEP, HoneyPi, The Things Network and Hiveeyes devices measure besides weight,
temperature, humidity, sound, battery and pressure. A scale's calibration (offset and
multiplier of its raw value) lives on its device. And the alert rules learn to sleep: in some
months, at some hours (alert_sleeps).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KINDS = ("light", "sound_band", "bee_count", "raw_weight", "signal", "signal_noise")
OLD_KINDS = ("weight", "temperature", "humidity", "sound", "battery", "pressure")
DEVICE_TYPES = ("beep", "honeypi", "ttn", "kotori", "generic")


def upgrade() -> None:
    for kind in NEW_KINDS:
        op.execute(f"ALTER TYPE sensor_kind ADD VALUE IF NOT EXISTS '{kind}'")
    device_type = postgresql.ENUM(*DEVICE_TYPES, name="device_type")
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", device_type, nullable=False),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("weight_offset", sa.Float()),
        sa.Column("weight_multiplier", sa.Float()),
        sa.Column("calibrated_at", sa.DateTime(timezone=True)),
        sa.Column("csv_fields", sa.String(1000)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_post_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_devices_hive_id", "devices", ["hive_id"])
    op.add_column(
        "sensors",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id", ondelete="SET NULL")),
    )
    op.add_column("sensors", sa.Column("field", sa.String(50)))
    op.create_index("ix_sensors_device_id_field", "sensors", ["device_id", "field"], unique=True)
    op.create_table(
        "alert_sleeps",
        sa.Column(
            "hive_id",
            sa.Integer(),
            sa.ForeignKey("hives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", postgresql.ENUM(name="alert_kind", create_type=False), primary_key=True),
        sa.Column(
            "months", postgresql.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False
        ),
        sa.Column(
            "hours", postgresql.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_sleeps")
    op.drop_index("ix_sensors_device_id_field", table_name="sensors")
    op.drop_column("sensors", "field")
    op.drop_column("sensors", "device_id")
    op.drop_table("devices")
    op.execute("DROP TYPE device_type")
    # PostgreSQL cannot drop an enum value: the sensors of the new kinds go, and the type is
    # made again with the old values.
    op.execute(
        sa.text("DELETE FROM sensors WHERE kind::text = ANY(:kinds)").bindparams(
            kinds=list(NEW_KINDS)
        )
    )
    op.execute("ALTER TYPE sensor_kind RENAME TO sensor_kind_0014")
    old = ", ".join(f"'{kind}'" for kind in OLD_KINDS)
    op.execute(f"CREATE TYPE sensor_kind AS ENUM ({old})")
    op.execute(
        "ALTER TABLE sensors ALTER COLUMN kind TYPE sensor_kind USING kind::text::sensor_kind"
    )
    op.execute("DROP TYPE sensor_kind_0014")
