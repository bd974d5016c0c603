# ruff: noqa: RUF001 - the fullwidth and circled look-alikes are the point of these tests
"""Item 5 of issue 13: a webhook URL never makes the server connect to a non-public address.

Each test points the webhook client at a local listener that counts every TCP connection it
accepts, and asserts it accepted none: not a request refused late, no connection at all. The
same spellings do reach the listener when WEBHOOK_ALLOW_PRIVATE_ADDRESSES is set (the control
that shows the listener would notice).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from app.sensors.webhooks import NOT_DELIVERED, PRIVATE_REFUSED, client_session, post, url_problem
from app.web.outbound import AddressRefused, connectable
from tests.unit.conftest import csrf_token

pytestmark = pytest.mark.usefixtures("webhook_retries_at_once")


@dataclass
class Listener:
    """A TCP port that counts the connections it accepts (and closes them)."""

    port: int = 0
    connections: int = 0
    servers: list[asyncio.Server] = field(default_factory=list)


async def listen(host: str, *also: str) -> Listener:
    """A listener on `host` and, on the same port where they can be had, on the `also` ones."""
    listener = Listener()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        listener.connections += 1
        writer.close()

    server = await asyncio.start_server(accepted, host, 0)
    listener.port = server.sockets[0].getsockname()[1]
    listener.servers.append(server)
    for other in also:
        with contextlib.suppress(OSError):  # no such address here (IPv6): nothing to reach
            listener.servers.append(await asyncio.start_server(accepted, other, listener.port))
    return listener


async def close(listener: Listener) -> None:
    for server in listener.servers:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def loopback() -> AsyncIterator[Listener]:
    listener = await listen("127.0.0.1", "::1")
    yield listener
    await close(listener)


class StubDns(AbstractResolver):
    """Stands in for DNS: each name answers with the address given here."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self.answers[host]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:{port}/hook",
    "http://１２７．０．０．１:{port}/hook",  # fullwidth digits and full stops
    "http://127。0。0。1:{port}/hook",  # ideographic full stop
    "http://①②⑦.⓪.⓪.①:{port}/hook",  # circled digits
    "http://127．0．0．1:{port}/hook",  # fullwidth full stops only
    "http://2130706433:{port}/hook",  # 127.0.0.1 as one decimal number
    "http://0x7f.1:{port}/hook",  # hexadecimal, short form
    "http://0177.0.0.1:{port}/hook",  # octal
    "http://127.1:{port}/hook",
    "http://127.0.0.1.:{port}/hook",  # a trailing dot makes it a "name"
    "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped
    "http://[::ffff:7f00:1]:{port}/hook",
    "http://localhost:{port}/hook",  # a name that resolves to loopback
    "http://LOCALHOST.:{port}/hook",
]


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
async def test_item5_webhook_unicode_and_numeric_loopback_spellings_never_connect(
    settings, loopback, spelling
):
    url = spelling.format(port=loopback.port)
    async with client_session(settings) as client:
        with pytest.raises(aiohttp.ClientError):
            async with client.post(url, json={}, allow_redirects=False):
                pass  # pragma: no cover - the connection must not be made
    assert loopback.connections == 0
    assert url_problem(url, allow_private=False) == PRIVATE_REFUSED  # and the form says so


async def test_item5_the_listener_sees_connections_when_private_addresses_are_allowed(
    settings, loopback
):
    """The control: with WEBHOOK_ALLOW_PRIVATE_ADDRESSES the same spellings do connect, so the
    zero counts above are the guard's doing, not the listener's."""
    allowed = settings.model_copy(update={"webhook_allow_private_addresses": True})
    async with client_session(allowed) as client:
        for host in ("１２７．０．０．１", "127。0。0。1", "①②⑦.⓪.⓪.①"):
            with pytest.raises(aiohttp.ClientError):  # the listener hangs up
                async with client.post(f"http://{host}:{loopback.port}/hook", json={}):
                    pass  # pragma: no cover
    assert loopback.connections == 3


