"""Sign up, log in, log out and the profile page (details, password, API keys)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import queries
from app.accounts.passwords import hash_password, verify_password
from app.accounts.schemas import ApiKeyForm, LogIn, PasswordChange, Profile, SignUp
from app.keys import metrics_key, settings_key, user_key
from app.models import User
from app.web import api, i18n, throttle
from app.web.auth import (
    device_name,
    login,
    login_required,
    logout,
    logout_everywhere,
    safe_next,
    sessions_of,
    this_session,
    user_of,
)
from app.web.database import db_session
from app.web.forms import Form, read_form
from app.web.htmx import htmx, redirect, render
from app.web.i18n import N_, _, translate
from app.web.paths import path_id

WRONG_CREDENTIALS = N_("That email and password do not match an account.")


def signup_page(request: web.Request, form: Form[SignUp], status: int = 200) -> web.Response:
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": safe_next(request.query.get("next"))},
        partial="partials/accounts/signup_form.html",
        status=status,
    )


def blank_form(page: Callable[[web.Request, Form[Any]], web.Response]) -> Handler:
    """The sign-up or log-in page with an empty form; a visitor who is logged in already goes
    on to where `next` points."""

    async def handler(request: web.Request) -> web.Response:
        if request.get(user_key) is not None:
            return redirect(request, safe_next(request.query.get("next")))
        return page(request, Form(values={}))

    return handler


signup_form = blank_form(signup_page)


async def signup(request: web.Request) -> web.Response:
    form = await read_form(request, SignUp)
    if form.data is not None:
        async with db_session(request) as db:
            try:
                user = await queries.create_user(
                    db,
                    name=form.data.name,
                    email=form.data.email,
                    password_hash=await hash_password(form.data.password),
                )
            except queries.EmailTaken:
                form.add_error("email", _("An account with this email already exists. Log in?"))
            else:
                await login(request, user)
                return redirect(request, safe_next(request.query.get("next")))
    form.values.pop("password", None)
    return signup_page(request, form, status=422)


ENDED_EVERYWHERE = N_("You were logged out on every device. Log in again to go on here.")


def login_page(
    request: web.Request, form: Form[LogIn], status: int = 200, *, message: str = ""
) -> web.Response:
    notice = translate(ENDED_EVERYWHERE) if request.query.get("ended") == "everywhere" else ""
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "message": message,
            "notice": notice,
            "next": safe_next(request.query.get("next")),
        },
        partial="partials/accounts/login_form.html",
        status=status,
    )


login_form = blank_form(login_page)


LOGIN_BY_ADDRESS = "login-address"
LOGIN_BY_ACCOUNT = "login-account"


def account_key(email: str) -> str:
    """The throttle's key for an account: its lower-cased email (a digest of one too long to
    keep, so that no typed text is refused by the key's column)."""
    email = email.lower()
    return email if len(email) <= 200 else "sha256:" + hashlib.sha256(email.encode()).hexdigest()


async def password_attempt_wait(request: web.Request, db: AsyncSession, email: str) -> int:
    """Count one password check, before it is made: first against the client's address (an IPv6
    client by its /64), then, if the address may still try, against the account. The seconds to
    wait when either is used up, else 0.

    Counting before checking is what makes the limit hold: twenty guesses sent at once are
    counted one after another, and the one past the limit is refused whether it is right or not.
    A refused address does not use up the account's allowance, so an attacker who is already
    held back cannot lock its owner out any further."""
    settings = request.app[settings_key]
    window = settings.login_window_seconds
    wait = await throttle.take(
        db,
        bucket=LOGIN_BY_ADDRESS,
        key=throttle.address_key(request.remote),
        limit=settings.login_max_failures_per_address,
        window_seconds=window,
    )
    if wait:
        return wait
    return await throttle.take(
        db,
        bucket=LOGIN_BY_ACCOUNT,
        key=account_key(email),
        limit=settings.login_max_failures_per_account,
        window_seconds=window,
    )


