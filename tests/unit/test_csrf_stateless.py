"""A visitor without a session: no session cookie, and forms checked by a stateless token.

The token is signed, bound to a time and to the visitor's address, and a request that the
browser marks as made by another site is refused whatever token it carries (app/web/csrf.py).
"""

from __future__ import annotations

from ipaddress import ip_network

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.main import create_app
from app.models import SwarmReport, User
from app.web import csrf
from tests.unit.conftest import CSRF_FIELD, PASSWORD, csrf_token
from tests.unit.test_swarms import REPORT

SIGNUP = {"name": "Mallory", "email": "mallory@example.org", "password": PASSWORD}
PROXY = ip_network("127.0.0.1/32")  # the test client stands for a reverse proxy


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
async def behind_proxy(aiohttp_client, settings):
    """The app behind a trusted proxy: each request says its client's address."""
    return await aiohttp_client(
        create_app(settings.model_copy(update={"trusted_proxies": [PROXY]}))
    )


async def token_from(client, address: str, path: str = "/swarms/report") -> str:
    page = await client.get(path, headers={"X-Forwarded-For": address})
    found = CSRF_FIELD.search(await page.text())
    assert found
    return found.group(1)


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/swarms/report", "/city"])
async def test_a_visitors_pages_set_no_cookie(client, path):
    response = await client.get(path)
    assert response.status == 200
    assert "Set-Cookie" not in response.headers
    assert 'name="_csrf"' in await response.text() or path in ("/", "/city")


async def test_a_visitor_reports_a_swarm_with_the_pages_token_and_no_cookie(client, db):
    token = await csrf_token(client, "/swarms/report")
    response = await client.post(
        "/swarms/report", data={**REPORT, "_csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    assert "Set-Cookie" not in response.headers
    assert await count(db, SwarmReport) == 1


async def test_a_visitors_token_works_from_the_htmx_header_too(client, db):
    token = await csrf_token(client, "/signup")
    response = await client.post(
        "/signup", data=SIGNUP, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert response.status == 204
    assert await count(db, User) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a redirect hides the page's origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's page too
    ],
)
async def test_a_visitors_token_sent_by_another_sites_page_is_refused(client, db, headers):
    token = await csrf_token(client, "/swarms/report")
    response = await client.post("/swarms/report", data={**REPORT, "_csrf": token}, headers=headers)
    assert response.status == 403
    assert "This form has expired" in await response.text()
    assert await count(db, SwarmReport) == 0


async def test_a_visitors_token_from_our_own_page_is_accepted(client, db):
    token = await csrf_token(client, "/swarms/report")
    origin = str(client.make_url("/")).rstrip("/")
    for headers in ({"Origin": origin}, {"Sec-Fetch-Site": "same-origin"}):
        response = await client.post(
            "/swarms/report", data={**REPORT, "_csrf": token}, headers=headers
        )
        assert response.status == 200  # followed to the status page
    assert await count(db, SwarmReport) == 2


async def test_an_attackers_token_does_not_pass_for_a_visitor_elsewhere(behind_proxy, db):
    """Login CSRF: a token fetched from the attacker's address, posted by a client that says
    nothing about the page it came from, from the victim's address."""
    stolen = await token_from(behind_proxy, "203.0.113.9", "/signup")
    response = await behind_proxy.post(
        "/signup", data={**SIGNUP, "_csrf": stolen}, headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert response.status == 403
    assert await count(db, User) == 0


async def test_a_phone_that_changed_network_may_still_send_its_form(behind_proxy, db):
    """The browser vouches the post came from our page: the address may have moved."""
    token = await token_from(behind_proxy, "203.0.113.9")
    response = await behind_proxy.post(
        "/swarms/report",
        data={**REPORT, "_csrf": token},
        headers={"X-Forwarded-For": "198.51.100.7", "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert await count(db, SwarmReport) == 1


async def test_a_visitors_token_expires(client, db, monkeypatch):
    token = await csrf_token(client, "/swarms/report")
    now = csrf.clock()
    monkeypatch.setattr(csrf, "clock", lambda: now + csrf.ANONYMOUS_TOKEN_SECONDS + 1)
    response = await client.post("/swarms/report", data={**REPORT, "_csrf": token})
    assert response.status == 403
    assert await count(db, SwarmReport) == 0


def later(issued: str) -> str:
    return format(int(issued, 16) + 3600, "x")


@pytest.mark.parametrize(
    "change",
    [
        lambda p: ["b", *p[1:]],  # another kind
        lambda p: [p[0], later(p[1]), *p[2:]],  # a later time, for a longer life
        lambda p: [*p[:2], "A" * len(p[2]), p[3]],  # another address
        lambda p: [*p[:3], p[3][::-1]],  # another signature
        lambda p: p[:3],  # no signature
    ],
)
async def test_a_changed_token_is_refused(client, db, change):
    pieces = change((await csrf_token(client, "/swarms/report")).split("."))
    response = await client.post("/swarms/report", data={**REPORT, "_csrf": ".".join(pieces)})
    assert response.status == 403
    assert await count(db, SwarmReport) == 0


async def test_another_servers_token_is_refused(aiohttp_client, client, settings, db):
    other_secret = settings.model_copy(
        update={"secret_key": SecretStr("another server's secret key " * 2)}
    )
    other = await aiohttp_client(create_app(other_secret))
    forged = await csrf_token(other, "/swarms/report")
    response = await client.post("/swarms/report", data={**REPORT, "_csrf": forged})
    assert response.status == 403
    assert await count(db, SwarmReport) == 0


async def test_a_signed_in_browser_needs_its_sessions_token(logged_in, aiohttp_client, settings):
    visitor = await aiohttp_client(create_app(settings))
    anonymous = await csrf_token(visitor)
    response = await logged_in.post("/logout", data={"_csrf": anonymous})
    assert response.status == 403
    assert "Hello, Ada Beekeeper" in await (await logged_in.get("/")).text()


async def test_after_log_out_the_visitor_has_no_cookie_and_can_log_in_again(logged_in, user):
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post("/logout", data={"_csrf": token}, allow_redirects=False)
    assert response.status == 303
    logged_in.session.cookie_jar.clear()  # the browser dropped the emptied cookie
    page = await logged_in.get("/login")
    assert "Set-Cookie" not in page.headers
    token = await csrf_token(logged_in)
    response = await logged_in.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert "Hello, Ada Beekeeper" in await (await logged_in.get("/")).text()
