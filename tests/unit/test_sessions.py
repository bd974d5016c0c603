"""Sessions end by themselves: after an idle time, after an absolute lifetime, and everywhere else
when the password changes. Log-out ends the session on the server, so a copied cookie is dead
afterwards; "log out everywhere" ends them all. Over HTTPS the cookie carries the `__Host-`
prefix.

Time is a clock the tests move (app.web.auth.clock), never a sleep.
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import func, select

from app.accounts import queries as key_queries
from app.accounts.passwords import verify_password
from app.main import SESSION_COOKIE, create_app
from app.models import User, UserSession
from app.web import auth
from app.web.api import new_key
from tests.unit.conftest import PASSWORD, csrf_token, log_in, make_user

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
    assert any(SESSION_COOKIE in header for header in moved_on.headers.getall("Set-Cookie"))


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


async def logging_in(client, user):
    """The answer to a log-in (a visitor's pages set no cookie: the session starts here)."""
    token = await csrf_token(client)
    return await client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "_csrf": token},
        allow_redirects=False,
    )


async def test_over_https_the_cookie_is_a_host_only_secure_one(aiohttp_client, settings, user):
    secure = settings.model_copy(update={"cookie_secure": True})
    client = await aiohttp_client(create_app(secure))
    name, attributes = session_cookie_of(await logging_in(client, user))
    assert name == f"__Host-{SESSION_COOKIE}"
    assert attributes == {"secure": True, "path": "/", "domain": "", "httponly": True}


async def test_over_plain_http_the_cookie_has_no_prefix(client, user):
    name, attributes = session_cookie_of(await logging_in(client, user))
    assert name == SESSION_COOKIE
    assert attributes["secure"] == ""


# --- item 9: log-out ends the session on the server ---------------------------------------


