"""CSRF refusal, log-in throttling and the body size limit: refused, and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from app.accounts.views import LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS
from app.models import ThrottleAttempt, User
from tests.unit.conftest import PASSWORD, csrf_token

SIGNUP = {"name": "Mallory", "email": "mallory@example.org", "password": PASSWORD}


async def user_count(db) -> int:
    return await db.scalar(select(func.count()).select_from(User))


async def test_a_form_without_the_csrf_token_is_refused_and_saves_nothing(client, db):
    response = await client.post("/signup", data=SIGNUP)
    assert response.status == 403
    assert "This form has expired" in await response.text()
    assert await user_count(db) == 0


async def test_a_wrong_csrf_token_is_refused(client, db):
    await csrf_token(client)  # the session has a token; this one is not it
    response = await client.post("/signup", data={**SIGNUP, "_csrf": "forged"})
    assert response.status == 403
    assert await user_count(db) == 0


async def test_a_token_from_another_session_is_refused(aiohttp_client, logged_in, settings, db):
    """A browser with a session accepts only its session's token, not another browser's (a
    visitor's stateless one included: tests/unit/test_csrf_stateless.py for those)."""
    from app.main import create_app

    other = await aiohttp_client(create_app(settings))
    for stolen in (await csrf_token(other), await csrf_token(await log_in_elsewhere(other))):
        response = await logged_in.post("/logout", data={"_csrf": stolen})
        assert response.status == 403
    assert "Hello, Ada Beekeeper" in await (await logged_in.get("/")).text()


async def log_in_elsewhere(client):
    """`client` signed in as a second beekeeper of its own."""
    token = await csrf_token(client, "/signup")
    data = {**SIGNUP, "_csrf": token}
    assert (await client.post("/signup", data=data, allow_redirects=False)).status == 303
    return client


async def test_the_csrf_header_is_accepted_for_htmx(client, db):
    token = await csrf_token(client)
    response = await client.post(
        "/signup",
        data=SIGNUP,
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status == 204
    assert await user_count(db) == 1


async def test_logout_without_the_token_leaves_the_user_logged_in(logged_in):
    response = await logged_in.post("/logout")
    assert response.status == 403
    assert "Hello, Ada Beekeeper" in await (await logged_in.get("/")).text()


async def attempt(client, email: str, password: str):
    token = await csrf_token(client)
    return await client.post("/login", data={"email": email, "password": password, "_csrf": token})


async def test_five_wrong_passwords_lock_the_account_for_a_while(client, user, settings):
    for _ in range(settings.login_max_failures_per_account):
        assert (await attempt(client, user.email, "not the password")).status == 422
    locked = await attempt(client, user.email, PASSWORD)  # even the right one, for now
    assert locked.status == 429
    wait = int(locked.headers["Retry-After"])
    assert 0 < wait <= settings.login_window_seconds + 1
    assert "Too many log-in attempts" in await locked.text()
    assert "Hello," not in await (await client.get("/")).text()


async def test_failures_older_than_the_window_do_not_count(client, user, db, settings):
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.login_window_seconds + 60)
    await db.execute(
        insert(ThrottleAttempt),
        [{"bucket": LOGIN_BY_ACCOUNT, "key": user.email, "at": long_ago}] * 10,
    )
    await db.commit()
    response = await attempt(client, user.email, PASSWORD)
    assert response.status == 200  # the redirect to home was followed
    assert "Hello, Ada Beekeeper" in await response.text()


async def test_a_successful_log_in_clears_the_accounts_failures(client, user, db):
    for _ in range(3):
        await attempt(client, user.email, "not the password")
    await attempt(client, user.email, PASSWORD)
    remaining = await db.scalar(
        select(func.count())
        .select_from(ThrottleAttempt)
        .where(ThrottleAttempt.bucket == LOGIN_BY_ACCOUNT, ThrottleAttempt.key == user.email)
    )
    assert remaining == 0


async def test_one_address_guessing_many_accounts_is_throttled(client, db, settings):
    rows = [
        {"bucket": LOGIN_BY_ADDRESS, "key": "127.0.0.1"}
        for _ in range(settings.login_max_failures_per_address)
    ]
    await db.execute(insert(ThrottleAttempt), rows)
    await db.commit()
    response = await attempt(client, "someone.new@example.org", "guess")
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0


async def test_a_body_over_the_limit_is_refused_with_413(aiohttp_client, db, settings):
    from app.main import create_app

    small = settings.model_copy(update={"max_body_bytes": 4096})
    client = await aiohttp_client(create_app(small))
    token = await csrf_token(client, "/signup")
    huge = "x" * (small.max_body_bytes + 1)
    response = await client.post(
        "/signup", data={**SIGNUP, "notes": huge, "_csrf": token}, allow_redirects=False
    )
    assert response.status == 413
    assert "Too large" in await response.text()
    assert await user_count(db) == 0


async def failures_by_address(db) -> dict[str, int]:
    rows = await db.execute(
        select(ThrottleAttempt.key, func.count())
        .where(ThrottleAttempt.bucket == LOGIN_BY_ADDRESS)
        .group_by(ThrottleAttempt.key)
    )
    return dict(rows.all())


async def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(aiohttp_client, db, settings):
    from ipaddress import ip_network

    from app.main import create_app

    proxied = settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.0/8")]})
    client = await aiohttp_client(create_app(proxied))
    token = await csrf_token(client)
    await client.post(
        "/login",
        data={"email": "x@example.org", "password": "guess", "_csrf": token},
        # A browser says the form is our own page's: its token is good from any address then.
        headers={"X-Forwarded-For": "198.51.100.7, 127.0.0.1", "Sec-Fetch-Site": "same-origin"},
    )
    assert await failures_by_address(db) == {"198.51.100.7": 1}


async def test_without_trusted_proxies_a_forged_forwarded_header_is_ignored(client, db):
    token = await csrf_token(client)
    await client.post(
        "/login",
        data={"email": "x@example.org", "password": "guess", "_csrf": token},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert await failures_by_address(db) == {"127.0.0.1": 1}
