"""Who is signed in: the cookie names a session the server keeps; the middleware loads its user.

A session is a row in `user_sessions`, found by the SHA-256 of a random 256-bit token that only
the (encrypted) cookie carries. The row is what makes the cookie worth anything: log-out deletes
it, so a copy of the cookie taken before is dead afterwards; "log out everywhere" and a password
change delete all of the user's rows. `login()` starts a fresh session (a new token, a new cookie,
a new CSRF token) so that no token or identity from before the log-in survives it.

A session also ends by itself: after SESSION_IDLE_SECONDS without a request and after
SESSION_ABSOLUTE_SECONDS whatever happens. The row's times decide; the cookie keeps a copy of
them only so that the browser forgets it when the server would (see app/pwa/owner.py).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session, get_session, new_session
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import (
    csrf_token_key,
    session_token_hash_key,
    settings_key,
    user_key,
)
from app.models import (
    CHANGING_ROLES,
    READING_ROLES,
    Apiary,
    ApiaryRole,
    Hive,
    User,
    UserSession,
    apiary_roles,
)
from app.settings import Settings
from app.web.api import Problem, api_owner
from app.web.csrf import anonymous_token, new_token
from app.web.database import db_session
from app.web.htmx import htmx
from app.web.i18n import N_, _, translate
from app.web.paths import MAX_ID, path_id

SESSION_ID = "sid"
SIGNED_IN_AT = "signed_in_at"
SEEN_AT = "seen_at"
# Last-seen moves on at most this often, so neither the row nor the cookie is written on every
# request.
SEEN_EVERY_SECONDS = 60

# The time source of session expiry; tests replace it with a clock they move.
clock = time.time


def token_hash(token: str) -> str:
    """What the server keeps of a session's token: a database reader cannot use it as a cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@web.middleware
async def current_user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    session = await get_session(request)
    user = None
    if (token := session.get(SESSION_ID)) is not None:
        user = await user_of_session(request, session, str(token))
        if user is None:  # logged out, expired, ended elsewhere, or the account is gone
            end_session(request, session)
    request[user_key] = user
    return await handler(request)


async def user_of_session(request: web.Request, session: Session, token: str) -> User | None:
    """The user of a live session, in one query; an expired session's row is deleted."""
    now = clock()
    settings = request.app[settings_key]
    async with db_session(request, autocommit=True) as db:
        found = (
            await db.execute(
                select(User, UserSession)
                .join(UserSession, UserSession.user_id == User.id)
                .where(UserSession.token_hash == token_hash(token))
            )
        ).first()
        if found is None:
            return None
        user, row = found
        if session_expired(row, now, settings):
            await db.execute(delete(UserSession).where(UserSession.token_hash == row.token_hash))
            await db.commit()
            return None
        if now - row.seen_at.timestamp() >= SEEN_EVERY_SECONDS:
            await db.execute(
                update(UserSession)
                .where(UserSession.token_hash == row.token_hash)
                .values(seen_at=at(now))
            )
            await db.commit()
            session[SEEN_AT] = int(now)
    request[session_token_hash_key] = row.token_hash
    return user


def session_expired(row: UserSession, now: float, settings: Settings) -> bool:
    return (
        now - row.signed_in_at.timestamp() > settings.session_absolute_seconds
        or now - row.seen_at.timestamp() > settings.session_idle_seconds
    )


def end_session(request: web.Request, session: Session) -> None:
    """Forget who this was, in the browser (the emptied session deletes its cookie). Pages
    rendered from here on post with a stateless CSRF token, as any visitor without a session
    does (app/web/csrf.py), so the log-in form they lead to works."""
    session.invalidate()
    if csrf_token_key in request:
        request[csrf_token_key] = anonymous_token(request)


