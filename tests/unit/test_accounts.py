"""Sign up, log in, log out, profile: the forms, their errors, and who may see what."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from ipaddress import ip_network

from sqlalchemy import select

from app.main import create_app
from app.models import User
from app.web import i18n
from app.web.auth import device_name
from tests.unit.conftest import PASSWORD, csrf_token, log_in, make_user

SIGNUP = {"name": "Ada Beekeeper", "email": "Ada@Example.org", "password": PASSWORD}


async def signup(client, **fields: str):
    data = {**SIGNUP, **fields, "_csrf": await csrf_token(client, "/signup")}
    return await client.post("/signup", data=data, allow_redirects=False)


async def users(db) -> list[User]:
    return list((await db.scalars(select(User).order_by(User.id))).all())


async def test_sign_up_creates_the_account_and_logs_in(client, db):
    response = await signup(client)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    home = await (await client.get("/")).text()
    assert "Hello, Ada Beekeeper" in home
    [user] = await users(db)
    assert user.email == "ada@example.org"
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in user.password_hash


async def test_sign_up_with_bad_fields_rerenders_the_form_with_messages(client, db):
    response = await signup(client, name="  ", email="not-an-email", password="short")
    body = await response.text()
    assert response.status == 422
    assert body.startswith("<!doctype html>")
    assert 'id="name-error"' in body
    assert "Enter an email address such as name@example.org." in body
    assert "Use at least 12 characters." in body
    assert '<a href="#email">Email: Enter an email address such as name@example.org.</a>' in body
    assert 'value="not-an-email"' in body  # what was typed is kept...
    assert "short" not in body  # ...but never the password
    assert await users(db) == []


async def test_sign_up_errors_for_htmx_are_the_form_fragment(client):
    token = await csrf_token(client, "/signup")
    response = await client.post(
        "/signup",
        data={"name": "Ada", "email": "", "password": PASSWORD, "_csrf": token},
        headers={"HX-Request": "true"},
    )
    body = await response.text()
    assert response.status == 422
    assert body.lstrip().startswith('<form id="signup-form"')
    assert 'aria-invalid="true"' in body
    assert "<html" not in body


async def test_sign_up_in_place_success_sends_htmx_to_the_home_page(client):
    token = await csrf_token(client, "/signup")
    response = await client.post(
        "/signup", data={**SIGNUP, "_csrf": token}, headers={"HX-Request": "true"}
    )
    assert response.status == 204
    assert response.headers["HX-Redirect"] == "/"


async def test_an_email_is_taken_whatever_its_case(client, db):
    await make_user(db, email="ada@example.org")
    response = await signup(client, email="ADA@example.ORG")
    assert response.status == 422
    assert "An account with this email already exists." in await response.text()
    assert len(await users(db)) == 1


async def test_sign_up_returns_to_where_the_visitor_was_going(client):
    token = await csrf_token(client, "/signup?next=/profile")
    response = await client.post(
        "/signup?next=/profile", data={**SIGNUP, "_csrf": token}, allow_redirects=False
    )
    assert response.headers["Location"] == "/profile"


async def test_log_in_and_out(client, user):
    await log_in(client, "ADA@example.org")
    assert "Hello, Ada Beekeeper" in await (await client.get("/")).text()
    token = await csrf_token(client, "/profile")
    response = await client.post("/logout", data={"_csrf": token}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/")
    assert "Beekeeping for the city" in await (await client.get("/")).text()


async def test_logging_in_starts_a_new_session_with_a_new_csrf_token(client, user):
    before = await csrf_token(client)
    cookie_before = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    await log_in(client)
    after = await csrf_token(client, "/profile")
    cookie_after = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    assert before != after
    # A visitor's form has a stateless token and no session; logging in starts one.
    assert "cityhive_session" not in cookie_before
    assert cookie_after["cityhive_session"].value


async def test_wrong_password_and_unknown_email_get_the_same_message(client, user):
    token = await csrf_token(client)
    answers = []
    for email, password in [("ada@example.org", "wrong password!"), ("bob@example.org", PASSWORD)]:
        response = await client.post(
            "/login", data={"email": email, "password": password, "_csrf": token}
        )
        answers.append((response.status, await response.text()))
    for status, body in answers:
        assert status == 422
        assert "That email and password do not match an account." in body
        assert "Hello," not in body
    assert 'value="ada@example.org"' in answers[0][1]


async def test_log_in_goes_back_to_the_page_asked_for_but_never_off_site(client, user):
    token = await csrf_token(client)
    data = {"email": user.email, "password": PASSWORD, "_csrf": token}
    response = await client.post("/login?next=/profile", data=data, allow_redirects=False)
    assert response.headers["Location"] == "/profile"
    await client.post("/logout", data={"_csrf": await csrf_token(client, "/profile")})
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        token = await csrf_token(client)
        data["_csrf"] = token
        response = await client.post(
            "/login", params={"next": hostile}, data=data, allow_redirects=False
        )
        assert response.headers["Location"] == "/"
        await client.post("/logout", data={"_csrf": await csrf_token(client, "/profile")})


async def test_log_in_page_when_logged_in_goes_home(logged_in):
    for path in ("/login", "/signup"):
        response = await logged_in.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/")


async def test_profile_needs_a_log_in_and_comes_back_after_it(client):
    response = await client.get("/profile", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/profile"
    login_page = await (await client.get(response.headers["Location"])).text()
    assert 'action="/login?next=/profile"' in login_page


async def test_profile_for_htmx_without_a_session_redirects_the_whole_page(client):
    response = await client.get("/profile", headers={"HX-Request": "true"})
    assert response.status == 401
    assert response.headers["HX-Redirect"] == "/login?next=/profile"


async def test_profile_shows_and_saves_the_users_details(logged_in, db, user):
    page = await (await logged_in.get("/profile")).text()
    assert 'value="Ada Beekeeper"' in page
    assert 'value="ada@example.org"' in page
    token = await csrf_token(logged_in, "/profile")
    response = await logged_in.post(
        "/profile",
        data={"name": "Ada L.", "email": "ada.l@example.org", "_csrf": token},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/profile?saved=1"
    assert "Your profile was saved." in await (await logged_in.get("/profile?saved=1")).text()
    await db.refresh(user)
    assert (user.name, user.email) == ("Ada L.", "ada.l@example.org")


async def test_profile_refuses_bad_or_taken_details_and_changes_nothing(logged_in, db, user):
    await make_user(db, name="Bob", email="bob@example.org")
    token = await csrf_token(logged_in, "/profile")
    taken = await logged_in.post(
        "/profile", data={"name": "Ada", "email": "BOB@example.org", "_csrf": token}
    )
    assert taken.status == 422
    assert "Another account already uses this email." in await taken.text()
    invalid = await logged_in.post("/profile", data={"name": "", "email": "x", "_csrf": token})
    assert invalid.status == 422
    body = await invalid.text()
    assert 'id="name-error"' in body
    assert 'id="email-error"' in body
    await db.refresh(user)
    assert (user.name, user.email) == ("Ada Beekeeper", "ada@example.org")


async def test_missing_fields_say_they_are_required(client):
    token = await csrf_token(client, "/signup")
    response = await client.post("/signup", data={"_csrf": token})
    assert response.status == 422
    assert (await response.text()).count("This field is required.") >= 3


# --- item 10: the log-in limits hold under concurrency, IPv6 by /64 -----------------------


async def log_in_with(client, email: str, password: str, token: str, **headers: str):
    return await client.post(
        "/login",
        data={"email": email, "password": password, "_csrf": token},
        headers=headers,
        allow_redirects=False,
    )


async def test_item10_twenty_concurrent_wrong_passwords_check_only_the_accounts_limit(
    aiohttp_client, settings, user
):
    # A generous address limit, so that the account's is the one that holds.
    roomy = settings.model_copy(update={"login_max_failures_per_address": 100})
    client = await aiohttp_client(create_app(roomy))
    token = await csrf_token(client)
    answers = await asyncio.gather(
        *(log_in_with(client, user.email, f"guess number {n}", token) for n in range(20))
    )
    statuses = sorted(answer.status for answer in answers)
    allowed = settings.login_max_failures_per_account
    assert statuses == [422] * allowed + [429] * (20 - allowed)
    for answer in answers:
        if answer.status == 429:
            assert 0 < int(answer.headers["Retry-After"]) <= settings.login_window_seconds
            assert "Too many log-in attempts" in await answer.text()


async def test_item10_the_right_password_past_the_limit_gets_429_not_in(
    aiohttp_client, settings, user
):
    roomy = settings.model_copy(update={"login_max_failures_per_address": 100})
    client = await aiohttp_client(create_app(roomy))
    token = await csrf_token(client)
    await asyncio.gather(
        *(log_in_with(client, user.email, f"guess number {n}", token) for n in range(20))
    )
    right = await log_in_with(client, user.email, PASSWORD, token)
    assert right.status == 429
    assert int(right.headers["Retry-After"]) > 0
    assert "Hello, Ada Beekeeper" not in await (await client.get("/")).text()


async def test_item10_the_right_password_sent_with_the_guesses_is_counted_too(
    aiohttp_client, settings, user
):
    """Twenty at once, one of them right: at most the limit's worth are checked, so the right
    one gets in only if it is among them. Its success starts the account's count again (the
    owner is back), so the guesses counted after it get a fresh allowance of their own."""
    roomy = settings.model_copy(update={"login_max_failures_per_address": 100})
    client = await aiohttp_client(create_app(roomy))
    token = await csrf_token(client)
    passwords = [f"guess number {n}" for n in range(19)] + [PASSWORD]
    answers = await asyncio.gather(
        *(log_in_with(client, user.email, password, token) for password in passwords)
    )
    statuses = [answer.status for answer in answers]
    limit = settings.login_max_failures_per_account
    assert set(statuses) <= {422, 303, 429}
    if 303 in statuses:
        assert statuses.count(422) <= (limit - 1) + limit
    else:
        assert statuses.count(422) <= limit


# What a browser says of a form posted from our own page: a visitor's token is then good from
# any address (app/web/csrf.py), as these posts come from many.
OUR_PAGE = {"Sec-Fetch-Site": "same-origin"}


async def test_item10_addresses_in_one_ipv6_64_share_one_allowance(aiohttp_client, settings, db):
    proxied = settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.0/8")]})
    client = await aiohttp_client(create_app(proxied))
    token = await csrf_token(client)
    answers = await asyncio.gather(
        *(
            # A different account each time, so that only the address limit can refuse.
            log_in_with(
                client,
                f"victim{n}@example.org",
                "a guess",
                token,
                **{"X-Forwarded-For": f"2001:db8:1:2:{n:x}::{n + 1:x}", **OUR_PAGE},
            )
            for n in range(25)
        )
    )
    statuses = sorted(answer.status for answer in answers)
    allowed = settings.login_max_failures_per_address
    assert statuses == [422] * allowed + [429] * (25 - allowed)
    next_door = await log_in_with(
        client,
        "victim@example.org",
        "a guess",
        token,
        **{"X-Forwarded-For": "2001:db8:1:3::1", **OUR_PAGE},
    )
    assert next_door.status == 422  # another /64 is another network


async def test_item10_concurrent_guesses_of_the_current_password_check_only_the_limit(
    logged_in, settings, db, user
):
    token = await csrf_token(logged_in, "/profile")
    answers = await asyncio.gather(
        *(
            logged_in.post(
                "/profile/password",
                data={
                    "current_password": f"guess number {n}",
                    "new_password": "a brand new passphrase",
                    "_csrf": token,
                },
            )
            for n in range(20)
        )
    )
    statuses = sorted(answer.status for answer in answers)
    allowed = settings.login_max_failures_per_account
    assert statuses == [422] * allowed + [429] * (20 - allowed)


# --- in German and in French ------------------------------------------------------------------

NBSP = "\u00a0"  # French sets a no-break space before : ? ! and inside « »


def speak(client, language: str) -> None:
    """The reader's language, as the chooser in the footer leaves it."""
    client.session.cookie_jar.update_cookies({"cityhive_lang": language})


