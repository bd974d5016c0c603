"""One database connection per request.

Every view opens its sessions with `db_session(request)`. The first one checks a connection out
of the pool; the request keeps it, and each later session of the request (the signed-in user's
lookup, an access check, the view's own queries, an idempotency guard) runs on the same
connection, one after another, until the request ends and the middleware gives it back. A
checkout is not free: the pool's pre-ping is three round trips (BEGIN, `;`, ROLLBACK) before
the first query, so a signed-in page that checked out twice paid them twice
(docs/benchmarks.md, issue 21).

A session opened while another of the same request is still open (one nested in the other, or
a task's beside the view's) gets a connection of its own from the pool, as before: two sessions
never share a connection at the same time. A streamed answer lets the request's connection go
before it writes (`let_go`), so no connection waits on a slow client (app/pages/exports.py reads
each batch with a session of its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.ext.asyncio import AsyncSession

from app.connection import RequestConnection
from app.keys import db_key, engine_key, request_connection_key


@web.middleware
async def request_connection_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    request[request_connection_key] = held = RequestConnection(request.app[engine_key])
    try:
        return await handler(request)
    finally:
        await held.close()


@asynccontextmanager
async def db_session(
    request: web.Request, *, autocommit: bool = False
) -> AsyncIterator[AsyncSession]:
    """A session on the request's connection, or on one of its own when that one is lent out
    (or the request has none: a request that skipped the middleware).

    `autocommit`: each statement commits on its own, with no BEGIN and ROLLBACK around them
    (two round trips saved, for the session lookup every signed-in request makes)."""
    held = request.get(request_connection_key)
    if held is None or not held.free():
        if autocommit:
            async with _autocommit_session(request) as db:
                yield db
        else:
            async with request.app[db_key]() as db:
                yield db
        return
    connection = await held.lend()
    try:
        if autocommit:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with request.app[db_key](bind=connection) as db:
            yield db
    finally:
        await held.give_back(isolation_changed=autocommit)


@asynccontextmanager
async def _autocommit_session(request: web.Request) -> AsyncIterator[AsyncSession]:
    async with request.app[engine_key].connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with request.app[db_key](bind=connection) as db:
            yield db


async def let_go(request: web.Request) -> None:
    """Give the request's connection back now: an answer streamed to a slow client is next."""
    held = request.get(request_connection_key)
    if held is not None:
        await held.close()