async def right_password_forgets_attempts(db: AsyncSession, email: str) -> None:
    """The account's owner is back: its count starts again (the address's does not)."""
    await throttle.forget(db, bucket=LOGIN_BY_ACCOUNT, key=account_key(email))


def minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


async def login_submit(request: web.Request) -> web.Response:
    form = await read_form(request, LogIn)
    form.values.pop("password", None)
    if form.data is None:
        return login_page(request, form, status=422)
    metrics = request.app[metrics_key]
    async with db_session(request) as db:
        if wait := await password_attempt_wait(request, db, form.data.email):
            response = login_page(
                request,
                form,
                status=429,
                message=_(
                    "Too many log-in attempts. Try again in %(minutes)s min.",
                    minutes=minutes(wait),
                ),
            )
            response.headers["Retry-After"] = str(wait)
            metrics.logins.labels("throttled").inc()
            return response
        user = await queries.user_by_email(db, form.data.email)
        if not await verify_password(
            user.password_hash if user is not None else None, form.data.password
        ):
            metrics.logins.labels("failure").inc()
            return login_page(request, form, status=422, message=translate(WRONG_CREDENTIALS))
        assert user is not None
        await right_password_forgets_attempts(db, form.data.email)
    await login(request, user)
    metrics.logins.labels("success").inc()
    return redirect(request, safe_next(request.query.get("next")))


async def logout_submit(request: web.Request) -> web.Response:
    """End this session on the server: a copy of its cookie is dead from now on."""
    await logout(request)
    return redirect(request, "/")


@login_required
async def logout_everywhere_submit(request: web.Request) -> web.Response:
    """End every session of the account, this one included: on a lost phone, a shared computer,
    wherever a cookie of it may be."""
    await logout_everywhere(request, user_of(request))
    return redirect(request, "/login?ended=everywhere")


async def profile_page(
    request: web.Request,
    form: Form[Profile],
    status: int = 200,
    *,
    key_form: Form[ApiKeyForm] | None = None,
    new_key: str | None = None,
    notice: str = "",
    password_form: Form[PasswordChange] | None = None,
    partial: str = "partials/accounts/profile_form.html",
) -> web.Response:
    """The profile page: details, password, then API keys; `partial` is the section htmx gets
    alone."""
    user = user_of(request)
    async with db_session(request) as db:
        hives = await queries.hive_count(db, user)
        keys = await queries.keys_of(db, user.id)
        sessions = await sessions_of(db, user.id)
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "hive_count": hives,
            "saved": request.query.get("saved") == "1",
            "api_keys": keys,
            "key_form": key_form or Form(values={}),
            "new_key": new_key,
            "key_notice": notice,
            "password_form": password_form or Form(values={}),
            "password_changed": request.query.get("password") == "changed",
            "revoked_key_count": revoked_key_count(request),
            "live_key_count": sum(1 for key in keys if key.revoked_at is None),
            "sessions": sessions,
            "this_session": this_session(request),
            "device_name": device_name,  # "Firefox on Linux" in the reader's words
        },
        partial=partial,
        status=status,
    )


def revoked_key_count(request: web.Request) -> int:
    """How many keys the password change just revoked, as its redirect says (for the notice)."""
    said = request.query.get("revoked", "")
    return int(said) if said.isdigit() and len(said) <= 6 else 0


def details_of(user: User) -> Form[Profile]:
    return Form(values={"name": user.name, "email": user.email})


@login_required
async def profile(request: web.Request) -> web.Response:
    return await profile_page(request, details_of(user_of(request)))


@login_required
async def profile_update(request: web.Request) -> web.Response:
    user = user_of(request)
    form = await read_form(request, Profile)
    if form.data is not None:
        async with db_session(request) as db:
            try:
                await queries.update_profile(db, user, name=form.data.name, email=form.data.email)
            except queries.EmailTaken:
                form.add_error("email", _("Another account already uses this email."))
            else:
                return redirect(request, "/profile?saved=1")
    return await profile_page(request, form, status=422)


