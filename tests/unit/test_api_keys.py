"""API keys on the profile page: made, shown once, listed by prefix, revoked."""

from __future__ import annotations

import hashlib
import re
from ipaddress import ip_network

from sqlalchemy import select

from app.accounts import queries
from app.models import ApiKey
from app.web.api import new_key
from tests.unit.conftest import csrf_token, log_in, make_user

KEY = re.compile(r"ch_[A-Za-z0-9_-]{43}")
HTMX = {"HX-Request": "true"}


async def create(client, name: str = "Scale on the roof", **headers: str):
    token = await csrf_token(client, "/profile")
    return await client.post(
        "/profile/api-keys",
        data={"key_name": name, "_csrf": token},
        headers=headers,
        allow_redirects=False,
    )


async def stored_keys(db) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id).execution_options(populate_existing=True)
    return list(await db.scalars(query))


async def test_a_new_key_is_shown_once_and_only_its_hash_is_kept(logged_in, db, user):
    response = await create(logged_in)
    page = await response.text()
    assert response.status == 201
    assert "<html" in page  # without JavaScript: the whole profile page
    assert "Copy your new key now" in page
    assert response.headers["Cache-Control"] == "no-store"
    shown = KEY.findall(page)
    assert len(set(shown)) == 1
    key = shown[0]

    [stored] = await stored_keys(db)
    assert (stored.user_id, stored.name, stored.prefix) == (user.id, "Scale on the roof", key[:8])
    assert stored.hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (stored.name, stored.prefix, stored.hash)
    assert (stored.last_used_at, stored.revoked_at) == (None, None)

    later = await (await logged_in.get("/profile")).text()
    assert key not in later
    assert "Copy your new key now" not in later
    assert f"<code>{key[:8]}…</code>" in later
    assert "Scale on the roof" in later
    assert "Never" in later


async def test_htmx_gets_the_key_section_alone(logged_in):
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(
        "/profile/api-keys",
        data={"key_name": "Sensor"},
        headers={**HTMX, "X-CSRF-Token": token},
    )
    body = await response.text()
    assert response.status == 201
    assert body.lstrip().startswith('<section id="api-keys"')
    assert "<html" not in body
    assert KEY.search(body)
    assert "HX-Request" in response.headers["Vary"]


async def test_the_profile_page_has_the_key_section(logged_in):
    page = await (await logged_in.get("/profile")).text()
    assert '<section id="api-keys"' in page
    assert "You have no API keys yet." in page
    assert 'action="/profile/api-keys" method="post"' in page
    assert 'hx-post="/profile/api-keys" hx-target="#api-keys"' in page


async def test_a_key_needs_a_name(logged_in, db):
    for name, message in [("  ", "This field is required."), ("x" * 101, "at most 100")]:
        for headers in ({}, HTMX):
            response = await create(logged_in, name, **headers)
            body = await response.text()
            assert response.status == 422
            assert 'id="key_name-error"' in body
            assert message in body
            assert not KEY.search(body)
    assert await stored_keys(db) == []


async def test_key_forms_without_the_csrf_token_are_refused(logged_in, db, user):
    response = await logged_in.post("/profile/api-keys", data={"key_name": "Sneaky"})
    assert response.status == 403
    assert await stored_keys(db) == []
    made = new_key()
    key = await queries.create_key(db, user.id, name="Mine", prefix=made.prefix, key_hash=made.hash)
    response = await logged_in.post(f"/profile/api-keys/{key.id}/revoke", data={})
    assert response.status == 403
    [stored] = await stored_keys(db)
    assert stored.revoked_at is None


