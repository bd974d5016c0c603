"""The accounts' SQL, API keys included (a key is found by the SHA-256 of what the client sent,
never by the key; looking one up for a request is app/web/api.py's `key_holder`)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey, Hive, User
from app.web.auth import apiaries_of, end_sessions_of


class EmailTaken(Exception):
    pass


async def create_user(db: AsyncSession, *, name: str, email: str, password_hash: str) -> User:
    user = User(name=name, email=email, password_hash=password_hash)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError as error:
        await db.rollback()
        raise EmailTaken(email) from error
    return user


async def user_by_email(db: AsyncSession, email: str) -> User | None:
    return await db.scalar(select(User).where(User.email == email.lower()))


async def update_profile(db: AsyncSession, user: User, *, name: str, email: str) -> User:
    fresh = await db.get(User, user.id)
    assert fresh is not None
    fresh.name, fresh.email = name, email
    try:
        await db.commit()
    except IntegrityError as error:
        await db.rollback()
        raise EmailTaken(email) from error
    return fresh


async def choose_language(db: AsyncSession, user_id: int, language: str) -> None:
    await db.execute(update(User).where(User.id == user_id).values(language=language))
    await db.commit()


async def change_password(
    db: AsyncSession, user: User, *, password_hash: str, revoke_api_keys: bool = False
) -> tuple[User, int]:
    """The new password, in one transaction with its consequences: every session of the user
    ends (the caller starts a fresh one for this browser), and, when asked, every live API key
    is revoked. Returns the user and how many keys were revoked."""
    changed: User | None = await db.scalar(
        update(User).where(User.id == user.id).values(password_hash=password_hash).returning(User)
    )
    assert changed is not None
    await end_sessions_of(db, user.id)
    revoked = 0
    if revoke_api_keys:
        result = await db.execute(
            update(ApiKey)
            .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        revoked = int(result.rowcount)  # type: ignore[attr-defined]
    await db.commit()
    return changed, revoked


async def hive_count(db: AsyncSession, user: User) -> int:
    """How many hives the user keeps or reads: those of the apiaries they are a member of."""
    counted = select(func.count(Hive.id)).where(Hive.apiary_id.in_(apiaries_of(user.id)))
    return await db.scalar(counted) or 0


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
