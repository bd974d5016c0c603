"""Who is signed in: the session names a user id; the middleware loads the user for the request.

`login()` starts a fresh session (a new cookie, a new CSRF token) so that no token or identity
from before the log-in survives it; `logout()` ends it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import get_session, new_session

from app.keys import csrf_token_key, db_key, user_key
from app.models import User
from app.web.csrf import new_token
from app.web.htmx import htmx

USER_ID = "uid"


@web.middleware
async def current_user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = await get_session(request)
    user = None
    if (user_id := session.get(USER_ID)) is not None:
        async with request.app[db_key]() as db:
            user = await db.get(User, user_id)
        if user is None:  # the account is gone: forget it
            session.pop(USER_ID, None)
    request[user_key] = user
    return await handler(request)


async def login(request: web.Request, user: User) -> None:
    session = await new_session(request)
    session[USER_ID] = user.id
    session["signed_in_at"] = int(time.time())
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