def cookie_header(client) -> dict[str, str]:
    """The client's cookies as one Cookie header: what someone who copied them would send."""
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    return {"Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())}


async def signed_in_with(client, cookies: dict[str, str]) -> bool:
    """Whether these copied cookies, sent from a browser of their own, are signed in."""
    client.session.cookie_jar.clear()
    response = await client.get("/profile", headers=cookies, allow_redirects=False)
    assert response.status in (200, 303)
    return response.status == 200


async def log_out(client, path: str = "/logout"):
    token = await csrf_token(client, "/profile")
    return await client.post(path, data={"_csrf": token}, allow_redirects=False)


async def test_item9_a_copied_cookie_is_dead_after_log_out(aiohttp_client, logged_in, settings):
    thief = await aiohttp_client(create_app(settings))
    copied = cookie_header(logged_in)
    assert await signed_in_with(thief, copied)  # the copy works while the session lives

    response = await log_out(logged_in)
    assert response.status == 303
    assert not await signed_in(logged_in)
    assert not await signed_in_with(thief, copied)
    home = await thief.get("/", headers=copied)
    assert "Hello, Ada Beekeeper" not in await home.text()


async def test_item9_a_copied_cookie_cannot_post_after_log_out(
    aiohttp_client, logged_in, settings, db, user
):
    thief = await aiohttp_client(create_app(settings))
    copied = cookie_header(logged_in)
    token = await csrf_token(logged_in, "/profile")  # the thief saw the form too
    await log_out(logged_in)
    thief.session.cookie_jar.clear()
    response = await thief.post(
        "/profile",
        data={"name": "Mallory", "email": user.email, "_csrf": token},
        headers=copied,
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"].startswith("/login")
    stored = await db.scalar(
        select(User.name).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert stored == "Ada Beekeeper"


async def session_count(db, user: User) -> int:
    return await db.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
    )


async def test_item9_log_out_everywhere_ends_another_browsers_session(
    aiohttp_client, logged_in, settings, db, user
):
    phone = await aiohttp_client(create_app(settings))
    await log_in(phone, user.email)
    someone_else = await aiohttp_client(create_app(settings))
    other = await make_user(db, name="Bea", email="bea@example.org")
    await log_in(someone_else, other.email)
    assert await session_count(db, user) == 2

    response = await log_out(logged_in, "/logout/everywhere")
    assert response.status == 303
    assert response.headers["Location"] == "/login?ended=everywhere"
    page = await (await logged_in.get(response.headers["Location"])).text()
    assert "You were logged out on every device." in page
    assert not await signed_in(logged_in)
    assert not await signed_in(phone)
    assert await session_count(db, user) == 0
    assert await signed_in(someone_else)  # another account's sessions are its own


async def test_item9_log_out_everywhere_needs_the_csrf_token(aiohttp_client, logged_in, settings):
    phone = await aiohttp_client(create_app(settings))
    await log_in(phone, "ada@example.org")
    response = await logged_in.post("/logout/everywhere", allow_redirects=False)
    assert response.status == 403
    assert await signed_in(logged_in)
    assert await signed_in(phone)


async def test_item9_the_profile_lists_the_sessions_and_marks_this_one(
    aiohttp_client, client, settings, user
):
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    phone = await aiohttp_client(create_app(settings), headers={"User-Agent": "Android Chrome/1"})
    await log_in(phone, user.email)
    client.session.headers["User-Agent"] = firefox
    await log_in(client, user.email)
    page = await (await client.get("/profile")).text()
    assert "Firefox on Linux <strong>(this browser)</strong>" in page
    assert "Chrome on Android<" in page
    assert 'action="/logout/everywhere" method="post"' in page


async def test_item9_a_password_change_kills_this_browsers_old_cookie_too(
    aiohttp_client, logged_in, settings
):
    thief = await aiohttp_client(create_app(settings))
    copied = cookie_header(logged_in)
    await change_password(logged_in)
    assert await signed_in(logged_in)  # this browser goes on, in a fresh session
    assert not await signed_in_with(thief, copied)


# --- item 9: a password change offers to revoke the API keys ------------------------------


async def live_api_key(db, user: User, name: str = "Scale") -> str:
    made = new_key()
    await key_queries.create_key(db, user.id, name=name, prefix=made.prefix, key_hash=made.hash)
    return made.key


async def api_answer(client, key: str) -> int:
    response = await client.get("/api/v1/hives", headers={"Authorization": f"Bearer {key}"})
    return response.status


async def test_item9_the_password_form_offers_to_revoke_the_live_keys(logged_in, db, user):
    page = await (await logged_in.get("/profile")).text()
    assert 'name="revoke_api_keys"' not in page  # no key, nothing to offer
    await live_api_key(db, user, "Scale")
    await live_api_key(db, user, "Thermometer")
    page = await (await logged_in.get("/profile")).text()
    assert 'name="revoke_api_keys"' in page
    assert "Also revoke my 2 API keys" in page


async def test_item9_password_change_with_the_box_ticked_revokes_the_api_keys(logged_in, db, user):
    keys = [await live_api_key(db, user, "Scale"), await live_api_key(db, user, "Thermometer")]
    assert [await api_answer(logged_in, key) for key in keys] == [200, 200]
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "revoke_api_keys": "true",
            "_csrf": token,
        },
        allow_redirects=False,
    )
    assert response.status == 303
    page = await (await logged_in.get(response.headers["Location"])).text()
    assert "Your password was changed." in page
    assert "Your 2 API keys were revoked too" in page
    assert [await api_answer(logged_in, key) for key in keys] == [401, 401]


async def test_item9_password_change_without_the_box_keeps_the_api_keys(logged_in, db, user):
    key = await live_api_key(db, user)
    response = await change_password(logged_in)
    assert response.status == 303
    page = await (await logged_in.get(response.headers["Location"])).text()
    assert "Your password was changed." in page
    assert "were revoked too" not in page
    assert "was revoked too" not in page
    assert await api_answer(logged_in, key) == 200


async def test_item9_a_wrong_current_password_revokes_no_key(logged_in, db, user):
    key = await live_api_key(db, user)
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(
        "/profile/password",
        data={
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
            "revoke_api_keys": "true",
            "_csrf": token,
        },
    )
    assert response.status == 422
    assert 'name="revoke_api_keys" value="true" checked' in await response.text()
    assert await api_answer(logged_in, key) == 200