async def test_the_sign_up_page_and_its_mistakes_in_german_and_french(client, db):
    speak(client, "de")
    page = await (await client.get("/signup")).text()
    assert '<html lang="de">' in page
    assert "<title>Registrieren · CityHive</title>" in page
    assert "<h1>Erstellen Sie Ihr CityHive-Konto</h1>" in page
    assert '<label for="name">Ihr Name</label>' in page
    assert "Mindestens 12 Zeichen." in page
    assert ">Konto erstellen</button>" in page
    assert ">Anmelden</a>" in page  # the shell: navigation and the way to log in
    assert "Create your CityHive account" not in page

    response = await signup(client, name="  ", email="not-an-email", password="short")
    body = await response.text()
    assert response.status == 422
    assert response.headers["Content-Language"] == "de"
    assert "Bitte korrigieren Sie diese Felder:" in body  # three of them
    assert '<a href="#name">Ihr Name: Dieses Feld muss ausgefüllt werden.</a>' in body
    assert (
        '<a href="#email">E-Mail: Geben Sie eine E-Mail-Adresse wie name@example.org ein.</a>'
        in body
    )
    assert '<p class="error" id="password-error">Verwenden Sie mindestens 12 Zeichen.</p>' in body

    speak(client, "fr")
    page = await (await client.get("/signup")).text()
    assert '<html lang="fr">' in page
    assert "<h1>Créez votre compte CityHive</h1>" in page
    assert '<label for="password">Mot de passe</label>' in page
    response = await signup(client, password="short")  # one mistake: the singular
    body = await response.text()
    assert response.status == 422
    assert f"Veuillez corriger ce champ{NBSP}:" in body
    assert f'<a href="#password">Mot de passe{NBSP}: Utilisez au moins 12 caractères.</a>' in body
    await make_user(db, email="bob@example.org")
    taken = await (await signup(client, email="bob@example.org")).text()
    assert "Un compte existe déjà avec cette adresse e-mail." in taken
    assert [someone.email for someone in await users(db)] == ["bob@example.org"]


