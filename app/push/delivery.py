"""Sending queued notifications to the browsers' push services (RFC 8030), in the background.

A round claims the due notifications (app/push/queries.py), encrypts each for its subscription
(RFC 8291, aes128gcm, by pywebpush and http-ece), signs the request with the VAPID key and posts
it with TTL and Urgency. 201: sent. 404 or 410: the browser unsubscribed or the subscription
expired, so it is removed. Anything else (a 429, a 5xx, no answer): tried again later, waiting
twice as long each time, until PUSH_RETRIES retries were made or its time to live ran out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import structlog
from aiohttp import web
from py_vapid import Vapid02
from pywebpush import WebPusher

from app.keys import db_key, metrics_key, push_client_key, settings_key, vapid_key
from app.push import queries
from app.push.queries import Due
from app.push.vapid import authorization
from app.push.vapid import vapid_key as load_vapid_key
from app.settings import Settings
from app.web.outbound import connectable, guarded_socket

log = structlog.get_logger(__name__)

BATCH = 10  # notifications claimed at once (a round takes several batches)
USER_AGENT = "CityHive-Push/1"
GONE = (404, 410)  # RFC 8030 section 7.3: the subscription is no more


def client_session(settings: Settings) -> aiohttp.ClientSession:
    """The client that talks to push services. An endpoint is what a browser said, so like a
    webhook it may only lead to a public address (unless PUSH_ALLOW_PRIVATE_ADDRESSES)."""
    factory = None if settings.push_allow_private_addresses else guarded_socket(connectable)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(socket_factory=factory, limit=20),
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),  # a push service's cookies are not kept
        trust_env=False,  # no HTTP(S)_PROXY from the environment: the connection is the check
    )


@dataclass(frozen=True)
class Answer:
    """What the push service said: its status (None: no answer), and how long it asked us to
    wait before trying again (RFC 8030 section 8.4, Retry-After in seconds with a 429)."""

    status: int | None
    retry_after: float = 0


NO_ANSWER = Answer(None)


def seconds_to_wait(value: str | None) -> float:
    """A Retry-After in seconds (a date is not worth parsing for a push service: 0)."""
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


async def post(client: aiohttp.ClientSession, settings: Settings, key: Vapid02, due: Due) -> Answer:
    """Encrypt and post one notification: what the push service answered."""
    subscription = {"endpoint": due.endpoint, "keys": {"p256dh": due.p256dh, "auth": due.auth}}
    headers = {
        **authorization(key, due.endpoint, settings.vapid_subject),
        "Urgency": due.urgency,
    }
    body = json.dumps(due.payload, ensure_ascii=False).encode()
    try:
        response = await WebPusher(subscription, aiohttp_session=client).send_async(
            body,
            headers,
            ttl=max(due.ttl_seconds, 1),
            timeout=aiohttp.ClientTimeout(total=settings.push_timeout_seconds),
        )
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        log.info("push_not_delivered", notification=due.id, error=repr(error))
        return NO_ANSWER
    assert isinstance(response, aiohttp.ClientResponse)
    response.release()
    return Answer(response.status, seconds_to_wait(response.headers.get("Retry-After")))


async def send_due(app: web.Application, client: aiohttp.ClientSession, key: Vapid02) -> int:
    """One batch: due notifications claimed by this process, each tried once; how many."""
    settings = app[settings_key]
    async with app[db_key]() as db:
        claimed = await queries.claim_due(db, batch=BATCH, lease_seconds=lease(settings))
    for due in claimed:
        answer = await post(client, settings, key, due) if due.ttl_seconds > 0 else NO_ANSWER
        outcome = await settle(app, due, answer)
        app[metrics_key].push_notifications.labels(outcome).inc()
        log.info(
            "push", notification=due.id, status=answer.status, attempt=due.attempts, outcome=outcome
        )
    return len(claimed)


def lease(settings: Settings) -> float:
    """How long a claimed batch is this process's alone: long enough to try every one of it
    (one after another, each within PUSH_TIMEOUT_SECONDS), so no other replica takes one of
    them meanwhile; after it, the rows of a process that died are taken again."""
    return settings.push_timeout_seconds * (BATCH + 2)


async def settle(app: web.Application, due: Due, answer: Answer) -> str:
    """Record how the attempt went: sent, removed, failed (given up) or retried (after the
    backoff, or the push service's Retry-After if that is longer)."""
    settings = app[settings_key]
    status = answer.status
    async with app[db_key]() as db:
        if status is not None and 200 <= status < 300:
            await queries.mark_sent(db, due.id)
            return "sent"
        if status in GONE:
            await queries.remove_subscription(db, due.subscription_id)
            return "removed"
        if due.ttl_seconds <= 0:  # its time to live ran out before it could be sent
            await queries.give_up(db, due.id, "expired")
            return "failed"
        if due.attempts > settings.push_retries:
            await queries.give_up(db, due.id, describe(status))
            return "failed"
        backoff = settings.push_retry_base_seconds * 2 ** (due.attempts - 1)
        wait = max(backoff, answer.retry_after)
        await queries.retry_later(db, due.id, timedelta(seconds=wait), describe(status))
        return "retried"


def describe(status: int | None) -> str:
    return "no answer" if status is None else f"HTTP {status}"


async def push_ctx(app: web.Application) -> AsyncIterator[None]:
    """The VAPID key (pages show its public half) and the push services' client."""
    settings = app[settings_key]
    app[vapid_key] = load_vapid_key(settings)
    app[push_client_key] = client = client_session(settings)
    yield
    await client.close()
