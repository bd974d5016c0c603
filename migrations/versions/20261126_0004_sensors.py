"""Sensors on hives, their readings (a time series built for a billion rows) and alerts.

Readings are partitioned by month on recorded_at. One partition holds everything before 2025;
`create_reading_partitions(through)` makes the monthly ones up to a date and is run here for
the next year, then kept ahead by the app's maintenance task (app/sensors/maintenance.py).
The partitions are not in the models (SQLAlchemy knows only the partitioned table), nor is
the trigger that notes each sensor's newest reading on its row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENSOR_KINDS = ("weight", "temperature", "humidity", "sound", "battery", "pressure")
PLACEMENTS = ("inside", "outside")
ALERT_KINDS = ("swarm", "temperature", "humidity", "battery", "offline")

# Monthly partitions named readings_pYYYY_MM, bounds at midnight UTC on the first of the month.
# Idempotent, and serialised by an advisory lock so two app processes can run it at once.
CREATE_PARTITIONS_FUNCTION = """
CREATE FUNCTION create_reading_partitions(through date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month date := date '2025-01-01';
    made integer := 0;
    partition text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('create_reading_partitions'));
    WHILE month <= through LOOP
        partition := 'readings_p' || to_char(month, 'YYYY_MM');
        IF to_regclass(partition) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
                partition,
                month::timestamp AT TIME ZONE 'UTC',
                (month + interval '1 month')::timestamp AT TIME ZONE 'UTC'
            );
            made := made + 1;
        END IF;
        month := month + interval '1 month';
    END LOOP;
    RETURN made;
END
$$
"""

# Each sensor's newest reading, noted on its row by the database itself, in the statement that
# stores readings: whatever stores them (the API's COPY or INSERT, a backfill by hand) keeps
# the hive page's latest values and the offline check right, in the same transaction. A
# statement trigger sees the statement's new rows once, as a transition table.
NOTE_NEWEST_FUNCTION = """
CREATE FUNCTION note_newest_readings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sensors
    SET last_reading_at = newest.recorded_at, last_value = newest.value
    FROM (
        SELECT DISTINCT ON (sensor_id) sensor_id, recorded_at, value
        FROM new_readings
        ORDER BY sensor_id, recorded_at DESC
    ) AS newest
    WHERE sensors.id = newest.sensor_id
      AND (sensors.last_reading_at IS NULL OR sensors.last_reading_at < newest.recorded_at);
    RETURN NULL;
END
$$
"""
NOTE_NEWEST_TRIGGER = """
CREATE TRIGGER readings_note_newest
AFTER INSERT ON readings REFERENCING NEW TABLE AS new_readings
FOR EACH STATEMENT EXECUTE FUNCTION note_newest_readings()
"""


def upgrade() -> None:
    sensor_kind = postgresql.ENUM(*SENSOR_KINDS, name="sensor_kind")
    placement = postgresql.ENUM(*PLACEMENTS, name="sensor_placement")
    alert_kind = postgresql.ENUM(*ALERT_KINDS, name="alert_kind")

    op.create_table(
        "sensors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sensor_kind, nullable=False),
        sa.Column("placement", placement, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_reading_at", sa.DateTime(timezone=True)),
        sa.Column("last_value", sa.Float()),
    )
    op.create_index("ix_sensors_hive_id_name", "sensors", ["hive_id", "name"], unique=True)

    op.create_table(
        "readings",
        sa.Column(
            "sensor_id",
            sa.Integer(),
            sa.ForeignKey("sensors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
        postgresql_partition_by="RANGE (recorded_at)",
    )
    op.execute(
        "CREATE TABLE readings_p_before_2025 PARTITION OF readings "
        "FOR VALUES FROM (MINVALUE) TO ('2025-01-01 00:00:00+00')"
    )
    op.execute(CREATE_PARTITIONS_FUNCTION)
    op.execute("SELECT create_reading_partitions((now() + interval '12 months')::date)")
    op.execute(NOTE_NEWEST_FUNCTION)
    op.execute(NOTE_NEWEST_TRIGGER)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "hive_id", sa.Integer(), sa.ForeignKey("hives.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("sensor_id", sa.Integer(), sa.ForeignKey("sensors.id", ondelete="CASCADE")),
        sa.Column("kind", alert_kind, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_alerts_sensor_id", "alerts", ["sensor_id"])
    op.create_index("ix_alerts_hive_id_raised_at", "alerts", ["hive_id", "raised_at"])
    op.create_index(
        "ix_alerts_one_active",
        "alerts",
        ["hive_id", "kind", "sensor_id"],
        unique=True,
        postgresql_where=sa.text("resolved_at IS NULL"),
        postgresql_nulls_not_distinct=True,
    )

    op.create_table(
        "alert_rules",
        sa.Column(
            "hive_id",
            sa.Integer(),
            sa.ForeignKey("hives.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("swarm_drop_kg", sa.Float(), nullable=False),
        sa.Column("swarm_window_minutes", sa.Integer(), nullable=False),
        sa.Column("temperature_min", sa.Float()),
        sa.Column("temperature_max", sa.Float()),
        sa.Column("humidity_min", sa.Float()),
        sa.Column("humidity_max", sa.Float()),
        sa.Column("offline_hours", sa.Integer(), nullable=False),
        sa.Column("battery_min_volts", sa.Float(), nullable=False),
    )

    op.create_table(
        "alert_webhooks",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_outcome", sa.String(200), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alert_webhooks")
    op.drop_table("alert_rules")
    op.drop_table("alerts")
    op.drop_table("readings")  # and its partitions and trigger
    op.execute("DROP FUNCTION note_newest_readings()")
    op.execute("DROP FUNCTION create_reading_partitions(date)")
    op.drop_table("sensors")
    for name in ("alert_kind", "sensor_placement", "sensor_kind"):
        op.execute(f"DROP TYPE {name}")
