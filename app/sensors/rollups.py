"""The readings rollups rebuilt from the raw readings (`python -m app sensors rebuild-rollups`).

The database keeps the hourly and daily rollups itself, in the statement that writes readings
(migration 0017; app/models.py ReadingHour). A rebuild is for what bypassed those triggers: rows
written straight into a monthly partition, a restore of `readings` alone, rollups changed by
hand. It goes one sensor at a time, each in a transaction of its own, so ingestion carries on
meanwhile (a reading that arrives during a sensor's rebuild is counted once, see the migration).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Sensor

REBUILD = text(
    "SELECT rebuild_reading_rollups(:sensor_id, coalesce(CAST(:since AS timestamptz), '-infinity'))"
)


async def rebuild_rollups(
    db: AsyncSession, since: datetime | None = None, sensor_ids: list[int] | None = None
) -> int:
    """Compute every sensor's (or these sensors') rollups again from its raw readings, from
    `since` on (rounded down to a UTC day; None: all); how many sensors were rebuilt.

    With raw readings kept only for some months (retention drops old partitions, whose
    rollups are the only history left), pass `since` no earlier than the oldest month kept.
    """
    selection = select(Sensor.id).order_by(Sensor.id)
    if sensor_ids is not None:
        selection = selection.where(Sensor.id.in_(sensor_ids))
    rebuilt = 0
    for sensor_id in list(await db.scalars(selection)):
        await db.execute(REBUILD, {"sensor_id": sensor_id, "since": since})
        await db.commit()
        rebuilt += 1
    return rebuilt
