"""Answers that are the same for everyone, which shared caches (a CDN, a proxy) may keep.

Such a route neither reads nor writes the session: the session, CSRF and current-user
middlewares step aside for it, so its answer can never carry the asker's Set-Cookie (a session
cookie stored in a shared cache is handed to the next visitor). A view is declared shared where
it is written:

    @same_for_everyone
    async def density_geojson(request): ...

and must not depend on who asks: no get_session(), no request["user"] (it is None there).
The last line of defence, for any other response, is middlewares.keep_cookies_private: a
response that sets a cookie is made `private`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from app.keys import user_key

View = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SHARED_VIEWS: set[object] = set()


def same_for_everyone(view: View) -> View:
    """Declare `view` as answering the same to everyone: it runs without a session."""
    _SHARED_VIEWS.add(view)
    return view


def is_same_for_everyone(request: web.Request) -> bool:
    return request.match_info.handler in _SHARED_VIEWS


def not_for_shared_answers(middleware: Middleware) -> Middleware:
    """`middleware`, stepping aside for the routes that answer the same to everyone."""

    @web.middleware
    async def unless_shared(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_same_for_everyone(request):
            request[user_key] = None
            return await handler(request)
        return await middleware(request, handler)

    return unless_shared
