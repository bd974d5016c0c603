"""Readings rollups (issue 21): per sensor, each hour's and each day's lowest, highest, sum and
count of readings, so the 30-day and 1-year charts read hundreds of rows instead of a hundred
thousand. The raw readings stay the truth: the rollups are kept by the database in the statement
that writes readings, and can be rebuilt from them (`python -m app sensors rebuild-rollups`).

Buckets are UTC: an hour starts on the hour, a day at midnight UTC (see `ReadingDay` in
app/models.py for why). Like the trigger that notes each sensor's newest reading (0004), the
functions and triggers are not in the models:

- `roll_up_new_readings()`, a statement trigger on INSERT (COPY included), adds the statement's
  new rows (its transition table) to their hours and days with one INSERT ... ON CONFLICT DO
  UPDATE per table. A reading the insert skipped (ON CONFLICT DO NOTHING: a replay, a
  duplicate) is not in the transition table, so it is never counted twice.
- a value changed or a reading deleted (rare: a weighing by hand made again, a clean-up) cannot
  be taken out of a min or a max, so `refresh_reading_rollups(sensors, hours)` computes those
  hours and their days again from the raw readings; the UPDATE and DELETE statement triggers
  call it, and so does the rebuild (`rebuild_reading_rollups(sensor, since)`).

The migration fills the rollups of the readings already stored. Creating the triggers locks
`readings` against writes until it commits, so no reading is missed or counted twice.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = (("readings_hourly", "hour"), ("readings_daily", "day"))  # (table, date_trunc unit)

# The statement's new readings summed up by hour, then by day: two statements, so every
# statement that writes rollups locks its hours before its days, and in (sensor_id, bucket)
# order, and two batches wait for each other rather than deadlock. `date_bin` from midnight
# UTC is date_trunc at UTC, in plain arithmetic.
ADD_NEW = """
    INSERT INTO {table} AS r (sensor_id, bucket, low, high, total, readings)
    SELECT sensor_id, date_bin('{width}', recorded_at, TIMESTAMPTZ '2000-01-01 00:00Z'),
           min(value), max(value), sum(value), count(*)
    FROM new_readings
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (sensor_id, bucket) DO UPDATE
    SET low = least(r.low, excluded.low), high = greatest(r.high, excluded.high),
        total = r.total + excluded.total, readings = r.readings + excluded.readings;
"""
ADD_NEW_HOURS = ADD_NEW.format(table="readings_hourly", width="1 hour")
ADD_NEW_DAYS = ADD_NEW.format(table="readings_daily", width="1 day")
ROLL_UP_NEW_FUNCTION = f"""
CREATE FUNCTION roll_up_new_readings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    {ADD_NEW_HOURS}
    {ADD_NEW_DAYS}
    RETURN NULL;
END
$$
"""
ROLL_UP_NEW_TRIGGER = """
CREATE TRIGGER readings_roll_up
AFTER INSERT ON readings REFERENCING NEW TABLE AS new_readings
FOR EACH STATEMENT EXECUTE FUNCTION roll_up_new_readings()
"""

# One table's buckets computed again from the raw readings, in three statements (the hours
# first, then the days, as the insert trigger locks them). The first
# makes (or locks) a row for every bucket named, so a concurrent insert into one of them waits
# for this transaction, or this one waits for it; the second, a new statement with a new
# snapshot in READ COMMITTED, then sees every committed reading of those buckets. The third
# removes the buckets left without readings. Buckets of a sensor being deleted are skipped (its
# rollups go with it, by the foreign key).
REFRESH = """
    INSERT INTO {table} AS r (sensor_id, bucket, low, high, total, readings)
    SELECT DISTINCT k.sensor_id, date_trunc('{unit}', k.hour, 'UTC'), 0, 0, 0, 0
    FROM unnest(sensor_ids, hours) AS k (sensor_id, hour)
    JOIN sensors s ON s.id = k.sensor_id
    ORDER BY 1, 2
    ON CONFLICT (sensor_id, bucket) DO UPDATE SET readings = r.readings;

    UPDATE {table} AS r
    SET low = a.low, high = a.high, total = a.total, readings = a.readings
    FROM (
        SELECT k.sensor_id, k.bucket, coalesce(min(v.value), 0) AS low,
               coalesce(max(v.value), 0) AS high, coalesce(sum(v.value), 0) AS total,
               count(v.value) AS readings
        FROM (SELECT DISTINCT sensor_id, date_trunc('{unit}', hour, 'UTC') AS bucket
              FROM unnest(sensor_ids, hours) AS k (sensor_id, hour)) AS k
        LEFT JOIN readings v ON v.sensor_id = k.sensor_id AND v.recorded_at >= k.bucket
                            AND v.recorded_at < k.bucket + interval '1 {unit}'
        GROUP BY k.sensor_id, k.bucket
    ) AS a
    WHERE r.sensor_id = a.sensor_id AND r.bucket = a.bucket;

    DELETE FROM {table} AS r
    USING unnest(sensor_ids, hours) AS k (sensor_id, hour)
    WHERE r.sensor_id = k.sensor_id AND r.bucket = date_trunc('{unit}', k.hour, 'UTC')
      AND r.readings = 0;