PASSWORD_PARTIAL = "partials/accounts/password_form.html"  # noqa: S105 - a template name


@login_required
async def password_change(request: web.Request) -> web.Response:
    """A new password, given the current one. It ends every session of the account (a thief's
    included); this browser goes on in a fresh one. With the box ticked, it also revokes every
    API key (a thief may have made one). Current passwords count against the log-in limits, so
    a borrowed session cannot guess its way to the account."""
    user = user_of(request)
    form = await read_form(request, PasswordChange)
    if form.data is None:
        return await profile_page(
            request, details_of(user), 422, password_form=form, partial=PASSWORD_PARTIAL
        )
    async with db_session(request) as db:
        if wait := await password_attempt_wait(request, db, user.email):
            form.add_error(
                "current_password",
                _("Too many wrong passwords. Try in %(minutes)s min.", minutes=minutes(wait)),
            )
            response = await profile_page(
                request, details_of(user), 429, password_form=form, partial=PASSWORD_PARTIAL
            )
            response.headers["Retry-After"] = str(wait)
            return response
        if not await verify_password(user.password_hash, form.data.current_password):
            form.add_error("current_password", _("That is not your current password."))
            return await profile_page(
                request, details_of(user), 422, password_form=form, partial=PASSWORD_PARTIAL
            )
        await right_password_forgets_attempts(db, user.email)
        changed, revoked = await queries.change_password(
            db,
            user,
            password_hash=await hash_password(form.data.new_password),
            revoke_api_keys=form.data.revoke_api_keys,
        )
    await login(request, changed)
    said = f"&revoked={revoked}" if revoked else ""
    return redirect(request, f"/profile?password=changed{said}#password")


API_KEYS_PARTIAL = "partials/accounts/api_keys.html"


@login_required
async def api_key_create(request: web.Request) -> web.Response:
    """Make a key and show it in this response, once: it is never stored or shown again."""
    user = user_of(request)
    form = await read_form(request, ApiKeyForm)
    if form.data is None:
        return await profile_page(
            request, details_of(user), 422, key_form=form, partial=API_KEYS_PARTIAL
        )
    made = api.new_key()
    async with db_session(request) as db:
        await queries.create_key(
            db, user.id, name=form.data.key_name, prefix=made.prefix, key_hash=made.hash
        )
    response = await profile_page(
        request, details_of(user), 201, new_key=made.key, partial=API_KEYS_PARTIAL
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@login_required
async def api_key_revoke(request: web.Request) -> web.Response:
    user = user_of(request)
    async with db_session(request) as db:
        if not await queries.revoke_key(db, user.id, path_id(request)):
            raise web.HTTPNotFound()
    if htmx(request).wants_fragment:
        return await profile_page(
            request, details_of(user), notice=_("The key was revoked."), partial=API_KEYS_PARTIAL
        )
    return redirect(request, "/profile#api-keys")


@login_required
async def api_keys_page(request: web.Request) -> web.Response:
    """The keys live on the profile page (a reload after creating a key lands here)."""
    return redirect(request, "/profile#api-keys")


async def language_choose(request: web.Request) -> web.Response:
    """The language chosen in the footer or on the profile page: kept in a cookie (for visitors
    without an account too) and, when signed in, for the account on every device."""
    posted = await request.post()
    chosen = posted.get("language")
    if not isinstance(chosen, str) or chosen not in i18n.LANGUAGES:
        # The reason is English (the status line); the error page shows it translated.
        raise web.HTTPUnprocessableEntity(reason=N_("Choose one of the languages offered."))
    if (user := request.get(user_key)) is not None:
        async with db_session(request) as db:
            await queries.choose_language(db, user.id, chosen)
    next_path = posted.get("next")
    response = redirect(request, safe_next(next_path if isinstance(next_path, str) else None))
    response.set_cookie(
        i18n.COOKIE,
        chosen,
        max_age=i18n.COOKIE_MAX_AGE,
        path="/",
        secure=request.app[settings_key].cookie_secure,
        httponly=True,
        samesite="Lax",
    )
    return response
