"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from app.keys import engine_key, metrics_key, settings_key

log = structlog.get_logger(__name__)
READY_TIMEOUT_SECONDS = 2.0


async def live(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """The app can do its work: a connection from its own pool answers within the timeout.

    The check takes its connection from the pool every page uses, because that is what a page
    needs: a process whose database is up but whose pool has no connection to give is as unable
    to serve as one whose database is down, and a load balancer should send its users elsewhere
    until a connection frees. A pool that is merely busy passes, since connections come back
    within the READY_TIMEOUT_SECONDS the check waits.
    """
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