async def test_the_profile_page_in_german_and_french(logged_in, db, user):
    user.created_at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    await db.commit()
    token = await csrf_token(logged_in, "/profile")
    created = await logged_in.post("/profile/api-keys", data={"key_name": "Waage", "_csrf": token})
    assert created.status == 201

    speak(logged_in, "de")
    page = await (await logged_in.get("/profile")).text()
    assert '<html lang="de">' in page
    assert "<h1>Ihr Profil</h1>" in page
    assert "<dt>Mitglied seit</dt><dd>26. November 2026</dd>" in page
    assert '<label for="current_password">Aktuelles Passwort</label>' in page
    assert '<h2 id="api-keys-title">API-Schlüssel</h2>' in page
    assert '<a href="/api">die CityHive-API</a> in Ihrem Namen nutzen.' in page
    assert ">Nie</td>" in page  # the key was never used
    assert "Auch meinen API-Schlüssel widerrufen" in page
    assert 'aria-label="Schlüssel Waage widerrufen"' in page
    assert 'hx-confirm="Auf allen Geräten abmelden, auch auf diesem?"' in page
    assert "<strong>(dieser Browser)</strong>" in page
    assert ">Abmelden</button>" in page

    speak(logged_in, "fr")
    page = await (await logged_in.get("/profile")).text()
    assert "<h1>Votre profil</h1>" in page
    assert "<dt>Membre depuis</dt><dd>26 novembre 2026</dd>" in page
    assert ">Jamais</td>" in page
    assert f'hx-confirm="Révoquer la clé «{NBSP}Waage{NBSP}»{NBSP}?' in page
    wrong = await logged_in.post(
        "/profile/password",
        data={"current_password": "not my password", "new_password": PASSWORD, "_csrf": token},
    )
    assert wrong.status == 422
    assert "Ce n&#39;est pas votre mot de passe actuel." in await wrong.text()  # escaped


