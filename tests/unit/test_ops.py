"""Health, request ids and logs, response headers, static caching: what an operator relies on."""

from __future__ import annotations

import json

import structlog

from app.keys import engine_key
from app.main import create_app
from app.observability import configure_logging
from app.web.middlewares import IMMUTABLE


async def test_live_answers_while_the_process_runs(client):
    response = await client.get("/health/live")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_ready_checks_the_database(client):
    response = await client.get("/health/ready")
    assert response.status == 200
    assert (await response.json())["checks"]["database"] == "ok"


async def test_ready_is_503_when_the_database_is_unreachable(aiohttp_client, settings):
    unreachable = settings.model_copy(
        update={"database_url": "postgresql://nobody:nothing@127.0.0.1:9/cityhive"}
    )
    client = await aiohttp_client(create_app(unreachable))
    response = await client.get("/health/ready")
    assert response.status == 503
    assert (await response.json())["checks"]["database"] == "unreachable"
    assert (await client.get("/health/live")).status == 200


async def test_item6_ready_is_503_while_the_pool_has_no_connection_to_give(
    aiohttp_client, settings
):
    client = await aiohttp_client(
        create_app(
            settings.model_copy(update={"database_pool_size": 2, "database_pool_overflow": 0})
        )
    )
    engine = client.app[engine_key]
    assert (await client.get("/health/ready")).status == 200
    held = [await engine.connect() for _ in range(2)]  # every connection of the pool, busy
    try:
        response = await client.get("/health/ready")
        assert response.status == 503
        assert (await response.json())["checks"]["database"] == "unreachable"
    finally:
        for connection in held:
            await connection.close()
    assert (await client.get("/health/ready")).status == 200  # a freed connection: ready again


async def test_each_request_gets_an_id_and_one_log_line(client):
    with structlog.testing.capture_logs() as logs:
        response = await client.get("/login?next=/profile")
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    [line] = [entry for entry in logs if entry["event"] == "request"]
    assert line["method"] == "GET"
    assert line["path"] == "/login"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0


async def test_a_callers_sane_request_id_is_kept_and_a_strange_one_replaced(client):
    kept = await client.get("/health/live", headers={"X-Request-ID": "edge-proxy-1234abcd"})
    assert kept.headers["X-Request-ID"] == "edge-proxy-1234abcd"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "<script>"})
    assert replaced.headers["X-Request-ID"] != "<script>"
    assert len(replaced.headers["X-Request-ID"]) == 32


async def test_error_responses_are_logged_with_their_status(client):
    with structlog.testing.capture_logs() as logs:
        await client.get("/missing")
    [line] = [entry for entry in logs if entry["event"] == "request"]
    assert line["status"] == 404


def test_logs_are_json_lines_carrying_the_request_id(capsys):
    configure_logging("INFO")
    try:
        structlog.contextvars.bind_contextvars(request_id="abc123")
        structlog.get_logger("test").info("hive_saved", hive=7)
        structlog.contextvars.clear_contextvars()
        line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    finally:
        structlog.reset_defaults()
    assert line["event"] == "hive_saved"
    assert line["hive"] == 7
    assert line["request_id"] == "abc123"
    assert line["level"] == "info"
    assert "timestamp" in line


async def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/missing", "/static/css/app.css", "/health/live"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "geolocation=(self)" in response.headers["Permissions-Policy"]


async def test_pages_link_static_files_by_content_hash_cached_for_a_year(client):
    page = await (await client.get("/")).text()
    start = page.index('href="/static/css/app.css?v=') + len('href="')
    url = page[start : page.index('"', start)]
    versioned = await client.get(url)
    assert versioned.status == 200
    assert versioned.headers["Cache-Control"] == IMMUTABLE
    assert "--honey" in await versioned.text()
    plain = await client.get("/static/css/app.css")
    assert plain.headers["Cache-Control"] == "no-cache"


async def test_pages_link_the_pinned_htmx(client):
    page = await (await client.get("/")).text()
    assert 'src="/static/vendor/htmx-2.0.11/htmx.min.js?v=' in page
    script = await client.get("/static/vendor/htmx-2.0.11/htmx.min.js")
    assert 'version:"2.0.11"' in (await script.text()).replace(" ", "")
