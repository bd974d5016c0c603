"""Request plumbing: a request id and one log line per request; headers every response carries."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from app.keys import request_id_key
from app.web.assets import STATIC_PREFIX

log = structlog.get_logger("cityhive.request")

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@web.middleware
async def request_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the caller's X-Request-ID if sane), log it once when answered."""
    sent = request.headers.get("X-Request-ID", "")
    request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    request[request_id_key] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
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
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            remote=request.remote,
        )
        structlog.contextvars.unbind_contextvars("request_id")


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: security headers, the request id and static caching, on everything."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request_id := request.get(request_id_key):
        response.headers["X-Request-ID"] = request_id
    if request.path.startswith(STATIC_PREFIX):
        versioned = "v" in request.query and response.status == 200
        response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
    else:
        response.headers.setdefault("Cache-Control", "private, no-cache")
