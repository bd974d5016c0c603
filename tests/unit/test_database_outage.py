"""With the database away, requests that need it get 503 and Retry-After at once (a page or an
API problem), never a 500; errors that are not the database's stay 500s. bench/faults.py stops
a real PostgreSQL under load; these tests point the app at a port where nothing listens."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from app.main import create_app
from app.web.middlewares import RETRY_AFTER_SECONDS, database_unavailable
from tests.unit.conftest import PASSWORD, csrf_token

NOTHING_LISTENS = "postgresql://nobody:nothing@127.0.0.1:9/cityhive"


async def app_without_database(aiohttp_client, settings):
    return await aiohttp_client(
        create_app(settings.model_copy(update={"database_url": NOTHING_LISTENS}))
    )


async def test_a_signed_in_page_is_503_with_retry_after(aiohttp_client, logged_in, settings):
    cookies = logged_in.session.cookie_jar.filter_cookies(logged_in.make_url("/"))
    down = await app_without_database(aiohttp_client, settings)
    down.session.cookie_jar.update_cookies(cookies)
    response = await down.get("/hives")
    assert response.status == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    page = await response.text()
    assert "Unavailable" in page
    assert "Please try again in a moment." in page
    assert "Content-Security-Policy" in response.headers


async def test_a_form_post_is_503_and_htmx_gets_the_fragment(aiohttp_client, settings):
    down = await app_without_database(aiohttp_client, settings)
    token = await csrf_token(down)  # the log-in page itself needs no database
    response = await down.post(
        "/login",
        data={"email": "ada@example.org", "password": PASSWORD, "_csrf": token},
        headers={"HX-Request": "true"},
    )
    assert response.status == 503
    assert "<html" not in await response.text()


async def test_the_api_answers_a_503_problem(aiohttp_client, settings):
    down = await app_without_database(aiohttp_client, settings)
    response = await down.get("/api/v1/hives", headers={"Authorization": "Bearer ch_anything"})
    assert response.status == 503
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)


async def test_pages_without_the_database_still_work(aiohttp_client, settings):
    down = await app_without_database(aiohttp_client, settings)
    assert (await down.get("/")).status == 200
    assert (await down.get("/health/live")).status == 200
    assert (await down.get("/health/ready")).status == 503


async def test_other_errors_are_not_mistaken_for_an_outage(aiohttp_client, settings):
    app = create_app(settings)

    async def broken(request):
        raise ValueError("a bug")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    response = await client.get("/broken")
    assert response.status == 500
    assert "Retry-After" not in response.headers


async def refused_by_the_driver() -> OSError:
    try:
        await asyncpg.connect(NOTHING_LISTENS, timeout=5)
    except OSError as error:
        return error
    raise AssertionError("something listens on port 9")


async def test_what_counts_as_the_database_being_away():
    refused = await refused_by_the_driver()
    assert database_unavailable(refused)
    assert database_unavailable(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    lost = sa_exc.DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True)
    assert database_unavailable(lost)
    wrapped = RuntimeError("while saving")
    wrapped.__cause__ = refused
    assert database_unavailable(wrapped)
    assert not database_unavailable(ValueError("a bug"))
    with pytest.raises(ConnectionResetError) as hung_up:  # a client gone while its body is read
        raise ConnectionResetError("Connection lost")  # (aiohttp's own words)
    assert not database_unavailable(hung_up.value)
    bad_data = sa_exc.DBAPIError("INSERT", {}, Exception("value out of range"))
    assert not database_unavailable(bad_data)
