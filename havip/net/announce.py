"""Gratuitous ARP and unsolicited neighbour advertisements for VIPs, on an AF_PACKET socket.

Frames are built once per (VIP, MAC) and cached: an announcement on takeover is then one
`send` per frame, which keeps havip's takeover overhead in microseconds. The layouts are the
fixed, well-known ones (RFC 826 / RFC 5227 gratuitous ARP request; RFC 4861 section 7.2.6
unsolicited NA with the Override flag and a target link-layer address option); the tests
check every frame with scapy as an independent decoder.
"""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address, IPv6Address

from havip.proto.checksum import checksum, pseudo_header_sum

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST_MAC = b"\xff" * 6
ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
ICMPV6 = 58
NEIGHBOR_ADVERTISEMENT = 136
NA_FLAG_OVERRIDE = 0x20000000
OPTION_TARGET_LINK_ADDRESS = 2


def gratuitous_arp(mac: bytes, address: IPv4Address) -> bytes:
    """A broadcast ARP request for `address` from itself: every neighbour updates its cache."""
    ethernet = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + address.packed
    arp += BROADCAST_MAC + address.packed
    return ethernet + arp


def unsolicited_na(mac: bytes, address: IPv6Address) -> bytes:
    """An unsolicited neighbour advertisement for `address` to all nodes, Override set."""
    body = struct.pack("!BBHI", NEIGHBOR_ADVERTISEMENT, 0, 0, NA_FLAG_OVERRIDE) + address.packed
    body += struct.pack("!BB", OPTION_TARGET_LINK_ADDRESS, 1) + mac
    initial = pseudo_header_sum(address, ALL_NODES, len(body), ICMPV6)
    body = body[:2] + struct.pack("!H", checksum(body, initial)) + body[4:]
    ipv6 = struct.pack("!IHBB", 6 << 28, len(body), ICMPV6, 255) + address.packed
    ipv6 += ALL_NODES.packed
    return ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6) + ipv6 + body


class Announcer:
    """Sends cached announcement frames on one interface."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self.sock.bind((interface, 0))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self._frames: dict[tuple[bytes, IPv4Address | IPv6Address], bytes] = {}

    def close(self) -> None:
        self.sock.close()

    def frame(self, mac: bytes, address: IPv4Address | IPv6Address) -> bytes:
        key = (mac, address)
        cached = self._frames.get(key)
        if cached is None:
            if isinstance(address, IPv4Address):
                cached = gratuitous_arp(mac, address)
            else:
                cached = unsolicited_na(mac, address)
            self._frames[key] = cached
        return cached

    def announce(self, mac: bytes, addresses: tuple[IPv4Address | IPv6Address, ...]) -> int:
        """Send one frame per address; return how many went out (a full queue drops)."""
        sent = 0
        for address in addresses:
            try:
                self.sock.send(self.frame(mac, address))
            except OSError:
                continue
            sent += 1
        return sent