async def test_revoking_a_key_without_javascript(logged_in, db, user):
    await create(logged_in)
    [key] = await stored_keys(db)
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(
        f"/profile/api-keys/{key.id}/revoke", data={"_csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/profile#api-keys"
    [key] = await stored_keys(db)
    assert key.revoked_at is not None
    page = await (await logged_in.get("/profile")).text()
    assert "Revoked " in page
    assert f"/profile/api-keys/{key.id}/revoke" not in page
    # revoking twice finds nothing to revoke
    again = await logged_in.post(f"/profile/api-keys/{key.id}/revoke", data={"_csrf": token})
    assert again.status == 404


async def test_revoking_a_key_with_htmx_swaps_the_section(logged_in, db):
    await create(logged_in, "Old scale")
    [key] = await stored_keys(db)
    page = await (await logged_in.get("/profile")).text()
    assert 'hx-confirm="Revoke the key “Old scale”?' in page
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(
        f"/profile/api-keys/{key.id}/revoke", headers={**HTMX, "X-CSRF-Token": token}
    )
    body = await response.text()
    assert response.status == 200
    assert body.lstrip().startswith('<section id="api-keys"')
    assert "The key was revoked." in body
    assert "Revoked " in body


async def test_nobody_revokes_another_users_key(logged_in, db, aiohttp_client, client):
    other = await make_user(db, name="Bob", email="bob@example.org")
    made = new_key()
    key = await queries.create_key(
        db, other.id, name="Bob's", prefix=made.prefix, key_hash=made.hash
    )
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(f"/profile/api-keys/{key.id}/revoke", data={"_csrf": token})
    assert response.status == 404
    [stored] = await stored_keys(db)
    assert stored.revoked_at is None
    assert "Bob&#39;s" not in await (await logged_in.get("/profile")).text()


async def test_keys_are_for_signed_in_users(client):
    response = await client.get("/profile/api-keys", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")


async def test_a_reload_after_creating_a_key_lands_on_the_profile(logged_in):
    response = await logged_in.get("/profile/api-keys", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/profile#api-keys"


async def test_each_user_sees_only_their_keys(client, db, user):
    other = await make_user(db, name="Bob", email="bob@example.org")
    made = new_key()
    await queries.create_key(db, other.id, name="Bob key", prefix=made.prefix, key_hash=made.hash)
    await log_in(client, user.email)
    page = await (await client.get("/profile")).text()
    assert "Bob key" not in page
    assert made.prefix not in page


# --- item 14 of issue 13: wrong keys are limited per client address ---------------------------


async def test_item14_wrong_api_keys_are_limited_per_address(aiohttp_client, settings, db, user):
    """30 wrong keys in a row from one address, on any route that takes a key: 401 up to
    API_KEY_FAILURES_PER_ADDRESS, then 429 with Retry-After and a problem document. A correct
    key from another address is not held up (nor, by design, from the same one)."""
    from app.main import create_app

    behind_proxy = settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1/32")]})
    client = await aiohttp_client(create_app(behind_proxy))
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    routes = ["/api/v1/hives", "/api/v1/sensors", "/api/v1/alerts"]
    statuses = []
    for attempt in range(30):
        wrong = {**attacker, "Authorization": f"Bearer ch_wrong{attempt}"}
        response = await client.get(routes[attempt % 3], headers=wrong)
        statuses.append(response.status)
    readings = await client.post(
        "/api/v1/readings",
        json={"readings": []},
        headers={**attacker, "Authorization": "Bearer ch_wrong_again"},
    )
    limit = settings.api_key_failures_per_address
    assert statuses == [401] * limit + [429] * (30 - limit)
    assert readings.status == 429
    assert response.content_type == "application/problem+json"
    assert 0 < int(response.headers["Retry-After"]) <= settings.api_key_failure_window_seconds
    assert "Too many wrong API keys" in (await response.json())["detail"]

    made = new_key()
    await queries.create_key(db, user.id, name="scale", prefix=made.prefix, key_hash=made.hash)
    good = {"Authorization": f"Bearer {made.key}"}
    elsewhere = await client.get(
        "/api/v1/hives", headers={**good, "X-Forwarded-For": "198.51.100.9"}
    )
    assert elsewhere.status == 200
    assert (await client.get("/api/v1/hives", headers={**good, **attacker})).status == 200
    same_net = {"X-Forwarded-For": "203.0.113.8", "Authorization": "Bearer ch_wrong"}
    assert (await client.get("/api/v1/hives", headers=same_net)).status == 401  # an IPv4 is itself


async def test_item14_wrong_keys_from_one_ipv6_network_share_a_limit(aiohttp_client, settings, db):
    from app.main import create_app

    strict = settings.model_copy(
        update={"trusted_proxies": [ip_network("127.0.0.1/32")], "api_key_failures_per_address": 2}
    )
    client = await aiohttp_client(create_app(strict))
    statuses = []
    for host in (1, 2, 3):  # three addresses of one /64
        headers = {"X-Forwarded-For": f"2001:db8:1:2::{host}", "Authorization": "Bearer ch_x"}
        statuses.append((await client.get("/api/v1/hives", headers=headers)).status)
    assert statuses == [401, 401, 429]
