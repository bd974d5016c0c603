"""What runs beside the requests: the offline check, the readings' partitions kept ahead, the
webhook client with its deliveries in flight, and the ingest's connection pool and its limits
on batches in flight. One cleanup_ctx for the app's lifetime.
"""

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
from app.sensors.ingest import (
    BATCHES_AT_ONCE,
    BATCHES_PARSED_AT_ONCE,
    batch_cpu_key,
    batch_slots_key,
    ingest_pool,
    ingest_pool_key,
)
from app.sensors.webhooks import client_session, deliver_later, deliveries_key, webhook_client_key
from app.web.slots import Slots

log = structlog.get_logger(__name__)

PARTITIONS_AHEAD = timedelta(days=92)  # about three months of partitions, always there
SHUTDOWN_GRACE_SECONDS = 2.0  # deliveries in flight get this long to finish at shutdown


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
    settings = app[settings_key]
    app[ingest_pool_key] = await ingest_pool(settings.async_database_url)
    app[batch_slots_key] = Slots(total=BATCHES_AT_ONCE, per_key=1)  # per key: one in flight
    app[batch_cpu_key] = asyncio.Semaphore(BATCHES_PARSED_AT_ONCE)
    app[webhook_client_key] = client_session(settings)
    app[deliveries_key] = set[asyncio.Task[None]]()
    rounds = asyncio.create_task(_every(app, settings.sensor_check_seconds))
    yield
    rounds.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await rounds
    in_flight = app[deliveries_key]
    if in_flight:
        _, late = await asyncio.wait(set(in_flight), timeout=SHUTDOWN_GRACE_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    await app[webhook_client_key].close()
    await app[ingest_pool_key].close()
