"""The accounts' SQL."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey, Hive, User
from app.web.auth import end_sessions_of


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
    return await db.scalar(select(func.count()).where(Hive.owner_id == user.id)) or 0
