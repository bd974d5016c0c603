"""Request plumbing: a request id and one log line per request; headers every response carries."""

from __future__ import annotations

import re
import time
import traceback
import uuid
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from sqlalchemy import exc as sa_exc

from app.keys import metrics_key, request_id_key, response_headers_key
from app.metrics import route_label
from app.web.assets import STATIC_PREFIX

log = structlog.get_logger("cityhive.request")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(tile_origin: str) -> dict[str, str]:
    """The headers every response carries; map tiles are the only images from elsewhere."""
    images = "'self' data:" if tile_origin == "'self'" else f"'self' data: {tile_origin}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {images}; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
        ),
    } | SECURITY_HEADERS


IMMUTABLE = "public, max-age=31536000, immutable"


def client_address_middleware(trusted: Sequence[IPv4Network | IPv6Network]) -> Middleware:
    """Behind trusted reverse proxies, the client is the nearest untrusted X-Forwarded-For hop.

    Without trusted proxies nothing changes: request.remote is the connection's peer, and a
    forged X-Forwarded-For is ignored.
    """

    def is_trusted(address: str) -> bool:
        try:
            ip = ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    @web.middleware
    async def client_address(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted and request.remote and is_trusted(request.remote):
            hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
            for hop in reversed([hop for hop in hops if hop]):
                if not is_trusted(hop):
                    return await handler(request.clone(remote=hop))
        return await handler(request)

    return client_address


@web.middleware
async def observe_requests_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the caller's X-Request-ID if sane); when it is answered, log one
    line and count it in the metrics."""
    sent = request.headers.get("X-Request-ID", "")
    request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    request[request_id_key] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    metrics = request.app[metrics_key]
    metrics.in_flight.inc()
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        metrics.in_flight.dec()
        route = route_label(request)
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route, request.method).observe(elapsed)
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            remote=request.remote,
        )
        structlog.contextvars.unbind_contextvars("request_id")


# What the driver and the pool raise when the database is down, starting up or out of
# connections, as opposed to a query's own errors.
DATABASE_DOWN = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # class 57: shutting down, starting up, cancelled
    asyncpg.TooManyConnectionsError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
)
# The operating system's: the database's only when raised inside the driver (connection
# refused, no answer in time). A client hanging up mid-request raises ConnectionResetError too.
NETWORK_FAILURE = (OSError, TimeoutError)
RETRY_AFTER_SECONDS = 5


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error`, or what it was raised from, says the database cannot work right now."""
    while error is not None:
        if isinstance(error, DATABASE_DOWN):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, NETWORK_FAILURE) and _raised_in_the_driver(error):
            return True
        error = error.__cause__
    return False


def _raised_in_the_driver(error: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).startswith("asyncpg")
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


@web.middleware
async def database_outage_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """While the database is away, a request that needs it fails at once with 503 and
    Retry-After (a page, or a problem on the API) instead of a 500. Nothing is kept broken: the
    pool checks each connection before use, so the first request after the database is back
    reconnects."""
    try:
        return await handler(request)
    except Exception as error:
        if not database_unavailable(error):
            raise
        log.warning("database_unavailable", path=request.path, error=repr(error))
        raise web.HTTPServiceUnavailable(
            reason="The database is not available right now. Please try again in a moment.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: security headers, the request id and static caching, on everything."""
    for name, value in request.app[response_headers_key].items():
        response.headers.setdefault(name, value)
    if request_id := request.get(request_id_key):
        response.headers["X-Request-ID"] = request_id
    if request.path.startswith(STATIC_PREFIX):
        versioned = "v" in request.query and response.status == 200
        response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
    else:
        response.headers.setdefault("Cache-Control", "private, no-cache")
