"""The accounts' SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Hive, LoginAttempt, User


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


async def change_password(db: AsyncSession, user: User, *, password_hash: str) -> User:
    """The new password, and the next session epoch: every session begun before it ends."""
    changed: User | None = await db.scalar(
        update(User)
        .where(User.id == user.id)
        .values(password_hash=password_hash, session_epoch=User.session_epoch + 1)
        .returning(User)
    )
    assert changed is not None
    await db.commit()
    return changed


async def hive_count(db: AsyncSession, user: User) -> int:
    return await db.scalar(select(func.count()).where(Hive.owner_id == user.id)) or 0


async def record_failure(db: AsyncSession, *, email: str, address: str) -> None:
    await db.execute(insert(LoginAttempt).values(email=email, address=address))
    await db.commit()


async def clear_failures(db: AsyncSession, *, email: str) -> None:
    await db.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    await db.commit()


async def retry_after(
    db: AsyncSession,
    *,
    email: str,
    address: str,
    window: timedelta,
    max_per_account: int,
    max_per_address: int,
) -> int:
    """Seconds until another log-in may be tried, 0 if now.

    Failures within the window are counted per account and per client address; over either
    limit, the wait ends when enough of the oldest failures leave the window.
    """
    since = func.now() - window
    waits = []
    for column, value, limit in (
        (LoginAttempt.email, email, max_per_account),
        (LoginAttempt.address, address, max_per_address),
    ):
        # The failure whose ageing-out brings the count back under the limit.
        releasing = await db.scalar(
            select(LoginAttempt.at)
            .where(column == value, LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if releasing is not None:
            free_at = releasing + window
            waits.append(max(1, int((free_at - datetime.now(UTC)).total_seconds()) + 1))
    return max(waits, default=0)
