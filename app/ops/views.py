"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web
from sqlalchemy import text

from app.keys import engine_key

log = structlog.get_logger(__name__)
READY_TIMEOUT_SECONDS = 2.0


async def live(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """The app can do its work: the database answers within the timeout."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with request.app[engine_key].connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the database means not ready
        log.warning("not_ready", error=repr(error))
        return web.json_response(
            {"status": "unavailable", "checks": {"database": "unreachable"}}, status=503
        )
    return web.json_response({"status": "ok", "checks": {"database": "ok"}})
