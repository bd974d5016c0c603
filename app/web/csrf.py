"""CSRF protection: every unsafe request carries a token that this server gave the same browser.

Forms carry it in a hidden `_csrf` field; htmx sends it as `X-CSRF-Token` (from `hx-headers` on
<body>). The JSON API authenticates with API keys instead, so it is exempt.

Two kinds of token, so that a visitor without an account costs no session:

- **A session's token**, for a browser that has a session (everyone signed in): random, kept in
  the encrypted session cookie, started anew at each log-in (app/web/auth.py). Only this token
  is accepted from such a browser.
- **A stateless token**, for a visitor without a session (the home page, the city pages, the
  log-in, sign-up and swarm report forms): no session is made for them and no cookie is set,
  so their pages cost neither an encrypted cookie nor a `Set-Cookie` (which also lets a proxy
  tell them apart from one person's answers). See `anonymous_token` for what it is bound to.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session

from app.keys import csrf_token_key, settings_key
from app.web.i18n import N_

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PREFIXES = ("/api/",)
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
SESSION_KEY = "csrf"
# English in the status line; the error page shows it in the reader's language (app/web/errors.py).
FORM_EXPIRED = N_("This form has expired. Reload the page and try again.")
# How long a stateless token is accepted: a form left open on a phone at an apiary all day.
ANONYMOUS_TOKEN_SECONDS = 12 * 3600
ANONYMOUS_PREFIX = "a"
TAG_BYTES = 16
# Sec-Fetch-Site values a browser sends for a request this site itself made (or the user typed).
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})

# The time source of stateless tokens; tests replace it with a clock they move.
clock = time.time


class CsrfRefused(web.HTTPForbidden):
    """The request came without a token this server gave this browser: nothing is changed."""


def new_token(session: Session) -> str:
    session[SESSION_KEY] = token = secrets.token_urlsafe(32)
    return token


@functools.cache
def _anonymous_key(secret: str) -> bytes:
    return hashlib.sha256(b"cityhive-anonymous-csrf:" + secret.encode()).digest()


def _tag(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TAG_BYTES]).rstrip(b"=").decode()


def anonymous_token(request: web.Request) -> str:
    """A stateless token for a visitor without a session: `a.<issued>.<address tag>.<MAC>`.

    What it is bound to, and why:

    - **signed** with a key derived from SECRET_KEY (HMAC-SHA256), so only this server makes
      them, and nobody can change the time or the address it carries;
    - **a time**: it is accepted for ANONYMOUS_TOKEN_SECONDS after it was issued, so one seen
      in a page, a log or a screenshot stops working;
    - **the client's address** (an HMAC of it, as the client-address middleware found it behind
      a trusted proxy): a token the attacker fetched from their own address does not pass for
      a victim elsewhere.

    What stops a replay across visitors is then two checks of `anonymous_token_valid`: a
    browser marks a request one site makes to another (`Sec-Fetch-Site: cross-site` or an
    `Origin` other than ours, which a page cannot take off a form post), and such a request is
    refused whatever token it carries; a request without either header (not a current browser)
    must come from the address the token was issued to. A request that a browser vouches came
    from our own page may come from another address than the token's: phones move between
    wifi and the mobile network, and carriers' address pools change under a form being filled.

    Why not a session: a session for every visitor means an encrypted cookie made, sent and
    decrypted on every page, for crawlers that never send it back too; docs/benchmarks.md
    measured it at about a sixth of an anonymous page's server time.
    """
    key = _anonymous_key(_secret(request))
    issued = format(int(clock()), "x")
    address = _tag(key, "address", request.remote or "")
    return f"{ANONYMOUS_PREFIX}.{issued}.{address}.{_tag(key, 'token', issued, address)}"


def anonymous_token_valid(request: web.Request, sent: str) -> bool:
    """Whether `sent` is a stateless token of ours, still fresh, used where it may be (see
    `anonymous_token`)."""
    parts = sent.split(".")
    if len(parts) != 4 or parts[0] != ANONYMOUS_PREFIX:
        return False
    _prefix, issued, address, mac = parts
    key = _anonymous_key(_secret(request))
    if not hmac.compare_digest(mac.encode(), _tag(key, "token", issued, address).encode()):
        return False
    try:
        age = clock() - int(issued, 16)
    except ValueError:
        return False
    if not 0 <= age <= ANONYMOUS_TOKEN_SECONDS:
        return False
    fetched_by = fetch_site(request)
    if fetched_by == "cross-site":
        return False
    if fetched_by == "same-site":
        return True
    return hmac.compare_digest(
        address.encode(), _tag(key, "address", request.remote or "").encode()
    )


def fetch_site(request: web.Request) -> str:
    """What the browser says about who made the request: "same-site" (our own page, or the
    user), "cross-site" (another site's page), or "unknown" (no header: not a current browser).

    Sec-Fetch-Site first; else the Origin header against this request's own origin (as the
    client-address middleware found it behind a trusted proxy). A page cannot remove either
    from a cross-site form post; `Origin: null` (a sandboxed frame, a redirect) is cross-site.
    """
    if (site := request.headers.get("Sec-Fetch-Site")) is not None:
        return "same-site" if site.strip().lower() in SAME_SITE_FETCHES else "cross-site"
    if (origin := request.headers.get("Origin")) is not None:
        ours = f"{request.scheme}://{request.host}".lower()
        return "same-site" if origin.strip().lower() == ours else "cross-site"
    return "unknown"


def _secret(request: web.Request) -> str:
    secret = request.app[settings_key].secret_key
    assert secret is not None
    return secret.get_secret_value()


# A view that takes a file (see takes_upload) reads a body of up to the settings'
# upload_max_bytes and this much more for the form's other fields and the multipart framing.
TAKES_UPLOAD = "takes_upload"
UPLOAD_FORM_ROOM = 64 * 1024


def takes_upload[H: Callable[..., Any]](view: H) -> H:
    """Mark a view whose form sends a file: its body may be as large as upload_max_bytes (the
    view checks the file's own size), where every other body is held to max_body_bytes."""
    setattr(view, TAKES_UPLOAD, True)
    return view


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(EXEMPT_PREFIXES):  # no token, so no session cookie, on the API
        return await handler(request)
    session = await get_session(request)  # the cookie is only read if the browser sent one
    kept = session.get(SESSION_KEY)
    request[csrf_token_key] = kept or anonymous_token(request)
    upload = getattr(request.match_info.handler, TAKES_UPLOAD, False)
    if upload and request.method not in SAFE_METHODS:  # a file: a larger body
        # aiohttp has no body limit per route, and request.clone() would give the view a
        # request whose state (its language, say) the response hooks never see: set it here.
        limit = request.app[settings_key].upload_max_bytes + UPLOAD_FORM_ROOM
        request._client_max_size = limit
        posted = await request.post()  # a body beyond the limit: 413, and nothing kept
        try:
            return await _checked(request, session, kept, handler)
        finally:  # aiohttp keeps each file in a temporary file, for whoever reads it to close
            for value in posted.values():
                if isinstance(value, web.FileField):
                    value.file.close()
    return await _checked(request, session, kept, handler)


async def _checked(
    request: web.Request, session: Session, kept: str | None, handler: Handler
) -> web.StreamResponse:
    """The handler's answer, if the request is safe or carries the token."""
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in FORM_TYPES:
            field = (await request.post()).get("_csrf")
            sent = field if isinstance(field, str) else None
        if not token_accepted(request, kept, sent):
            raise CsrfRefused(reason=FORM_EXPIRED)
    return await handler(request)


def token_accepted(request: web.Request, kept: str | None, sent: str | None) -> bool:
    """A browser with a session must send its session's token; one without, a stateless one."""
    if not sent:
        return False
    if kept:
        return hmac.compare_digest(sent.encode(), str(kept).encode())
    return anonymous_token_valid(request, sent)
