"""The one rate limit: counted in the database, atomic under concurrency, IPv6 by /64."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from app.web import throttle
from tests.unit.conftest import engine_session


async def test_limit_holds_when_attempts_arrive_at_once(settings: Settings) -> None:
    """Twenty attempts at once against a limit of five: exactly five are allowed."""

    async def attempt() -> int:
        async with engine_session(settings.async_database_url) as db:
            return await throttle.take(db, bucket="test", key="k", limit=5, window_seconds=60)

    waits = await asyncio.gather(*(attempt() for _ in range(20)))
    assert sum(1 for wait in waits if wait == 0) == 5
    assert all(0 < wait <= 60 for wait in waits if wait)


async def test_a_transaction_begun_earlier_never_waits_longer_than_the_window(
    settings: Settings,
) -> None:
    """A waiter whose transaction began before the attempt it then counts still waits at most
    the window (the clock is read per statement, not at the transaction's start)."""
    async with (
        engine_session(settings.async_database_url) as earlier,
        engine_session(settings.async_database_url) as later,
    ):
        await earlier.execute(text("SELECT 1"))  # its transaction, and now(), begin here
        assert await throttle.take(later, bucket="t", key="k", limit=1, window_seconds=60) == 0
        wait = await throttle.take(earlier, bucket="t", key="k", limit=1, window_seconds=60)
    assert 0 < wait <= 60


async def test_keys_and_buckets_are_counted_apart(db: AsyncSession) -> None:
    for _ in range(2):
        assert await throttle.take(db, bucket="a", key="x", limit=2, window_seconds=60) == 0
    assert await throttle.take(db, bucket="a", key="x", limit=2, window_seconds=60) > 0
    assert await throttle.take(db, bucket="a", key="y", limit=2, window_seconds=60) == 0
    assert await throttle.take(db, bucket="b", key="x", limit=2, window_seconds=60) == 0


async def test_forget_clears_a_key(db: AsyncSession) -> None:
    assert await throttle.take(db, bucket="a", key="x", limit=1, window_seconds=60) == 0
    assert await throttle.take(db, bucket="a", key="x", limit=1, window_seconds=60) > 0
    await throttle.forget(db, bucket="a", key="x")
    assert await throttle.take(db, bucket="a", key="x", limit=1, window_seconds=60) == 0


def test_ipv6_addresses_are_grouped_by_their_64() -> None:
    assert throttle.address_key("2001:db8:1:2::1") == throttle.address_key("2001:db8:1:2:ffff::9")
    assert throttle.address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert throttle.address_key("2001:db8:1:3::1") != throttle.address_key("2001:db8:1:2::1")
    assert throttle.address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert throttle.address_key("192.0.2.7") == "192.0.2.7"
    assert throttle.address_key(None) == "unknown"
