"""The one rate limit: a sliding window of attempts per (bucket, key), kept in PostgreSQL.

Every limit in CityHive (log-ins per account and per address, swarm reports, swarm claims, wrong
API keys, forage look-ups, readings batches) is `take()` on its own bucket. It is shared by every
app process and replica because it lives in the database, and it holds under concurrency: the
count and the new attempt happen under a transaction-level advisory lock on the (bucket, key), so
twenty attempts sent at once are counted one after another, and the sixth of five is refused.

The attempt is taken *before* the work it limits (a password check, an insert), so every attempt
counts, including one whose work then fails. Refused attempts are not recorded: a client that keeps
knocking waits for its window to pass, not forever. Only the database clock is used, read per
statement (`statement_timestamp()`, not the transaction's `now()`): a transaction that began
before it waited for the lock would otherwise see the attempt it waited for in its future.

Addresses are grouped with `address_key()`: an IPv6 client is its /64 (one home or phone network
hands out a whole /64), an IPv4 client its address.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:bucket || '/' || :key, 0))")
_PRUNE = text(
    """
    DELETE FROM throttle_attempts
    WHERE bucket = :bucket AND key = :key
      AND at <= statement_timestamp() - make_interval(secs => :window)
    """
)
_RELEASING = text(
    """
    SELECT ceil(extract(
        epoch FROM at + make_interval(secs => :window) - statement_timestamp()
    ))::int
    FROM throttle_attempts
    WHERE bucket = :bucket AND key = :key
      AND at > statement_timestamp() - make_interval(secs => :window)
    ORDER BY at DESC OFFSET :limit - 1 LIMIT 1
    """
)
_RECORD = text(
    "INSERT INTO throttle_attempts (bucket, key, at) VALUES (:bucket, :key, statement_timestamp())"
)
_FORGET = text("DELETE FROM throttle_attempts WHERE bucket = :bucket AND key = :key")


async def take(db: AsyncSession, *, bucket: str, key: str, limit: int, window_seconds: int) -> int:
    """Count one attempt; 0 when it is allowed, else the seconds until one will be (Retry-After).

    Commits `db`'s transaction (the lock is held until then), so call it before the work it limits.
    """
    params = {"bucket": bucket, "key": key, "window": window_seconds}
    await db.execute(_LOCK, params)
    await db.execute(_PRUNE, params)
    wait = (await db.execute(_RELEASING, {**params, "limit": limit})).scalar()
    if wait is None:
        await db.execute(_RECORD, params)
    await db.commit()
    return 0 if wait is None else max(1, int(wait))


async def forget(db: AsyncSession, *, bucket: str, key: str) -> None:
    """Clear a key's attempts (a correct password clears its account's failures). Commits."""
    await db.execute(_FORGET, {"bucket": bucket, "key": key})
    await db.commit()


def address_key(address: str | None) -> str:
    """The key that counts a client address: IPv6 grouped by its /64, IPv4 as it is."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
