"""Whose phone is it now: the user tag that ties saved pages and outbox records to one account.

A phone keeps pages (the service worker's page cache) and records written offline (the outbox)
after the session that made them has ended: by expiry, by a cleared cookie, by another person
logging in. So each is stored with an opaque tag of its user, and is shown or sent only while
that same user is the one signed in:

- every response says whose it is in the `CityHive-User` header, and every page in the shell's
  `data-user` (empty for nobody). The tag is an HMAC of the user id under SECRET_KEY: stable
  across sessions, so a record waits for its writer's next log-in, and not guessable, so nobody
  can forge another account's tag;
- the browser keeps the tag of the session in a companion cookie (`cityhive_user`). It is not
  HttpOnly, because the worker must read it *offline*, when no response can tell it that the
  session has ended; and it is written whenever the session cookie is, with the lifetime the
  server gives the session (idle and absolute limits included), so a session that ends in the
  browser, for any reason, takes its tag with it;
- a record sent by the outbox (`CityHive-Sync: outbox`) says whose it is in `CityHive-User`, and
  is refused (409, nothing stored) unless that is the session's user: a record is only ever
  stored under the account that wrote it, whatever the page or the worker got wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import SESSION_KEY, Session

from app.keys import settings_key, user_key
from app.models import User
from app.settings import Settings
from app.web import auth
from app.web.i18n import N_
from app.web.idempotency import SYNC_HEADER

HEADER = "CityHive-User"
# Which version of the user's apiary memberships an answer was made under: a page saved under an
# older one may show an apiary they are no longer in, so the service worker forgets it.
ACCESS_HEADER = "CityHive-Access"
COOKIE = "cityhive_user"
TAG_BYTES = 16
# Reasons: English in the status line; the error page shows them translated (app/web/errors.py).
NOT_YOURS = N_(
    "This record was saved on this phone by another account, so it was not stored. "
    "Log in as that account to send it."
)
LOG_IN_FIRST = N_("Log in to send the records saved on this phone.")


def user_tag(settings: Settings, user_id: int | None) -> str:
    """The user's tag: 22 URL-safe characters, the same in every session; "" for nobody."""
    if user_id is None:
        return ""
    assert settings.secret_key is not None
    key = hashlib.sha256(b"cityhive-user-tag:" + settings.secret_key.get_secret_value().encode())
    digest = hmac.new(key.digest(), str(user_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TAG_BYTES]).rstrip(b"=").decode()


def request_user_tag(request: web.Request) -> str:
    """The tag of the user this request is answered for (templates: `user_tag(request)`)."""
    user: User | None = request.get(user_key)
    return user_tag(request.app[settings_key], user.id if user is not None else None)


def cookie_name(settings: Settings) -> str:
    """With Secure cookies, the `__Host-` prefix, as the session cookie (see app/main.py)."""
    return f"__Host-{COOKIE}" if settings.cookie_secure else COOKIE


def session_seconds_left(settings: Settings, session: Session) -> int:
    """How long the server will still accept this session if it is not used again."""
    now = int(auth.clock())
    signed_in = int(session.get(auth.SIGNED_IN_AT, now))
    seen = int(session.get(auth.SEEN_AT, signed_in))
    return max(
        0,
        min(
            settings.session_max_age,
            settings.session_idle_seconds - (now - seen),
            settings.session_absolute_seconds - (now - signed_in),
        ),
    )


def refuse_other_users_record(request: web.Request) -> None:
    """An outbox replay must be the signed-in user's own record (see the module's docstring)."""
    if request.method != "POST" or request.headers.get(SYNC_HEADER) != "outbox":
        return
    written_by = request.headers.get(HEADER, "")
    signed_in = request_user_tag(request)
    if hmac.compare_digest(written_by.encode(), signed_in.encode()):
        return
    if not signed_in:
        raise web.HTTPUnauthorized(reason=LOG_IN_FIRST)
    raise web.HTTPConflict(reason=NOT_YOURS)


def keep_companion_cookie(
    request: web.Request, response: web.StreamResponse, tag: str, settings: Settings
) -> None:
    """Write the tag cookie with the session cookie, and mend it when it says someone else.

    A public answer (one any cache may keep) sets no cookie at all."""
    if "public" in response.headers.get("Cache-Control", ""):
        return
    session: Session | None = request.get(SESSION_KEY)
    name = cookie_name(settings)
    held = request.cookies.get(name, "")
    if session is None:
        return
    if not tag:
        if held:
            response.del_cookie(name, path="/", secure=settings.cookie_secure, samesite="Lax")
        return
    if held == tag and not session._changed:  # aiohttp_session has no public getter
        return
    session.changed()  # the session cookie is written again now, so both end at the same time
    response.set_cookie(
        name,
        tag,
        max_age=session_seconds_left(settings, session),
        path="/",
        secure=settings.cookie_secure,
        httponly=False,  # read by the service worker and the page: see the module's docstring
        samesite="Lax",
    )


@web.middleware
async def user_tag_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Innermost, after the current user is known: refuse another user's record; say whose
    each answer is, and keep the tag cookie in step with the session."""
    settings = request.app[settings_key]
    refuse_other_users_record(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        tag = request_user_tag(request)
        exc.headers[HEADER] = tag
        exc.headers[ACCESS_HEADER] = access_version(request)
        keep_companion_cookie(request, exc, tag, settings)
        raise
    tag = request_user_tag(request)
    response.headers[HEADER] = tag
    response.headers[ACCESS_HEADER] = access_version(request)
    keep_companion_cookie(request, response, tag, settings)
    return response


def access_version(request: web.Request) -> str:
    """The signed-in user's access version ("" for nobody)."""
    user: User | None = request.get(user_key)
    return str(user.access_version) if user is not None else ""
