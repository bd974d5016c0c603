"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from app.keys import engine_key, metrics_key, settings_key

log = structlog.get_logger(__name__)
READY_TIMEOUT_SECONDS = 2.0


async def live(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """The app can do its work: the database answers within the timeout.

    The check opens a connection of its own instead of waiting for one from the pool: under a
    burst of traffic the pool is busy, not broken, and a load balancer that took a busy process
    out of rotation would only pile its load onto the others.
    """
    url = make_url(request.app[settings_key].async_database_url).set(drivername="postgresql")
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            connection = await asyncpg.connect(url.render_as_string(hide_password=False))
            try:
                await connection.fetchval("SELECT 1")
            finally:
                await connection.close()
    except Exception as error:  # any failure to reach the database means not ready
        log.warning("not_ready", error=repr(error))
        return web.json_response(
            {"status": "unavailable", "checks": {"database": "unreachable"}}, status=503
        )
    return web.json_response({"status": "ok", "checks": {"database": "ok"}})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format, for the configured networks only (default: this machine)."""
    allowed = request.app[settings_key].metrics_allowed_networks
    try:
        address = ip_address(request.remote or "")
    except ValueError:
        address = None
    if address is None or not any(address in network for network in allowed):
        raise web.HTTPForbidden(reason="Metrics are not served to this address.")
    app_metrics = request.app[metrics_key]
    pool = request.app[engine_key].pool
    if isinstance(pool, QueuePool):
        app_metrics.pool_connections.labels("in_use").set(pool.checkedout())
        app_metrics.pool_connections.labels("idle").set(pool.checkedin())
        app_metrics.pool_size.set(pool.size())
    return web.Response(
        body=generate_latest(app_metrics.registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST},
    )
