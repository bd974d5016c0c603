"""CSRF protection: one token per session, checked on every unsafe request.

Forms carry it in a hidden `_csrf` field; htmx sends it as `X-CSRF-Token` (from `hx-headers` on
<body>). The JSON API authenticates with API keys instead, so it is exempt.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session

from app.keys import csrf_token_key
from app.web.i18n import N_

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
EXEMPT_PREFIXES = ("/api/",)
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
SESSION_KEY = "csrf"
# English in the status line; the error page shows it in the reader's language (app/web/errors.py).
FORM_EXPIRED = N_("This form has expired. Reload the page and try again.")


class CsrfRefused(web.HTTPForbidden):
    """The request came without this session's token: nothing is changed."""


def new_token(session: Session) -> str:
    session[SESSION_KEY] = token = secrets.token_urlsafe(32)
    return token


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(EXEMPT_PREFIXES):  # no token, so no session cookie, on the API
        return await handler(request)
    session = await get_session(request)
    token = session.get(SESSION_KEY) or new_token(session)
    request[csrf_token_key] = token
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in FORM_TYPES:
            field = (await request.post()).get("_csrf")
            sent = field if isinstance(field, str) else None
        if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
            raise CsrfRefused(reason=FORM_EXPIRED)
    return await handler(request)
