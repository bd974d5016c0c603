"""The API keys' SQL. A key is found by the SHA-256 of what the client sent, never by the key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey

# last_used_at is written at most this often per key, so a busy sensor costs one read per call.
TOUCH_INTERVAL = timedelta(minutes=1)


async def create_key(
    db: AsyncSession, user_id: int, *, name: str, prefix: str, key_hash: str
) -> ApiKey:
    key = ApiKey(user_id=user_id, name=name, prefix=prefix, hash=key_hash)
    db.add(key)
    await db.commit()
    return key


async def keys_of(db: AsyncSession, user_id: int) -> list[ApiKey]:
    """The user's keys, newest first, revoked ones included (they say so)."""
    rows = await db.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return list(rows)


async def revoke_key(db: AsyncSession, user_id: int, key_id: int) -> bool:
    """Revoke one of the user's own keys; False if there is no such live key."""
    result = await db.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class KeyOwner:
    key_id: int
    user_id: int


async def owner_of_key(db: AsyncSession, key_hash: str) -> KeyOwner | None:
    """Whose live key has this hash; notes the use (at most once per TOUCH_INTERVAL)."""
    row = (
        await db.execute(
            select(ApiKey.id, ApiKey.user_id, ApiKey.last_used_at).where(
                ApiKey.hash == key_hash, ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        return None
    key_id, user_id, last_used_at = row
    if last_used_at is None or last_used_at < datetime.now(UTC) - TOUCH_INTERVAL:
        await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=func.now()))
        await db.commit()
    return KeyOwner(key_id=key_id, user_id=user_id)
