"""Which addresses the server may open a connection to when a user chose the URL (alert
webhooks, push endpoints): global unicast only, checked in the socket factory of the client's
connector, which sees the very address after DNS (app/sensors/webhooks.py tells the whole
story)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

from aiohappyeyeballs import AddrInfoType


class AddressRefused(OSError):
    """The webhook's connection would go to a non-public address."""


NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
NAT64_LOCAL_USE = IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated; holds ::, ::1 and ::a.b.c.d


def public_ipv4(ip: IPv4Address) -> bool:
    """A global unicast IPv4 address (ipaddress' is_global, plus what it lets through)."""
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def public_ipv6(ip: IPv6Address) -> bool:
    """A global unicast IPv6 address that does not lead to a non-public IPv4 one.

    Python 3.12's is_global says yes to 64:ff9b::7f00:1 (NAT64 of 127.0.0.1), ::7f00:1 and
    fec0::/10, so addresses that embed an IPv4 one are judged by that IPv4 address, and the
    deprecated forms are refused outright.
    """
    if ip.ipv4_mapped is not None:
        return public_ipv4(ip.ipv4_mapped)
    if ip in NAT64_WELL_KNOWN:
        return public_ipv4(IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in NAT64_LOCAL_USE or ip in IPV4_COMPATIBLE or ip.teredo is not None:
        return False
    if ip.sixtofour is not None and not public_ipv4(ip.sixtofour):
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_site_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def connectable(address: str) -> bool:
    """Whether a webhook may open a connection to this IP address (a socket address's host)."""
    try:
        ip = ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not public
    except ValueError:
        return False
    return public_ipv4(ip) if isinstance(ip, IPv4Address) else public_ipv6(ip)


def guarded_socket(may_connect: Callable[[str], bool]) -> Callable[[AddrInfoType], socket.socket]:
    """A socket factory for the connector: it is given the address the socket will connect to
    (whatever the URL said and DNS answered), and refuses to make a socket for a non-public one."""

    def make_socket(addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, address = addr_info
        if not may_connect(str(address[0])):
            raise AddressRefused(f"{address[0]} is not a public address")
        return socket.socket(family=family, type=kind, proto=proto)

    return make_socket