async def login(request: web.Request, user: User) -> None:
    """A new session for `user`: a new row, a new cookie, a new CSRF token. The user's sessions
    that have expired are swept away on the way."""
    session = await new_session(request)
    token = secrets.token_urlsafe(32)  # 256 bits
    now = clock()
    settings = request.app[settings_key]
    async with db_session(request) as db:
        await db.execute(
            delete(UserSession).where(
                UserSession.user_id == user.id,
                (UserSession.signed_in_at < at(now - settings.session_absolute_seconds))
                | (UserSession.seen_at < at(now - settings.session_idle_seconds)),
            )
        )
        db.add(
            UserSession(
                token_hash=token_hash(token),
                user_id=user.id,
                signed_in_at=at(now),
                seen_at=at(now),
                device=device_of(request.headers.get("User-Agent", "")),
            )
        )
        await db.commit()
    session[SESSION_ID] = token
    session[SIGNED_IN_AT] = session[SEEN_AT] = int(now)
    request[csrf_token_key] = new_token(session)
    request[session_token_hash_key] = token_hash(token)
    request[user_key] = user


async def logout(request: web.Request) -> None:
    """End this session: its row first (so every copy of the cookie is dead), then the cookie."""
    session = await get_session(request)
    if (token := session.get(SESSION_ID)) is not None:
        async with db_session(request) as db:
            await db.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))
            await db.commit()
    session.invalidate()
    request[csrf_token_key] = anonymous_token(request)
    request[user_key] = None


async def logout_everywhere(request: web.Request, user: User) -> None:
    """End every session of `user`, this one included, on every device."""
    async with db_session(request) as db:
        await end_sessions_of(db, user.id)
        await db.commit()
    (await get_session(request)).invalidate()
    request[csrf_token_key] = anonymous_token(request)
    request[user_key] = None


async def end_sessions_of(db: AsyncSession, user_id: int) -> None:
    """Delete all of a user's sessions (in the caller's transaction, so a password change and
    the end of its sessions are one)."""
    await db.execute(delete(UserSession).where(UserSession.user_id == user_id))


async def sessions_of(db: AsyncSession, user_id: int) -> list[UserSession]:
    """The user's sessions, the most recently used first."""
    rows = await db.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.seen_at.desc(), UserSession.signed_in_at.desc())
    )
    return list(rows)


def this_session(request: web.Request) -> str | None:
    """The token hash of the request's session (to mark "this browser" in the list)."""
    return request.get(session_token_hash_key)


BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
PRINTABLE = re.compile(r"[^\x20-\x7e]")
UNKNOWN_DEVICE = N_("Unknown browser")


