"""API keys: how they are made, and how a request proves it holds one.

A key is `ch_` + 32 random bytes (token_urlsafe). That is far beyond guessing, so a fast hash
is the right one: the table holds its SHA-256 in hex, looked up through a unique index, and the
key itself exists only in the one response that shows it to its owner.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web

from app.api import queries
from app.api.problems import Problem
from app.keys import db_key

KEY_PREFIX = "ch_"
SHOWN_PREFIX_LENGTH = 8


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


async def api_owner(request: web.Request) -> int:
    """The id of the user whose live key the request carries; otherwise a 401 problem."""
    key = presented_key(request)
    if key is None:
        raise Problem(401, "Send your API key as 'Authorization: Bearer <key>'.", auth=True)
    async with request.app[db_key]() as db:
        owner = await queries.owner_of_key(db, hash_key(key))
    if owner is None:
        raise Problem(401, "This API key is unknown or has been revoked.", auth=True)
    return owner.user_id