async def test_a_sessions_browser_is_named_in_the_readers_words():
    i18n.use("de")
    assert device_name("Firefox on Linux") == "Firefox unter Linux"
    assert device_name("Unknown browser") == "Unbekannter Browser"
    assert device_name("curl/8.5.0") == "curl/8.5.0"  # what could not be named stays as it is
    i18n.use("fr")
    assert device_name("Safari on iPhone") == "Safari sous iPhone"
    i18n.use("en")
    assert device_name("Firefox on Linux") == "Firefox on Linux"


async def test_error_pages_in_german_and_french_and_problems_in_english(client):
    speak(client, "de")
    missing = await client.get("/no-such-page")
    page = await missing.text()
    assert missing.status == 404
    assert missing.headers["Content-Language"] == "de"
    assert "<title>Seite nicht gefunden · CityHive</title>" in page
    assert '<p class="status-code">Fehler 404</p>' in page
    assert ">Zurück zur Startseite</a>" in page

    # Refused before the language is asked for a page: the error page asks for it again.
    speak(client, "fr")
    refused = await client.post("/signup", data={"name": "Ada"})
    page = await refused.text()
    assert refused.status == 403
    assert refused.headers["Content-Language"] == "fr"
    assert '<h1 id="error-title">Non autorisé</h1>' in page
    assert "Ce formulaire a expiré. Rechargez la page et réessayez." in page

    problem = await client.get("/api/v1/nothing-here")  # for programs: English
    assert (await problem.json())["title"] == "Not Found"
    assert problem.headers["Content-Language"] == "en"

    client.session.cookie_jar.clear()
    header = await client.get("/no-such-page", headers={"Accept-Language": "de-DE"})
    assert "Seite nicht gefunden" in await header.text()
    assert "Accept-Language" in header.headers["Vary"]
