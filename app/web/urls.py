"""Absolute URLs: the one place that knows where people reach this site from outside.

Links inside pages are relative (`/hives/7`) and need no origin. A few URLs leave the site and
must be whole: the calendar feed a phone subscribes to, the curl lines carrying a device's key,
the API examples, a swarm reporter's status link. Behind the documented TLS proxy the app itself
is spoken to in plain HTTP on a private address, so the connection alone does not say where
users reach it. In order: PUBLIC_URL when it is set; else the scheme and host that a trusted
proxy forwarded (client_address_middleware puts them on the request); else the request's own.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from aiohttp import web

from app.keys import settings_key

MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
LABEL_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def public_origin(request: web.Request) -> str:
    """`scheme://host[:port]` of this site as its users reach it, with no trailing slash.

    A request whose Host is not a host name (nothing that a browser would send) gets a 400
    rather than a URL built from it.
    """
    configured = request.app[settings_key].public_url
    if configured:
        return configured
    host = valid_host(request.host)
    if host is None:
        raise web.HTTPBadRequest(reason="The Host header does not name a host.")
    return f"{request.scheme}://{host}"


def absolute_url(request: web.Request, path: str) -> str:
    """`path` (`/calendar/…`) on this site, whole, as a user's browser or phone would fetch it."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"not a path on this site: {path!r}")
    return public_origin(request) + path


def valid_host(value: str | None) -> str | None:
    """`value` as a `host[:port]` authority, lower-cased, or None if it is not one.

    A host is a DNS name (letters, digits, `-` and `_` in dot-separated labels; browsers send
    internationalised names as punycode), an IPv4 address (a special case of that) or an IPv6
    address in brackets; a port is 1-65535. Anything else (spaces, quotes, slashes, `@`, control
    characters, Unicode look-alikes) is refused: a forwarded header cannot smuggle text into
    the URLs built from it.
    """
    if not value or len(value) > MAX_HOST_LENGTH + 8 or not value.isascii():
        return None
    value = value.lower()
    if value.startswith("["):
        address, bracket, rest = value[1:].partition("]")
        if not bracket or not _ipv6(address):
            return None
        if rest and not rest.startswith(":"):
            return None
        host, port = f"[{address}]", rest[1:]
    else:
        host, _, port = value.partition(":")
        if not _dns_name(host):
            return None
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        return None
    return f"{host}:{int(port)}" if port else host


def _ipv6(text: str) -> bool:
    try:
        IPv6Address(text)
    except ValueError:
        return False
    return True


def _dns_name(host: str) -> bool:
    host = host.removesuffix(".")
    if not host or len(host) > MAX_HOST_LENGTH:
        return False
    return all(
        0 < len(label) <= MAX_LABEL_LENGTH
        and set(label) <= LABEL_CHARACTERS
        and not label.startswith("-")
        and not label.endswith("-")
        for label in host.split(".")
    )
