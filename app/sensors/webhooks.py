"""Alerts posted as JSON to the user's webhook, in the background, with a timeout and retries.

A webhook URL is the user's to choose, so it is a way to make the server send requests where
the user points it. The guarantee: no webhook delivery opens a connection to a non-public
address (private, loopback, link-local, multicast, reserved, unspecified, shared, nor an IPv6
address that carries one of those: IPv4-mapped, IPv4-compatible, 6to4, NAT64), unless
WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set (tests with a local receiver, an intranet).

The check sits where no spelling can get past it: in the socket factory of the client's
connector, which is handed the very address the socket is about to connect to, after yarl has
decoded the host (fullwidth or circled digits, ideographic full stops) and after DNS has
answered. A literal IP, a name, a name that resolves differently at delivery time: all meet the
same check. Redirects are not followed (a 3xx is the receiver's answer, not a new request), the
client ignores proxy settings from the environment, and the URL is also checked when it is
saved, so a user is told at once rather than at the first alert.

What the user is told of a delivery does not help to map a network: every failure to get an
HTTP answer (an address refused here, a closed port, a timeout, a reset) reads the same,
"could not be delivered"; the detail goes to the log only. An HTTP status is shown only when a
server actually answered, which only a public one (or an allowed one) can.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from aiohttp.abc import AbstractResolver
from yarl import URL

from app.keys import db_key, deliveries_key, settings_key, webhook_client_key
from app.sensors import queries
from app.sensors.alerts import Raised
from app.sensors.schemas import AlertOut
from app.settings import Settings
from app.web.i18n import N_, _, translate
from app.web.outbound import (
    connectable,
    guarded_socket,
    public_ipv4,
)

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE_SECONDS = 2.0  # deliveries in flight get this long to finish at shutdown

RETRY_BASE_SECONDS = 0.5  # then 1, 2, 4 ... between attempts
USER_AGENT = "CityHive-Webhook/1"
NOT_DELIVERED = "failed: could not be delivered"
# Why a URL is refused: told on the form (translated there) and kept, in English, as a
# delivery's outcome.
PRIVATE_REFUSED = N_("Private and loopback addresses are not allowed for webhooks.")
NO_HOST = N_("Use an http:// or https:// address with a host name.")


def client_session(
    settings: Settings,
    *,
    resolver: AbstractResolver | None = None,
    may_connect: Callable[[str], bool] = connectable,
) -> aiohttp.ClientSession:
    """The webhooks' HTTP client. Every connection it opens goes through `may_connect`, unless
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set. (`resolver` and `may_connect` are for tests that
    stand in for DNS and for a public server.)"""
    factory = None if settings.webhook_allow_private_addresses else guarded_socket(may_connect)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=resolver, socket_factory=factory, limit=20),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,  # no HTTP(S)_PROXY from the environment: the connection is the check
    )


# --- the URL as a user writes it --------------------------------------------------------------


def numeric_ipv4(host: str) -> IPv4Address | None:
    """The IPv4 address a host written as numbers stands for, in any form the C library takes
    (127.0.0.1, 2130706433, 0x7f.1, 0177.0.0.1); None for a name."""
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None
    try:
        return IPv4Address(socket.inet_aton(host.rstrip(".")))
    except (OSError, ValueError):
        return None


def url_problem(url: str, allow_private: bool) -> str | None:
    """Why this webhook URL will not be used, judged from the URL alone; None if it may be.

    The host is read as the HTTP client will read it (yarl decodes fullwidth and circled digits
    and ideographic full stops), so the user hears at once of an address the connection would
    refuse. The connection's own check (guarded_socket) is what holds; this one is courtesy.
    """
    try:
        parts = URL(url)
        host = parts.raw_host
    except (ValueError, UnicodeError):
        return NO_HOST
    if parts.scheme not in ("http", "https") or not host:
        return NO_HOST
    if allow_private:
        return None
    host = host.rstrip(".").lower()
    literal = numeric_ipv4(host)
    if literal is not None:
        private = not public_ipv4(literal)
    elif ":" in host:
        private = not connectable(host)
    else:
        private = host == "localhost" or host.endswith(".localhost")
    return PRIVATE_REFUSED if private else None


def outcome_text(outcome: str) -> str:
    """A delivery's outcome as stored (English, from `post`), in the reader's language."""
    if outcome == NOT_DELIVERED:
        return _("failed: could not be delivered")
    if found := re.fullmatch(r"delivered \(HTTP (\d{3})\)", outcome):
        return _("delivered (HTTP %(status)s)", status=found[1])
    if found := re.fullmatch(r"failed: HTTP (\d{3})", outcome):
        return _("failed: HTTP %(status)s", status=found[1])
    reason = outcome.removeprefix("refused: ")
    if reason != outcome and reason in (PRIVATE_REFUSED, NO_HOST):
        return _("refused: %(reason)s", reason=translate(reason))
    return outcome


def payload(alert: Raised) -> dict[str, Any]:
    return {"event": "alert.raised", "alert": AlertOut.of(alert).model_dump(mode="json")}


async def post(
    client: aiohttp.ClientSession, settings: Settings, url: str, body: dict[str, Any]
) -> tuple[bool, str]:
    """One alert to one URL, with retries. (delivered?, what happened: shown to the user)"""
    refused = url_problem(url, settings.webhook_allow_private_addresses)
    if refused:
        return False, f"refused: {refused}"
    timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
    outcome = NOT_DELIVERED
    for attempt in range(1 + settings.webhook_retries):
        if attempt:
            await asyncio.sleep(RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        try:
            async with client.post(
                url, json=body, timeout=timeout, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return True, f"delivered (HTTP {response.status})"
                outcome = f"failed: HTTP {response.status}"
                if 400 <= response.status < 500 and response.status not in (408, 429):
                    break  # the receiver refuses this: trying again will not help
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            # A refused address, a closed port, a timeout, a reset: one wording for the user
            # (telling them apart would map the network); the log keeps what it was.
            log.info("webhook_not_delivered", attempt=attempt, error=repr(error))
            outcome = NOT_DELIVERED
    return False, outcome


async def deliver(app: web.Application, raised: Sequence[Raised]) -> None:
    """Each alert to the webhook of every member who may read its hive, if they have one; the
    outcome is noted for each of them."""
    settings = app[settings_key]
    client = app[webhook_client_key]
    async with app[db_key]() as db:
        readers = await queries.readers_of(db, sorted({alert.hive_id for alert in raised}))
    for user_id in sorted({user for users in readers.values() for user in users}):
        async with app[db_key]() as db:
            hook = await queries.webhook_of(db, user_id)
        if hook is None:
            continue
        url = hook.url
        for alert in (a for a in raised if user_id in readers[a.hive_id]):
            delivered, outcome = await post(client, settings, url, payload(alert))
            log.info("webhook", alert_id=alert.id, delivered=delivered, outcome=outcome)
            async with app[db_key]() as db:
                await queries.note_delivery(db, user_id, url, outcome)


def deliver_later(app: web.Application, raised: Sequence[Raised]) -> None:
    """Deliver in a background task: the request that raised the alerts does not wait."""
    if not raised:
        return
    task = asyncio.create_task(_deliver_logged(app, list(raised)))
    tasks = app[deliveries_key]
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _deliver_logged(app: web.Application, raised: list[Raised]) -> None:
    try:
        await deliver(app, raised)
    except Exception:
        log.exception("webhook_delivery_failed")


async def finish_deliveries(app: web.Application) -> None:
    """At shutdown: deliveries in flight get SHUTDOWN_GRACE_SECONDS to finish, then are
    cancelled."""
    in_flight = app[deliveries_key]
    if in_flight:
        _, late = await asyncio.wait(set(in_flight), timeout=SHUTDOWN_GRACE_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
