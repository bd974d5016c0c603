"""Request plumbing: a request id and one log line per request; headers every response carries."""

from __future__ import annotations

import re
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from sqlalchemy import exc as sa_exc

from app.assets import STATIC_PREFIX
from app.keys import metrics_key, request_id_key, response_headers_key
from app.metrics import route_label
from app.web import i18n
from app.web.i18n import N_
from app.web.urls import valid_host

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
    """Behind trusted reverse proxies, the request as the client made it: the client's address,
    and the scheme and host it asked for (so that absolute URLs say https:// behind TLS).

    Only a peer inside TRUSTED_PROXIES is believed. It speaks one family of headers: the
    X-Forwarded-* family (For, Proto, Host) when it sent any of them, else RFC 7239 `Forwarded`;
    never a mix, so a client cannot slip one family past a proxy that only rewrites the other.
    A value that is not an address, `http`/`https` or a host name is ignored. Without trusted
    proxies nothing changes: the connection's peer, scheme and Host stand, and forged headers
    are ignored.
    """

    def is_trusted(address: str) -> bool:
        ip = ip_or_none(address)
        return ip is not None and any(ip in network for network in trusted)

    @web.middleware
    async def client_address(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted and request.remote and is_trusted(request.remote):
            told = forwarded_by_proxy(request, is_trusted)
            if told != Forwarded():
                as_made = request.clone(
                    remote=told.client or request.remote,
                    scheme=told.scheme or request.scheme,
                    host=told.host or request.host,
                )
                return await handler(as_made)
        return await handler(request)

    return client_address


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What a trusted proxy says about the client's request; None where it says nothing usable."""

    client: str | None = None
    scheme: str | None = None
    host: str | None = None


X_FORWARDED = ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host")
SCHEMES = frozenset({"http", "https"})


def forwarded_by_proxy(request: web.Request, is_trusted: Callable[[str], bool]) -> Forwarded:
    """The client's address, scheme and host from the headers of a trusted proxy.

    The address is the nearest hop that is not itself a trusted proxy (walking from the right:
    hops further left were written by whoever sent them, possibly the client). Scheme and host
    are the values that the trusted peer itself wrote: the last of a list in X-Forwarded-*, the
    element of the client's hop in `Forwarded`.
    """
    headers = request.headers
    if any(name in headers for name in X_FORWARDED):
        hops = _listed(headers.getall("X-Forwarded-For", []))
        return Forwarded(
            client=_nearest_untrusted(hops, is_trusted),
            scheme=_scheme(_last(headers.getall("X-Forwarded-Proto", []))),
            host=valid_host(_last(headers.getall("X-Forwarded-Host", []))),
        )
    if "Forwarded" not in headers:
        return Forwarded()
    elements = list(request.forwarded)
    if not elements:
        return Forwarded()
    chosen = elements[0]
    for element in reversed(elements):
        if not is_trusted(element.get("for") or ""):
            chosen = element
            break
    return Forwarded(
        client=address_or_none(chosen.get("for")),
        scheme=_scheme(chosen.get("proto")),
        host=valid_host(chosen.get("host")),
    )


def _listed(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _last(values: list[str]) -> str | None:
    items = _listed(values)
    return items[-1] if items else None


def _scheme(value: str | None) -> str | None:
    scheme = (value or "").strip().lower()
    return scheme if scheme in SCHEMES else None


def _nearest_untrusted(hops: list[str], is_trusted: Callable[[str], bool]) -> str | None:
    for hop in reversed(hops):
        if not is_trusted(hop):
            return address_or_none(hop)
    return None


def ip_or_none(text: str) -> IPv4Address | IPv6Address | None:
    """An address as proxies write it: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`, with or
    without a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`); None for anything else."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def address_or_none(text: str | None) -> str | None:
    """The address in `text`, written plainly (what request.remote holds), or None."""
    ip = ip_or_none(text or "")
    return str(ip) if ip is not None else None


@web.middleware
async def observe_requests_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the caller's X-Request-ID if sane); when it is answered, log one
    line and count it in the metrics.

    Every line logged while the request runs names it by its route's template
    (`/calendar/{secret}.ics`), never by its raw path or query: those carry secret links
    (calendar feeds, swarm status pages) and keys, and log lines travel further than the app
    (see observability.py, which holds `path` to this on every line).
    """
    sent = request.headers.get("X-Request-ID", "")
    request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    request[request_id_key] = request_id
    template = path_template(request)
    structlog.contextvars.bind_contextvars(request_id=request_id, path=template)
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
            path=template,
            status=status,
            duration_ms=round(elapsed * 1000, 2),
            remote=request.remote,
        )
        structlog.contextvars.unbind_contextvars("request_id", "path")


UNMATCHED_PATH = "(unmatched)"


def path_template(request: web.Request) -> str:
    """The template of the route that answers the request (`/swarms/status/{token}`), or
    `(unmatched)` when none does: a path that matched nothing may still be a mistyped secret
    link, so it is not logged either."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_PATH


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
        log.warning("database_unavailable", path=path_template(request), error=repr(error))
        raise web.HTTPServiceUnavailable(
            reason=N_("The database is not available right now. Please try again in a moment."),
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
    i18n.describe(request, response)
    keep_cookies_private(response)
    no_line_breaks_in_headers(response)


SHARED_ONLY = frozenset({"public", "s-maxage"})


def keep_cookies_private(response: web.StreamResponse) -> None:
    """A response that sets a cookie is never one a shared cache may keep.

    A cookie is one user's (their session); a proxy or CDN that stored the response would hand
    it to the next visitor. Routes that answer the same to everyone do not touch the session
    (app/web/shared.py), so they stay public; if anything else still sets a cookie on a
    response marked for sharing, the response becomes `private` rather than losing the cookie,
    which could be a session refresh the user needs.
    """
    if not response.cookies and "Set-Cookie" not in response.headers:
        return
    directives = [
        directive.strip()
        for directive in response.headers.get("Cache-Control", "").split(",")
        if directive.strip()
    ]
    kept = [d for d in directives if d.split("=", 1)[0].strip().lower() not in SHARED_ONLY]
    if any(d.lower() in ("private", "no-store") for d in kept):
        if kept != directives:
            response.headers["Cache-Control"] = ", ".join(kept)
        return
    response.headers["Cache-Control"] = ", ".join(["private", *kept])


# Where a header that names a place is sent instead when its value cannot be sent.
REDIRECT_HEADERS = frozenset({"location", "hx-redirect", "hx-location", "content-location"})
LINE_BREAKS = ("\r", "\n", "\0")


def no_line_breaks_in_headers(response: web.StreamResponse) -> None:
    """No header value that would end the headers early leaves the server.

    aiohttp refuses to write a header holding CR, LF or NUL and drops the connection instead, so
    a value built from input (a `next` target, a name) would turn a request into a dropped
    connection. Such a redirect goes home instead; any other such header is left out. Values
    from input should be checked where they are read (safe_next does for redirects): this is the
    net under them, and it logs what it caught.
    """
    broken = [
        name
        for name, value in response.headers.items()
        if any(character in value for character in LINE_BREAKS)
    ]
    for name in dict.fromkeys(broken):
        log.warning("header_with_line_break", header=name)
        if name.lower() in REDIRECT_HEADERS:
            response.headers[name] = "/"
        else:
            del response.headers[name]
