"""Exactly-once creates: a request carrying an `Idempotency-Key` is acted on once per user.

A double tap, a retried request or an offline outbox replaying its queue all send the same key
again. The key's row is inserted in the same transaction as the record it guards:

    guard = idempotency.attempt(request, user_id, key)
    async with db.begin():
        first = await guard.first_answer(db)
        if first is not None:
            return <the first answer, rebuilt from `first`>
        ... create the record ...
        await guard.remember(db, status=303, location=...)

A concurrent repeat blocks on the key's primary key until the first transaction ends, then finds
its answer; if the first failed and rolled back, the repeat goes ahead in its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotentRequest

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"
# Printable ASCII without spaces, as UUIDs and the usual client-made keys are.
KEY_PATTERN = re.compile(r"[!-~]{8,100}")
PENDING = 0


class BadKey(ValueError):
    """An Idempotency-Key that is too short, too long or not printable ASCII."""


def key_of(request: web.Request, field_value: str | None = None) -> str | None:
    """The request's key: the header wins over a form's hidden field; None when neither is sent."""
    key = request.headers.get(HEADER) or field_value or None
    if key is None:
        return None
    key = key.strip()
    if not KEY_PATTERN.fullmatch(key):
        raise BadKey("An Idempotency-Key is 8 to 100 printable ASCII characters, e.g. a UUID.")
    return key


@dataclass(frozen=True, slots=True)
class Attempt:
    """One create request's use of its key: per user, and per endpoint ("POST /api/v1/harvests"),
    so the same key sent elsewhere is another request, never answered with this one's result."""

    user_id: int
    scope: str
    key: str | None

    async def first_answer(self, db: AsyncSession) -> IdempotentRequest | None:
        """Spend the key in this transaction; if it was spent before, the first answer."""
        if self.key is None:
            return None
        inserted = await db.execute(
            insert(IdempotentRequest)
            .values(user_id=self.user_id, scope=self.scope, key=self.key, status=PENDING)
            .on_conflict_do_nothing()
            .returning(IdempotentRequest.key)
        )
        if inserted.first() is not None:
            return None
        return (await db.execute(select(IdempotentRequest).where(*self._row()))).scalar_one()

    async def remember(
        self, db: AsyncSession, *, status: int, location: str = "", body: str = ""
    ) -> None:
        """Keep the answer given to the first request, for the repeats."""
        if self.key is not None:
            await db.execute(
                update(IdempotentRequest)
                .where(*self._row())
                .values(status=status, location=location, body=body)
            )

    def _row(self) -> tuple[ColumnElement[bool], ...]:
        return (
            IdempotentRequest.user_id == self.user_id,
            IdempotentRequest.scope == self.scope,
            IdempotentRequest.key == self.key,
        )


def attempt(request: web.Request, user_id: int, key: str | None) -> Attempt:
    return Attempt(user_id, f"{request.method} {request.path}"[:200], key)