"""
REFRESH_FUNCTION = f"""
CREATE FUNCTION refresh_reading_rollups(sensor_ids integer[], hours timestamptz[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    {"".join(REFRESH.format(table=table, unit=unit) for table, unit in ROLLUPS)}
END
$$
"""

# The hours (of sensors) a statement changed or deleted readings in, refreshed.
REFRESH_CHANGED = """
CREATE FUNCTION roll_up_{what}_readings() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sensor_ids integer[];
    hours timestamptz[];
BEGIN
    SELECT array_agg(sensor_id), array_agg(hour) INTO sensor_ids, hours
    FROM ({keys}) AS k;
    IF sensor_ids IS NOT NULL THEN
        PERFORM refresh_reading_rollups(sensor_ids, hours);
    END IF;
    RETURN NULL;
END
$$
"""
KEYS_OF = "SELECT sensor_id, date_trunc('hour', recorded_at, 'UTC') AS hour FROM {rows}"
ROLL_UP_CHANGED_FUNCTION = REFRESH_CHANGED.format(
    what="changed",
    keys=f"{KEYS_OF.format(rows='old_readings')} UNION {KEYS_OF.format(rows='new_readings')}",
)
REMOVED_KEYS = "SELECT DISTINCT * FROM ({keys}) AS o".format(  # noqa: S608 - no input
    keys=KEYS_OF.format(rows="old_readings")
)
ROLL_UP_REMOVED_FUNCTION = REFRESH_CHANGED.format(what="removed", keys=REMOVED_KEYS)
ROLL_UP_CHANGED_TRIGGER = """
CREATE TRIGGER readings_roll_up_changed
AFTER UPDATE ON readings REFERENCING OLD TABLE AS old_readings NEW TABLE AS new_readings
FOR EACH STATEMENT EXECUTE FUNCTION roll_up_changed_readings()
"""
ROLL_UP_REMOVED_TRIGGER = """
CREATE TRIGGER readings_roll_up_removed
AFTER DELETE ON readings REFERENCING OLD TABLE AS old_readings
FOR EACH STATEMENT EXECUTE FUNCTION roll_up_removed_readings()
"""

# One sensor's rollups from `since` on (rounded down to its UTC day), computed again from the
# raw readings: every hour that has readings or a rollup row is refreshed, so a missing row is
# made, a wrong one corrected and one without readings removed.
REBUILD_FUNCTION = """
CREATE FUNCTION rebuild_reading_rollups(sensor integer, since timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    start timestamptz := date_trunc('day', since, 'UTC');
    hours timestamptz[];
BEGIN
    SELECT array_agg(hour) INTO hours FROM (
        SELECT date_trunc('hour', recorded_at, 'UTC') AS hour FROM readings
        WHERE sensor_id = sensor AND recorded_at >= start
        UNION SELECT bucket FROM readings_hourly WHERE sensor_id = sensor AND bucket >= start
        UNION SELECT bucket FROM readings_daily WHERE sensor_id = sensor AND bucket >= start
    ) AS k;
    IF hours IS NOT NULL THEN
        PERFORM refresh_reading_rollups(array_fill(sensor, ARRAY[cardinality(hours)]), hours);
    END IF;
END
$$
"""

FILL = """
    INSERT INTO {table} (sensor_id, bucket, low, high, total, readings)
    SELECT sensor_id, date_trunc('{unit}', recorded_at, 'UTC'),
           min(value), max(value), sum(value), count(*)
    FROM readings
    GROUP BY 1, 2
"""


def rollup_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column(
            "sensor_id",
            sa.Integer(),
            sa.ForeignKey("sensors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
    )


def upgrade() -> None:
    for table, _ in ROLLUPS:
        rollup_table(table)
    op.execute(ROLL_UP_NEW_FUNCTION)
    op.execute(REFRESH_FUNCTION)
    op.execute(ROLL_UP_CHANGED_FUNCTION)
    op.execute(ROLL_UP_REMOVED_FUNCTION)
    op.execute(REBUILD_FUNCTION)
    op.execute(ROLL_UP_NEW_TRIGGER)
    op.execute(ROLL_UP_CHANGED_TRIGGER)
    op.execute(ROLL_UP_REMOVED_TRIGGER)
    for table, unit in ROLLUPS:
        op.execute(FILL.format(table=table, unit=unit))


def downgrade() -> None:
    for trigger in ("readings_roll_up", "readings_roll_up_changed", "readings_roll_up_removed"):
        op.execute(f"DROP TRIGGER {trigger} ON readings")
    op.execute("DROP FUNCTION rebuild_reading_rollups(integer, timestamptz)")
    op.execute("DROP FUNCTION roll_up_removed_readings()")
    op.execute("DROP FUNCTION roll_up_changed_readings()")
    op.execute("DROP FUNCTION refresh_reading_rollups(integer[], timestamptz[])")
    op.execute("DROP FUNCTION roll_up_new_readings()")
    for table, _ in reversed(ROLLUPS):
        op.drop_table(table)
