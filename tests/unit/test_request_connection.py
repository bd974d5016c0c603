"""One database connection per request (app/web/database.py): the signed-in user's lookup, the
API key's and the view's sessions share one checkout; sessions on the shared connection leave
nothing behind for the next one; a nested session gets a connection of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import event, select, text

from app.keys import engine_key
from app.models import Hive
from app.web.database import db_session, request_connection_middleware
from tests.unit.test_api import key_for
from tests.unit.test_hives import new_hive_id


@contextmanager
def checkouts(client) -> Iterator[list[int]]:
    """The pool's checkouts while the block runs (a list of the connections' ids)."""
    engine = client.server.app[engine_key].sync_engine
    seen: list[int] = []

    def count(dbapi_connection, record, proxy) -> None:
        seen.append(id(dbapi_connection))

    event.listen(engine, "checkout", count)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", count)


@pytest.mark.parametrize("path", ["/", "/hives", "/hives/{id}", "/exports"])
async def test_a_signed_in_page_checks_out_one_connection(logged_in, path):
    hive_id = await new_hive_id(logged_in)
    with checkouts(logged_in) as seen:
        response = await logged_in.get(path.format(id=hive_id))
        assert response.status == 200
    assert len(seen) == 1


async def test_a_form_post_checks_out_one_connection(logged_in, db):
    with checkouts(logged_in) as seen:
        hive_id = await new_hive_id(logged_in, name="Balcony")
    # the form's page (GET /hives/new) and its post: one each
    assert len(seen) == 2
    assert (await db.get(Hive, hive_id)).name == "Balcony"


async def test_an_api_call_with_a_key_checks_out_one_connection(client, db, user):
    key, _ = await key_for(db, user.id)
    with checkouts(client) as seen:
        response = await client.get("/api/v1/hives", headers={"Authorization": f"Bearer {key}"})
        assert response.status == 200
    assert len(seen) == 1


async def test_an_anonymous_page_without_a_query_checks_out_none(client):
    with checkouts(client) as seen:
        response = await client.get("/login")
        assert response.status == 200
    assert seen == []


async def request_through_middleware(client, view) -> None:
    """Run `view(request)` inside the request-connection middleware of the running app."""
    request = make_mocked_request("GET", "/", app=client.server.app)

    async def handler(request):
        await view(request)
        return web.Response()

    await request_connection_middleware(request, handler)


async def test_sessions_in_turn_share_the_connection_and_start_clean(client):
    backends: list[int] = []

    async def view(request) -> None:
        async with db_session(request, autocommit=True) as lookup:
            backends.append(await lookup.scalar(text("SELECT pg_backend_pid()")))
        async with db_session(request) as failing:
            backends.append(await failing.scalar(text("SELECT pg_backend_pid()")))
            await failing.execute(text("UPDATE hives SET name = 'x'"))  # no commit: undone
            with pytest.raises(Exception, match="division by zero"):
                await failing.execute(text("SELECT 1 / 0"))
        async with db_session(request) as next_one:
            backends.append(await next_one.scalar(text("SELECT pg_backend_pid()")))
            # a transaction again after the autocommit lookup, and a clean one
            level = await next_one.scalar(text("SHOW transaction_isolation"))
            assert level == "read committed"
            await next_one.execute(
                text("CREATE TEMP TABLE written (n int) ON COMMIT DROP")
            )  # fails if the connection were in autocommit: ON COMMIT DROP would drop it at once
            await next_one.execute(text("INSERT INTO written VALUES (1)"))
            assert await next_one.scalar(text("SELECT count(*) FROM written")) == 1

    with checkouts(client) as seen:
        await request_through_middleware(client, view)
    assert len(seen) == 1
    assert len(set(backends)) == 1


async def test_a_session_inside_another_gets_a_connection_of_its_own(client):
    async def view(request) -> None:
        async with db_session(request) as outer:
            outer_pid = await outer.scalar(text("SELECT pg_backend_pid()"))
            async with db_session(request) as inner:
                assert await inner.scalar(text("SELECT pg_backend_pid()")) != outer_pid
                assert await inner.scalar(select(Hive.id).limit(1)) is None

    with checkouts(client) as seen:
        await request_through_middleware(client, view)
    assert len(seen) == 2
    pool = client.server.app[engine_key].pool
    assert pool.checkedout() == 0  # both back in the pool when the request ended


async def test_sessions_opened_at_once_never_share_a_connection(client):
    """Two sessions of one request opened at the same moment (a task beside the view): the one
    that waits for the first checkout does not take the request's connection too."""
    pids: list[int] = []
    both_open = asyncio.Barrier(2)

    async def one(request) -> None:
        async with db_session(request) as db:
            pids.append(await db.scalar(text("SELECT pg_backend_pid()")))
            await both_open.wait()

    async def view(request) -> None:
        await asyncio.gather(one(request), one(request))

    with checkouts(client) as seen:
        await request_through_middleware(client, view)
    assert len(seen) == 2
    assert len(set(pids)) == 2
    assert client.server.app[engine_key].pool.checkedout() == 0
