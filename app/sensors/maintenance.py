"""What runs beside the requests: the offline check and the readings' partitions kept ahead.
One cleanup_ctx for the app's lifetime (the webhook client and the ingest's pool it uses are
opened in create_app)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import structlog
from aiohttp import web
from sqlalchemy import text

from app.keys import db_key, settings_key
from app.sensors.alerts import Raised, raise_offline_alerts
from app.sensors.webhooks import deliver_later

log = structlog.get_logger(__name__)

PARTITIONS_AHEAD = timedelta(days=92)  # about three months of partitions, always there


async def make_partitions(app: web.Application, now: datetime) -> int:
    """Monthly partitions up to PARTITIONS_AHEAD from `now`; how many were made."""
    async with app[db_key]() as db:
        made = await db.scalar(
            text("SELECT create_reading_partitions(CAST(:through AS date))"),
            {"through": (now + PARTITIONS_AHEAD).date()},
        )
        await db.commit()
    return int(made or 0)


async def upkeep(app: web.Application, now: datetime) -> list[Raised]:
    """One round: partitions ahead, offline alerts raised and sent (tests call this with their
    own clock)."""
    if made := await make_partitions(app, now):
        log.info("reading_partitions_made", count=made)
    raised = await raise_offline_alerts(app, now)
    deliver_later(app, raised)
    return raised


async def _every(app: web.Application, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await upkeep(app, datetime.now(UTC))
        except Exception:  # a database hiccup: log it, try again next round
            log.exception("sensor_upkeep_failed")


async def sensor_upkeep_ctx(app: web.Application) -> AsyncIterator[None]:
    """The upkeep rounds, every SENSOR_CHECK_SECONDS while the app runs."""
    rounds = asyncio.create_task(_every(app, app[settings_key].sensor_check_seconds))
    yield
    rounds.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await rounds
