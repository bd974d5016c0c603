from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Hive, HiveStatus


async def hives_of(
    db: AsyncSession, owner_id: int
) -> Sequence[Row[int, str, str | None, HiveStatus]]:
    """The owner's hives by site and name, for the overview (no locations needed here)."""
    result = await db.execute(
        select(Hive.id, Hive.name, Hive.site, Hive.status)
        .where(Hive.owner_id == owner_id)
        .order_by(Hive.site.nulls_last(), Hive.name)
    )
    return result.all()
