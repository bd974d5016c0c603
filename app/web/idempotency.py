"""Exactly-once creates: a request carrying an `Idempotency-Key` is acted on once per user.

A double tap, a retried request or an offline outbox replaying its queue all send the same key
again. One step guards every create, the forms' and the API's alike:

    guard = await idempotency.for_form(request, user_id, key)   # or for_json(..., data)
    async with db.begin():
        answer = await guard.run(db, lambda: create_the_record(db, ...))
    return <the response for `answer`>

`run` spends the key in the record's transaction, calls the create only if the key is new, and
keeps the `Answer` the create returns: there is no last call to forget, and a create that
returns anything else, or a guard used outside a transaction, fails loudly. A repeat gets the
first answer back (`replayed`) and creates nothing.

A form's create goes through `create_from_form` (a malformed or reused key becomes the form's
error), an API's through `app.web.api.create_once` (a problem document): a feature writes only
its create.

The key is kept with a fingerprint of its request (method, route and canonical body): the same
key sent again with another body is not a repeat but a mistake (`KeyReused`, a 422), never
answered with the first record. Keys kept before fingerprints existed keep replaying.

A concurrent repeat blocks on the key's primary key until the first transaction ends, then finds
its answer; if the first failed and rolled back, the repeat goes ahead in its place.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.keys import metrics_key
from app.models import IdempotentRequest
from app.web.database import db_session
from app.web.forms import Form
from app.web.i18n import N_, translate

HEADER = "Idempotency-Key"
SYNC_HEADER = "CityHive-Sync"  # "outbox" on the offline outbox's replays
FIELD = "idempotency_key"
# Printable ASCII without spaces, as UUIDs and the usual client-made keys are.
KEY_PATTERN = re.compile(r"[!-~]{8,100}")
PENDING = 0
# A form's fields that are not what it says: the session's token, and the key itself (which
# may come in the header instead).
NOT_FINGERPRINTED = frozenset({"_csrf", FIELD})
# English on the API; a form shows them in the reader's language (`translate`).
REUSED = N_(
    "This form was already sent with other values under the same Idempotency-Key. "
    "Nothing new was saved: send it again to save these values as a new record."
)
BAD_KEY = N_("An Idempotency-Key is 8 to 100 printable ASCII characters, e.g. a UUID.")


class BadKey(ValueError):
    """An Idempotency-Key that is too short, too long or not printable ASCII."""


class KeyReused(ValueError):
    """The key was spent on a request with another body: answering it with the first record
    would hide that these values were never saved."""

    def __init__(self) -> None:
        super().__init__(REUSED)


def key_of(request: web.Request, field_value: str | None = None) -> str | None:
    """The request's key: the header wins over a form's hidden field; None when neither is sent."""
    key = request.headers.get(HEADER) or field_value or None
    if key is None:
        return None
    key = key.strip()
    if not KEY_PATTERN.fullmatch(key):
        raise BadKey(BAD_KEY)
    return key


@dataclass(frozen=True, slots=True)
class Answer:
    """What a create answered, kept for its repeats: a status, where the record is, a body.
    `replayed` is True when it is the first request's answer given again."""

    status: int
    location: str = ""
    body: str = ""
    replayed: bool = False


def scope_of(request: web.Request) -> str:
    """What a key is sent to ("POST /api/v1/harvests"): the same key sent elsewhere is another
    request, never answered with this one's result."""
    return f"{request.method} {request.path}"[:200]


