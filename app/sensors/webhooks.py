"""Alerts posted as JSON to the user's webhook, in the background, with a timeout and retries.

A webhook URL is the user's to choose, so it is a way to make the server send requests where
the user points it. Private, loopback, link-local and other non-public addresses are refused
(unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set, as the tests do for a local receiver): an IP in
the URL is checked before connecting, a host name is checked by the resolver the connection
uses (so a name that resolves to a private address at delivery time is refused too), and
redirects are not followed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from app.keys import db_key, settings_key
from app.sensors import queries
from app.sensors.alerts import Raised
from app.sensors.schemas import AlertOut
from app.settings import Settings

log = structlog.get_logger(__name__)

webhook_client_key = web.AppKey("webhook_client", aiohttp.ClientSession)
deliveries_key = web.AppKey[set[asyncio.Task[None]]]("webhook_deliveries")

RETRY_BASE_SECONDS = 0.5  # then 1, 2, 4 ... between attempts
USER_AGENT = "CityHive-Webhook/1"


class AddressRefused(OSError):
    """The webhook's host is (or resolves only to) a non-public address."""


def is_public(address: str) -> bool:
    return ip_address(address.split("%", 1)[0]).is_global


def literal_address(host: str) -> str | None:
    try:
        return str(ip_address(host.strip("[]")))
    except ValueError:
        return None


def url_problem(url: str, allow_private: bool) -> str | None:
    """Why this webhook URL will not be used, judged from the URL alone; None if it may be."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Use an http:// or https:// address with a host name."
    if allow_private:
        return None
    literal = literal_address(parts.hostname)
    if parts.hostname.lower() in ("localhost", "localhost.localdomain") or (
        literal is not None and not is_public(literal)
    ):
        return "Private and loopback addresses are not allowed for webhooks."
    return None


class PublicResolver(AbstractResolver):
    """Resolves as usual, then keeps only public addresses (none left: AddressRefused)."""

    def __init__(self) -> None:
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._resolver.resolve(host, port, family)
        public = [entry for entry in found if is_public(entry["host"])]
        if not public:
            raise AddressRefused(f"{host} resolves only to private or loopback addresses")
        return public

    async def close(self) -> None:
        await self._resolver.close()


def client_session(settings: Settings) -> aiohttp.ClientSession:
    resolver = None if settings.webhook_allow_private_addresses else PublicResolver()
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=resolver, limit=20),
        headers={"User-Agent": USER_AGENT},
    )


def payload(alert: Raised) -> dict[str, Any]:
    return {"event": "alert.raised", "alert": AlertOut.of(alert).model_dump(mode="json")}


async def post(
    client: aiohttp.ClientSession, settings: Settings, url: str, body: dict[str, Any]
) -> tuple[bool, str]:
    """One alert to one URL, with retries. (delivered?, what happened)"""
    refused = url_problem(url, settings.webhook_allow_private_addresses)
    if refused:
        return False, f"refused: {refused}"
    timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
    outcome = ""
    for attempt in range(1 + settings.webhook_retries):
        if attempt:
            await asyncio.sleep(RETRY_BASE_SECONDS * 2 ** (attempt - 1))
        try:
            async with client.post(
                url, json=body, timeout=timeout, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return True, f"delivered (HTTP {response.status})"
                outcome = f"HTTP {response.status}"
                if 400 <= response.status < 500 and response.status not in (408, 429):
                    break  # the receiver refuses this: trying again will not help
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, AddressRefused):  # from PublicResolver
                return False, f"refused: {error.os_error}"
            outcome = f"could not connect ({type(error).__name__})"
        except TimeoutError:
            outcome = f"no answer within {settings.webhook_timeout_seconds:g} s"
        except aiohttp.ClientError as error:
            outcome = f"could not connect ({type(error).__name__})"
    return False, f"failed: {outcome}"


async def deliver(app: web.Application, raised: Sequence[Raised]) -> None:
    """Each alert to its owner's webhook, if they have one; the outcome is noted for them."""
    settings = app[settings_key]
    client = app[webhook_client_key]
    for owner_id in sorted({alert.owner_id for alert in raised}):
        async with app[db_key]() as db:
            hook = await queries.webhook_of(db, owner_id)
        if hook is None:
            continue
        url = hook.url
        for alert in (a for a in raised if a.owner_id == owner_id):
            delivered, outcome = await post(client, settings, url, payload(alert))
            log.info("webhook", alert_id=alert.id, delivered=delivered, outcome=outcome)
            async with app[db_key]() as db:
                await queries.note_delivery(db, owner_id, url, outcome)


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