def device_of(user_agent: str) -> str:
    """A person's name for the browser ("Firefox on Linux"), to tell sessions apart in a list."""
    browser = next((name for token, name in BROWSERS if token in user_agent), None)
    system = next((name for token, name in SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system or ""
    return PRINTABLE.sub("", user_agent)[:60] or UNKNOWN_DEVICE


def device_name(device: str) -> str:
    """A session's device as device_of() kept it (in English, the same for every reader), in
    the reader's words: "Firefox unter Linux". What it could not name is shown as it is."""
    if device == UNKNOWN_DEVICE:
        return translate(UNKNOWN_DEVICE)
    browser, separator, system = device.partition(" on ")
    if separator and browser in dict(BROWSERS).values() and system in dict(SYSTEMS).values():
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return device


MAX_NEXT_LENGTH = 2000  # longer is no page of ours, and would swell the Location header


def safe_next(target: object, default: str = "/") -> str:
    """Where to go after log-in or an in-place action: a path on this site, else `default`.

    The target is parsed as a browser reads it, not pattern-matched. Browsers drop tabs and
    line breaks anywhere in a URL and read a backslash as a slash, so `/<TAB>/evil.example` and
    `/<BACKSLASH>evil.example` both mean `//evil.example`: another site. So a target holding
    anything but printable ASCII (control characters, whitespace, look-alikes such as the
    fullwidth slash U+FF0F) or a backslash is refused outright. The rest must parse with no
    scheme and no host, as a path that starts with one slash, and not with two once its
    percent escapes are decoded, so that no later reader can make `/%2F/evil.example` another
    site either. What comes back is safe in a Location header: it never holds CR or LF, which
    would make the server drop the connection.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT_LENGTH:
        return default
    if not all(" " < character < "\x7f" for character in target) or "\\" in target:
        return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    decoded = "".join(c for c in unquote(target) if c not in "\t\r\n").replace("\\", "/")
    if decoded.startswith("//"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def login_url(request: web.Request) -> str:
    """The log-in page, coming back to this page (or home, from a form post) afterwards."""
    back = request.path_qs if request.method == "GET" else "/"
    if len(back) > MAX_NEXT_LENGTH:  # safe_next would refuse it, after a Location too large
        back = "/"
    return "/login?" + urlencode({"next": back}, safe="/")


def login_required(
    view: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Send anonymous visitors to the log-in page, which brings them back here afterwards."""

    @functools.wraps(view)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if request.get(user_key) is None:
            raise must_log_in(request)
        return await view(request)

    return wrapper


def must_log_in(request: web.Request) -> web.HTTPException:
    """The answer to an anonymous visitor of a signed-in page: the log-in page (which brings them
    back); to htmx, which cannot follow a redirect into a whole page, 401 with HX-Redirect."""
    if htmx(request).request and not htmx(request).boosted:
        return web.HTTPUnauthorized(headers={"HX-Redirect": login_url(request)})
    return web.HTTPSeeOther(login_url(request))


def user_of(request: web.Request) -> User:
    """The signed-in user, in a view behind @login_required."""
    user = request[user_key]
    assert isinstance(user, User)
    return user


# --- who may read or change a hive ------------------------------------------------------------


@dataclass(frozen=True)
class HiveView:
    """A hive with its coordinates read out of the geometry."""

    hive: Hive
    latitude: float
    longitude: float


def apiaries_of(user_id: int, roles: Iterable[ApiaryRole] = READING_ROLES) -> Select[int]:
    """The ids of the apiaries in which `user_id` has one of `roles`: as a member, or (as an
    owner) as an organiser of the club that owns the apiary (the view apiary_roles)."""
    return select(apiary_roles.c.apiary_id).where(
        apiary_roles.c.user_id == user_id, apiary_roles.c.role.in_(list(roles))
    )


async def role_in(db: AsyncSession, user_id: int, apiary_id: int) -> ApiaryRole | None:
    """The user's role in an apiary, the highest if they have two (a keeper who organises the
    club that owns it), or None: which of a page's controls to show them."""
    role: ApiaryRole | None = await db.scalar(
        # the highest role is the least in the enum's order: owner, keeper, viewer
        select(func.min(apiary_roles.c.role)).where(
            apiary_roles.c.apiary_id == apiary_id, apiary_roles.c.user_id == user_id
        )
    )
    return role


def roles_for(*, change: bool = False, own: bool = False) -> tuple[ApiaryRole, ...]:
    """The apiary roles that may read a hive, or change it, or (`own`) delete it."""
    if own:
        return (ApiaryRole.owner,)
    return CHANGING_ROLES if change else READING_ROLES


# The same rule for statements written in SQL: a hive (aliased `hive`) in whose apiary the user
# (`:user_id`) has one of the roles in `:roles` (pass `roles_for(...)`' values), as a member or
# as an organiser of the club that owns it (the view apiary_roles).
MEMBERS_HIVE = """hive.apiary_id IN (
    SELECT apiary_id FROM apiary_roles WHERE user_id = :user_id AND role::text = ANY(:roles)
)"""


def members_hive_sql(
    apiary: str = "hive.apiary_id", user: str = ":user_id", *, change: bool = False
) -> str:
    """MEMBERS_HIVE for statements that name their own columns and parameters (asyncpg's `$1`),
    with the roles that read (or, with `change`, change) written in: whether the apiary
    `apiary` is one where `user` may do so."""
    roles = ", ".join(f"'{role.value}'" for role in roles_for(change=change))
    query = f"SELECT apiary_id FROM apiary_roles WHERE user_id = {user} AND role IN ({roles})"  # noqa: S608 - our own names
    return f"{apiary} IN ({query})"


def hives_of(
    user_id: int, *, change: bool = False, own: bool = False
) -> Select[Hive, float, float]:
    """The hives `user_id` may read (with `change`, change; with `own`, delete), with their
    coordinates.

    This is the one statement of who may see a hive: every page, fragment, list and API call
    about a hive starts from it (SQL written by hand uses MEMBERS_HIVE, the same rule). A hive
    is its apiary's: owners and keepers change it, viewers read it, owners alone delete it.
    """
    roles = roles_for(change=change, own=own)
    return select(Hive, func.ST_Y(Hive.location), func.ST_X(Hive.location)).where(
        Hive.apiary_id.in_(apiaries_of(user_id, roles))
    )


def is_api(request: web.Request) -> bool:
    """A request of the JSON API, which proves who it is with a key and hears problems."""
    return request.path.startswith("/api/")


async def asker_id(request: web.Request) -> int:
    """Who is asking: on the API the holder of the request's key (a 401 or 429 problem without
    a live one), elsewhere the signed-in user (anonymous visitors go to the log-in page, and
    come back afterwards, as from every other signed-in page)."""
    if is_api(request):
        return await api_owner(request)
    user: User | None = request.get(user_key)
    if user is None:
        raise must_log_in(request)
    return user.id


async def queried_hive_id(request: web.Request, db: AsyncSession) -> int | None:
    """A list's `?hive_id=` filter: None without one, else the id of the caller's hive; a hive
    that is not theirs, or no hive id at all, is 404 as if it did not exist."""
    if "hive_id" not in request.query:
        return None
    hive = request.query["hive_id"]
    if not (hive.isdigit() and 0 < int(hive) <= MAX_ID):
        raise Problem(404, f"You have no hive {hive}.")
    found = await hive_for(request, int(hive), db=db)
    return found.hive.id


async def hive_for(
    request: web.Request,
    hive_id: int | None = None,
    *,
    change: bool = False,
    own: bool = False,
    db: AsyncSession | None = None,
) -> HiveView:
    """The hive `hive_id` (the URL's `{id}` unless given) if the asker may read it, or with
    `change` change it, or with `own` delete it (see hives_of): the one answer to "may this
    user see this hive?", for every HTML and API route.

    Another user's hive does not exist for the asker: 404, a page or a problem, exactly as for
    an id that was never used, so no one learns which ids are taken. Pass the request's `db`
    session to ask inside it (a page that reads more afterwards needs no second connection).
    """
    user_id = await asker_id(request)
    hive_id = path_id(request) if hive_id is None else hive_id
    # populate_existing: a hive this session has just written is read afresh, not remembered.
    asked = hives_of(user_id, change=change, own=own).where(Hive.id == hive_id)
    async with _session(request, db) as session:
        row = (await session.execute(asked.execution_options(populate_existing=True))).first()
    if row is None:
        if is_api(request):
            raise Problem(404, f"You have no hive {hive_id}.")
        raise web.HTTPNotFound()
    return HiveView(row[0], row[1], row[2])


@asynccontextmanager
async def _session(request: web.Request, db: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    """The caller's session if it has one, else one of our own for the length of the block."""
    if db is not None:
        yield db
        return
    async with db_session(request) as own:
        yield own


# --- who may read or change an apiary ---------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """An apiary with the asker's role in it."""

    apiary: Apiary
    role: ApiaryRole

    @property
    def owns(self) -> bool:
        return self.role == ApiaryRole.owner

    @property
    def changes(self) -> bool:
        return self.role in CHANGING_ROLES


async def apiary_for(
    request: web.Request,
    apiary_id: int | None = None,
    *,
    own: bool = False,
    db: AsyncSession | None = None,
) -> Membership:
    """The apiary `apiary_id` (the URL's `{id}` unless given) with the asker's role, if they are
    a member (with `own`, an owner): the one answer to "may this user see or run this apiary?".
    The organisers of the club that owns an apiary are its owners; someone with two roles in
    it (a keeper who organises its club) has the higher.

    To anyone else it does not exist: 404, as for an id never used, so that an outsider (or a
    keeper trying an owner's action) learns nothing of it.
    """
    user_id = await asker_id(request)
    apiary_id = path_id(request) if apiary_id is None else apiary_id
    asked = (
        # the highest role is the least in the enum's order: owner, keeper, viewer
        select(Apiary, func.min(apiary_roles.c.role))
        .join(apiary_roles, apiary_roles.c.apiary_id == Apiary.id)
        .where(Apiary.id == apiary_id, apiary_roles.c.user_id == user_id)
        .where(apiary_roles.c.role.in_(list(roles_for(own=own))))
        .group_by(Apiary.id)
        .execution_options(populate_existing=True)
    )
    async with _session(request, db) as session:
        row = (await session.execute(asked)).first()
    if row is None:
        if is_api(request):
            raise Problem(404, f"You have no apiary {apiary_id}.")
        raise web.HTTPNotFound()
    return Membership(row[0], row[1])
