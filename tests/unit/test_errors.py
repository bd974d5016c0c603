"""Errors come as pages in both shapes, as JSON problems on the API, and are logged."""

from __future__ import annotations

import structlog
from aiohttp import web

from app.main import create_app
from tests.unit.conftest import csrf_token
from tests.unit.test_sensors import api_key, make_hive


async def test_unknown_page_is_a_404_page(client):
    response = await client.get("/no-such-page")
    body = await response.text()
    assert response.status == 404
    assert body.startswith("<!doctype html>")
    assert "Page not found" in body
    assert response.headers["Vary"] == "HX-Request, Accept-Encoding, Accept-Language"


async def test_unknown_page_for_htmx_is_a_404_fragment(client):
    response = await client.get("/no-such-page", headers={"HX-Request": "true"})
    body = await response.text()
    assert response.status == 404
    assert "Page not found" in body
    assert "<html" not in body


async def test_wrong_method_is_a_405_page_that_keeps_the_allow_header(client):
    response = await client.delete("/", headers={"X-CSRF-Token": await csrf_token(client)})
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert "Not allowed here" in await response.text()


async def test_api_errors_are_problem_documents(client):
    response = await client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"  # about:blank: the status phrase (RFC 9457 §4.2.1)


async def test_a_crash_is_a_500_page_in_both_shapes_and_is_logged(aiohttp_client, settings):
    app = create_app(settings)

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("the smoker went out")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    with structlog.testing.capture_logs() as logs:
        full = await client.get("/broken")
        fragment = await client.get("/broken", headers={"HX-Request": "true"})
    assert full.status == fragment.status == 500
    assert "Something went wrong" in await full.text()
    assert (await full.text()).startswith("<!doctype html>")
    assert "<html" not in await fragment.text()
    assert "the smoker went out" not in await full.text()
    crashes = [entry for entry in logs if entry["event"] == "unhandled_error"]
    assert len(crashes) == 2
    assert crashes[0]["path"] == "/broken"


async def test_a_multipart_body_without_its_boundary_is_a_400_not_a_crash(client, db, user):
    page = await client.post(
        "/login", data=b"email=a", headers={"Content-Type": "multipart/form-data"}
    )
    assert page.status == 400
    assert "could not be read" in await page.text()
    auth, _ = await api_key(db, user.id)
    hive = await make_hive(db, user.id)
    api = await client.post(
        f"/api/v1/devices/{hive}/readings",
        data=b"t=12.5",
        headers={"Content-Type": "multipart/form-data", **auth},
    )
    assert api.status == 400
    assert api.content_type == "application/problem+json"
