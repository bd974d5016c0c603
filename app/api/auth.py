"""API keys: how they are made, and how a request proves it holds one.

A key is `ch_` + 32 random bytes (token_urlsafe). That is far beyond guessing, so a fast hash
is the right one: the table holds its SHA-256 in hex, looked up through a unique index, and the
key itself exists only in the one response that shows it to its owner.

`key_holder()` is the one way any route (the JSON API, readings batches, device posts) finds
whose key a request carries. Wrong keys are counted per client address (IPv6 by its /64):
past API_KEY_FAILURES_PER_ADDRESS in API_KEY_FAILURE_WINDOW_SECONDS, a wrong key is answered
429 with Retry-After instead of 401. A correct key is still accepted from that address: the
key's 256 bits are what stops guessing, and a sensor behind the same NAT as a misconfigured one
keeps working. A request with no key at all is not counted (it costs no look-up).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from app.api import queries
from app.api.problems import Problem
from app.api.queries import KeyOwner
from app.keys import db_key, settings_key
from app.web import throttle

KEY_PREFIX = "ch_"
SHOWN_PREFIX_LENGTH = 8
MISSING_KEY = "Send your API key as 'Authorization: Bearer <key>'."
UNKNOWN_KEY = "This API key is unknown or has been revoked."
WRONG_KEYS = "api-key-failures"  # the throttle bucket, keyed by client address


@dataclass(frozen=True)
class NewKey:
    key: str  # shown once, never stored
    prefix: str
    hash: str


def new_key() -> NewKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(key=key, prefix=key[:SHOWN_PREFIX_LENGTH], hash=hash_key(key))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(request: web.Request) -> str | None:
    """The key sent as `Authorization: Bearer <key>` or as `X-API-Key: <key>`."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key", "").strip() or None


class TooManyRequests(Problem):
    """A 429 problem that says, in Retry-After too, how many seconds to wait."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(429, detail)
        self.retry_after = retry_after

    def response(self) -> web.Response:
        response = super().response()
        response.headers["Retry-After"] = str(self.retry_after)
        return response


async def key_holder(
    request: web.Request, key: str | None = None, *, missing: str = MISSING_KEY
) -> KeyOwner:
    """The live key this request carries (`key`, else its Authorization or X-API-Key header)
    and its owner. Otherwise a Problem: 401 with `missing` when there is no key, 401 for an
    unknown or revoked one, 429 once the client's address has sent too many wrong ones."""
    key = key or presented_key(request)
    if key is None:
        raise Problem(401, missing, auth=True)
    async with request.app[db_key]() as db:
        holder = await queries.owner_of_key(db, hash_key(key))
        if holder is None:
            raise await wrong_key(db, request)
    return holder


async def wrong_key(db: AsyncSession, request: web.Request) -> Problem:
    """Count a wrong key against the client's address; the problem to answer it with."""
    settings = request.app[settings_key]
    wait = await throttle.take(
        db,
        bucket=WRONG_KEYS,
        key=throttle.address_key(request.remote),
        limit=settings.api_key_failures_per_address,
        window_seconds=settings.api_key_failure_window_seconds,
    )
    if wait:
        return TooManyRequests(
            wait, f"Too many wrong API keys from your address. Try again in {wait} seconds."
        )
    return Problem(401, UNKNOWN_KEY, auth=True)


async def api_owner(request: web.Request) -> int:
    """The id of the user whose live key the request carries; otherwise a 401 or 429 problem."""
    return (await key_holder(request)).user_id
