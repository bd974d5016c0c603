"""Who is signed in: the session names a user id; the middleware loads the user for the request.

`login()` starts a fresh session (a new cookie, a new CSRF token) so that no token or identity
from before the log-in survives it; `logout()` ends it.

A session also ends by itself: after SESSION_IDLE_SECONDS without a request, after
SESSION_ABSOLUTE_SECONDS whatever happens, and when its user's session epoch has moved on (a
password change raises it, ending the user's other sessions). The cookie cannot be taken back
from a browser, so the server checks these on every request: the session names when it began,
when it was last seen and its epoch, all inside the encrypted cookie.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session, new_session

from app.keys import csrf_token_key, db_key, settings_key, user_key
from app.models import User
from app.settings import Settings
from app.web.csrf import new_token
from app.web.htmx import htmx

USER_ID = "uid"
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
EPOCH = "epoch"
# Last-seen moves on at most this often, so the cookie is not re-encrypted on every request.
SEEN_EVERY_SECONDS = 60

# The time source of session expiry; tests replace it with a clock they move.
clock = time.time


@web.middleware
async def current_user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = await get_session(request)
    user = None
    if (user_id := session.get(USER_ID)) is not None:
        now = int(clock())
        if not session_expired(session, now, request.app[settings_key]):
            async with request.app[db_key]() as db:
                user = await db.get(User, user_id)
        # Gone: expired, the account deleted, or its password changed since this session began.
        if user is None or user.session_epoch != session.get(EPOCH, 0):
            user = None
            end_session(request, session)
        elif now - session.get(SEEN_AT, 0) >= SEEN_EVERY_SECONDS:
            session[SEEN_AT] = now
    request[user_key] = user
    return await handler(request)


def session_expired(session: Session, now: int, settings: Settings) -> bool:
    signed_in: int = session.get(SIGNED_IN_AT, 0)
    seen: int = session.get(SEEN_AT, signed_in)
    return (
        now - signed_in > settings.session_absolute_seconds
        or now - seen > settings.session_idle_seconds
    )


def end_session(request: web.Request, session: Session) -> None:
    """Forget who this was. Pages rendered from here on post with a new CSRF token, which the
    emptied session keeps, so the log-in form they lead to works."""
    session.invalidate()
    if csrf_token_key in request:
        request[csrf_token_key] = new_token(session)


async def login(request: web.Request, user: User) -> None:
    session = await new_session(request)
    now = int(clock())
    session[USER_ID] = user.id
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now
    session[EPOCH] = user.session_epoch
    request[csrf_token_key] = new_token(session)
    request[user_key] = user


async def logout(request: web.Request) -> None:
    session = await get_session(request)
    session.invalidate()
    request[user_key] = None


def safe_next(target: str | None, default: str = "/") -> str:
    """A place to return to after log-in: a path on this site, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_url(request: web.Request) -> str:
    """The log-in page, coming back to this page (or home, from a form post) afterwards."""
    back = request.path_qs if request.method == "GET" else "/"
    return "/login?" + urlencode({"next": back}, safe="/")


def login_required(
    view: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Send anonymous visitors to the log-in page, which brings them back here afterwards."""

    @functools.wraps(view)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if request.get(user_key) is not None:
            return await view(request)
        if htmx(request).request and not htmx(request).boosted:
            raise web.HTTPUnauthorized(headers={"HX-Redirect": login_url(request)})
        raise web.HTTPSeeOther(login_url(request))

    return wrapper


def user_of(request: web.Request) -> User:
    """The signed-in user, in a view behind @login_required."""
    user = request[user_key]
    assert isinstance(user, User)
    return user
