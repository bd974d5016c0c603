"""Sessions end by themselves: after an idle time, after an absolute lifetime, and everywhere else
when the password changes. Over HTTPS the cookie carries the `__Host-` prefix.

Time is a clock the tests move (app.web.auth.clock), never a sleep.
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select

from app.accounts.passwords import verify_password
from app.main import SESSION_COOKIE, create_app
from app.models import User
from app.web import auth
from tests.unit.conftest import PASSWORD, csrf_token, log_in

NEW_PASSWORD = "a brand new passphrase"


class Clock:
    """Starts at the real time (a log-in before the test takes it over agrees with it)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(auth, "clock", moved)
    return moved


async def signed_in(client) -> bool:
    response = await client.get("/profile", allow_redirects=False)
    assert response.status in (200, 303)
    return response.status == 200


async def test_a_session_used_within_the_idle_time_goes_on(clock, logged_in, settings):
    for _ in range(3):
        clock.advance(settings.session_idle_seconds - 60)
        assert await signed_in(logged_in)


async def test_a_session_left_idle_too_long_has_ended(clock, logged_in, settings):
    clock.advance(settings.session_idle_seconds + 1)
    response = await logged_in.get("/profile", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/profile"
    clock.advance(1)  # it stays ended, even right after
    assert not await signed_in(logged_in)


async def test_a_session_in_use_still_ends_at_its_absolute_lifetime(clock, logged_in, settings):
    step = settings.session_idle_seconds // 2
    used_for = 0
    while used_for + step <= settings.session_absolute_seconds:
        clock.advance(step)
        used_for += step
        assert await signed_in(logged_in), f"ended after {used_for} s of use"
    clock.advance(settings.session_absolute_seconds - used_for + 1)
    assert not await signed_in(logged_in)


async def test_the_lifetimes_come_from_the_settings(aiohttp_client, settings, user, clock):
    short = settings.model_copy(update={"session_idle_seconds": 300})
    client = await aiohttp_client(create_app(short))
    await log_in(client, user.email)
    clock.advance(299)
    assert await signed_in(client)
    clock.advance(301)
    assert not await signed_in(client)


async def test_last_seen_rewrites_the_cookie_at_most_once_a_minute(clock, logged_in):
    assert await signed_in(logged_in)
    clock.advance(30)
    quiet = await logged_in.get("/profile")
    assert "Set-Cookie" not in quiet.headers
    clock.advance(31)
    moved_on = await logged_in.get("/profile")
    assert SESSION_COOKIE in moved_on.headers["Set-Cookie"]


async def test_after_expiry_the_log_in_form_works_at_once(clock, logged_in, settings, user):
    clock.advance(settings.session_idle_seconds + 1)
    await log_in(logged_in, user.email)  # its CSRF token is the ended session's successor
    assert await signed_in(logged_in)


async def test_an_expired_sessions_form_post_changes_nothing(clock, logged_in, settings, db, user):
    token = await csrf_token(logged_in, "/profile")
    clock.advance(settings.session_idle_seconds + 1)
    response = await logged_in.post(
        "/profile",
        data={"name": "Mallory", "email": user.email, "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"].startswith("/login")
    stored = await db.scalar(
        select(User.name).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert stored == "Ada Beekeeper"


async def test_a_deleted_account_ends_its_sessions(logged_in, db, user):
    await db.delete(user)
    await db.commit()
    assert not await signed_in(logged_in)


# --- password change ----------------------------------------------------------------------


async def change_password(client, current: str = PASSWORD, new: str = NEW_PASSWORD, **headers):
    token = await csrf_token(client, "/profile")
    return await client.post(
        "/profile/password",
        data={"current_password": current, "new_password": new, "_csrf": token},
        headers=headers,
        allow_redirects=False,
    )


async def password_of(db, user: User) -> str:
    return await db.scalar(
        select(User.password_hash)
        .where(User.id == user.id)
        .execution_options(populate_existing=True)
    )


async def test_the_profile_page_has_a_password_form(logged_in):
    page = await (await logged_in.get("/profile")).text()
    assert 'action="/profile/password" method="post"' in page
    assert 'autocomplete="current-password"' in page
    assert 'autocomplete="new-password"' in page


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    aiohttp_client, logged_in, settings, user, db
):
    elsewhere = await aiohttp_client(create_app(settings))
    await log_in(elsewhere, user.email)
    assert await signed_in(elsewhere)

    response = await change_password(logged_in)
    assert response.status == 303
    assert response.headers["Location"] == "/profile?password=changed#password"
    page = await (await logged_in.get("/profile?password=changed")).text()
    assert "Your password was changed." in page
    assert not await signed_in(elsewhere)
    assert await verify_password(await password_of(db, user), NEW_PASSWORD)


async def test_after_a_change_only_the_new_password_logs_in(aiohttp_client, logged_in, settings):
    await change_password(logged_in)
    fresh = await aiohttp_client(create_app(settings))
    token = await csrf_token(fresh)
    old = await fresh.post(
        "/login",
        data={"email": "ada@example.org", "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert old.status == 422
    new = await fresh.post(
        "/login",
        data={"email": "ada@example.org", "password": NEW_PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert new.status == 303


async def test_a_wrong_current_password_changes_nothing(
    aiohttp_client, logged_in, settings, db, user
):
    elsewhere = await aiohttp_client(create_app(settings))
    await log_in(elsewhere, user.email)
    before = await password_of(db, user)
    response = await change_password(logged_in, current="not my password")
    assert response.status == 422
    page = await response.text()
    assert "That is not your current password." in page
    assert NEW_PASSWORD not in page  # passwords are never sent back
    assert await password_of(db, user) == before
    assert await signed_in(elsewhere)


async def test_a_too_short_new_password_is_refused_beside_its_field(logged_in, db, user):
    before = await password_of(db, user)
    response = await change_password(logged_in, new="short")
    assert response.status == 422
    page = await response.text()
    assert 'id="new_password-error"' in page
    assert "Use at least 12 characters." in page
    assert await password_of(db, user) == before


async def test_htmx_gets_the_form_alone_and_is_sent_to_the_page_on_success(logged_in):
    refused = await change_password(logged_in, new="short", **{"HX-Request": "true"})
    assert refused.status == 422
    fragment = await refused.text()
    assert fragment.lstrip().startswith('<form id="password-form"')
    changed = await change_password(logged_in, **{"HX-Request": "true"})
    assert changed.status == 204
    assert changed.headers["HX-Redirect"] == "/profile?password=changed#password"


async def test_guessing_the_current_password_is_throttled_like_log_ins(
    logged_in, settings, db, user
):
    before = await password_of(db, user)
    for _ in range(settings.login_max_failures_per_account):
        assert (await change_password(logged_in, current="a guess")).status == 422
    throttled = await change_password(logged_in)  # even the right one, for now
    assert throttled.status == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in await throttled.text()
    assert await password_of(db, user) == before


async def test_changing_the_password_needs_a_log_in(client):
    token = await csrf_token(client)
    response = await client.post(
        "/profile/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"].startswith("/login")


# --- the cookie ---------------------------------------------------------------------------


def session_cookie_of(response) -> tuple[str, dict[str, str]]:
    cookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie"):
        cookie.load(header)
    [(name, morsel)] = [(n, m) for n, m in cookie.items() if n.endswith(SESSION_COOKIE)]
    return name, {key: morsel[key] for key in ("secure", "path", "domain", "httponly")}


async def test_over_https_the_cookie_is_a_host_only_secure_one(aiohttp_client, settings):
    secure = settings.model_copy(update={"cookie_secure": True})
    client = await aiohttp_client(create_app(secure))
    name, attributes = session_cookie_of(await client.get("/login"))
    assert name == f"__Host-{SESSION_COOKIE}"
    assert attributes == {"secure": True, "path": "/", "domain": "", "httponly": True}


async def test_over_plain_http_the_cookie_has_no_prefix(client):
    name, attributes = session_cookie_of(await client.get("/login"))
    assert name == SESSION_COOKIE
    assert attributes["secure"] == ""