def fingerprint(request: web.Request, canonical_body: str) -> str:
    """SHA-256 of the method, the route and the body, written so that equal requests match."""
    text = json.dumps([request.method, request.path, canonical_body], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def json_body(data: Any) -> str:
    """A JSON body as its parsed value, re-serialised: key order and spacing do not count."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def form_body(posted: Any) -> str:
    """A form's fields, sorted, without the token and the key: the order they come in does not
    count, a field sent twice does (a list of ticked hives)."""
    fields = sorted(
        (name, value if isinstance(value, str) else getattr(value, "filename", ""))
        for name, value in posted.items()
        if name not in NOT_FINGERPRINTED
    )
    return json.dumps(fields, ensure_ascii=False)


async def for_form(request: web.Request, user_id: int, key: str | None) -> Guard:
    """The guard of a create posted as a form (or replayed by the offline outbox)."""
    return Guard(
        user_id, scope_of(request), key, fingerprint(request, form_body(await request.post()))
    )


def for_json(request: web.Request, user_id: int, key: str | None, data: Any) -> Guard:
    """The guard of a create whose JSON body parsed to `data`."""
    return Guard(user_id, scope_of(request), key, fingerprint(request, json_body(data)))


@dataclass(frozen=True, slots=True)
class Guard:
    """One create request's use of its key, per user and per endpoint (see `scope_of`)."""

    user_id: int
    scope: str
    key: str | None
    fingerprint: str

    async def run(self, db: AsyncSession, create: Callable[[], Awaitable[Answer]]) -> Answer:
        """The create's answer, acted on once: `create` runs only for a key not seen before (or
        for no key), in the caller's transaction, and what it returns is kept for the repeats.
        Raises KeyReused for a key seen with another body."""
        if not db.in_transaction():
            raise RuntimeError("An idempotent create runs inside the record's transaction.")
        first = await self._spend(db)
        if first is not None:
            return self._replay(first)
        answer = await create()
        if not isinstance(answer, Answer) or answer.replayed:
            raise TypeError(f"A create must return its new Answer, not {answer!r}.")
        if self.key is not None:
            await db.execute(
                update(IdempotentRequest)
                .where(*self._row())
                .values(status=answer.status, location=answer.location, body=answer.body)
            )
        return answer

    async def _spend(self, db: AsyncSession) -> IdempotentRequest | None:
        """Spend the key in this transaction; if it was spent before, its row."""
        if self.key is None:
            return None
        inserted = await db.execute(
            insert(IdempotentRequest)
            .values(
                user_id=self.user_id,
                scope=self.scope,
                key=self.key,
                status=PENDING,
                fingerprint=self.fingerprint,
            )
            .on_conflict_do_nothing()
            .returning(IdempotentRequest.key)
        )
        if inserted.first() is not None:
            return None
        return (await db.execute(select(IdempotentRequest).where(*self._row()))).scalar_one()

    def _replay(self, first: IdempotentRequest) -> Answer:
        if first.fingerprint is not None and first.fingerprint != self.fingerprint:
            raise KeyReused()
        return Answer(first.status, first.location, first.body, replayed=True)

    def _row(self) -> tuple[ColumnElement[bool], ...]:
        return (
            IdempotentRequest.user_id == self.user_id,
            IdempotentRequest.scope == self.scope,
            IdempotentRequest.key == self.key,
        )


# --- Forms ----------------------------------------------------------------------------------


def fresh_key() -> str:
    """A new key for a form's hidden field: one per form shown, so a double tap is one record."""
    return str(uuid.uuid4())


def form_key(request: web.Request, form: Form[Any]) -> str | None:
    """The request's Idempotency-Key; a malformed one is the form's error, not a crash."""
    try:
        return key_of(request, form.values.get(FIELD))
    except BadKey as error:
        form.add_error(FIELD, translate(str(error)))
        return None


async def create_from_form(
    request: web.Request,
    form: Form[Any],
    user_id: int,
    key: str | None,
    create: Callable[[AsyncSession], Awaitable[Answer]],
    *,
    synced_as: str = "",
) -> Answer | None:
    """A form's create acted on once per key, in its own transaction. None when the key was
    already sent with other values: then the form says so, and holds a fresh key with which the
    same values can be sent again as a new record.

    A record the offline outbox replays (SYNC_HEADER) is counted under `synced_as`, to watch
    sync in production; a repeat is not counted twice."""
    guard = await for_form(request, user_id, key)
    try:
        async with db_session(request) as db, db.begin():
            answer = await guard.run(db, lambda: create(db))
    except KeyReused as error:
        form.add_error(FIELD, translate(str(error)))
        form.values[FIELD] = fresh_key()
        return None
    if synced_as and not answer.replayed and request.headers.get(SYNC_HEADER) == "outbox":
        request.app[metrics_key].offline_records_synced.labels(kind=synced_as).inc()
    return answer