async def test_item5_webhook_name_whose_dns_answer_is_loopback_is_refused(settings, loopback):
    dns = StubDns({"hooks.example.org": "127.0.0.1", "v6.example.org": "::ffff:127.0.0.1"})
    async with client_session(settings, resolver=dns) as client:
        for name in ("hooks.example.org", "v6.example.org"):
            url = f"http://{name}:{loopback.port}/hook"
            assert url_problem(url, allow_private=False) is None  # a name: only DNS can tell
            assert await post(client, settings, url, {}) == (False, NOT_DELIVERED)
    assert loopback.connections == 0


async def test_item5_webhook_redirect_to_loopback_is_not_followed(
    settings, loopback, aiohttp_server
):
    """A public receiver (127.0.0.2 stands in for one, by name, through DNS) answers with a
    redirect to loopback: the client does not go there."""

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{loopback.port}/hook")

    public = web.Application()
    public.router.add_post("/hook", redirect)
    server = await aiohttp_server(public, host="127.0.0.2")
    dns = StubDns({"hooks.example.org": "127.0.0.2"})
    stands_in_for_public = {"127.0.0.2"}

    def may_connect(address: str) -> bool:
        return address in stands_in_for_public or connectable(address)

    async with client_session(settings, resolver=dns, may_connect=may_connect) as client:
        url = f"http://hooks.example.org:{server.port}/hook"
        assert await post(client, settings, url, {}) == (False, "failed: HTTP 307")
        # Even a caller that did follow redirects would be held at the next hop's connection.
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            async with client.post(url, json={}, allow_redirects=True):
                pass  # pragma: no cover
        assert isinstance(refused.value.os_error, AddressRefused)
    assert loopback.connections == 0


async def test_item5_webhook_outcome_does_not_tell_a_closed_port_from_a_refused_address(
    settings, loopback
):
    """Port scanning through /alerts: a closed port on a reachable host, a port on a refused
    address and a port that accepts and hangs up all read the same."""
    closed = await listen("127.0.0.2")
    await close(closed)
    hangs_up = await listen("127.0.0.2")
    dns = StubDns({"closed.example.org": "127.0.0.2", "inside.example.org": "127.0.0.1"})
    quick = settings.model_copy(update={"webhook_retries": 0})
    try:
        async with client_session(
            quick, resolver=dns, may_connect=lambda a: a == "127.0.0.2"
        ) as client:
            outcomes = {
                await post(client, quick, f"http://closed.example.org:{closed.port}/", {}),
                await post(client, quick, f"http://closed.example.org:{hangs_up.port}/", {}),
                await post(client, quick, f"http://inside.example.org:{loopback.port}/", {}),
            }
    finally:
        await close(hangs_up)
    assert outcomes == {(False, "failed: could not be delivered")}
    assert hangs_up.connections == 1
    assert loopback.connections == 0


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address (an IPv6-only server)
        ("127.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address to judge, not to bind
        ("10.1.2.3", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),  # cloud metadata
        ("192.168.1.9", False),
        ("224.0.0.1", False),  # multicast (is_global says yes)
        ("233.252.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::", False),
        ("::1", False),
        ("::7f00:1", False),  # IPv4-compatible (is_global says yes)
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of loopback (is_global says yes)
        ("64:ff9b:1::a00:1", False),  # local-use NAT64
        ("2002:7f00:1::1", False),  # 6to4 of loopback (is_global says yes)
        ("2002:a00:1::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("fec0::1", False),  # site-local (is_global says yes)
        ("ff0e::1", False),  # multicast
        ("2001:db8::1", False),  # documentation
        ("not an address", False),
    ],
)
def test_item5_only_global_unicast_addresses_are_connectable(address, allowed):
    assert connectable(address) is allowed


async def test_item5_the_webhook_form_refuses_a_fullwidth_loopback(logged_in):
    token = await csrf_token(logged_in, "/alerts")
    response = await logged_in.post(
        "/alerts/webhook",
        data={"url": "http://１２７．０．０．１:8080/hook", "_csrf": token},
        allow_redirects=False,
    )
    assert response.status == 422
    assert PRIVATE_REFUSED in await response.text()
