"""The IPv4 socket's memo of parsed datagrams: the same bytes give the same Datagram object."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from havip.net.vrrpsock import AddressMemo, Datagram, DatagramMemo, ipv4_datagram
from havip.proto.model import VRRP_MCAST_GROUP4

PAYLOAD = bytes.fromhex("3133c80100640000")
SOURCE = IPv4Address("192.0.2.1")


def packet(identification: int = 1, ttl: int = 255, version_ihl: int = 0x45) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        version_ihl,
        0xC0,
        20 + len(PAYLOAD),
        identification,
        0,
        ttl,
        112,
        identification ^ 0xFFFF,  # a checksum that changes with the identification
        SOURCE.packed,
        VRRP_MCAST_GROUP4.packed,
    )
    return header + PAYLOAD


def parsed(data: bytes) -> Datagram:
    item = ipv4_datagram(data, AddressMemo())
    assert isinstance(item, Datagram)
    return item


def test_the_same_advert_with_another_identification_is_the_same_datagram() -> None:
    memo = DatagramMemo()
    first = parsed(packet(identification=1))
    memo.put(packet(identification=1), first)
    assert memo.get(packet(identification=2)) is first
    assert first == Datagram(PAYLOAD, SOURCE, VRRP_MCAST_GROUP4, 255)


def test_another_ttl_or_an_options_header_is_not_taken_from_the_memo() -> None:
    memo = DatagramMemo()
    memo.put(packet(), parsed(packet()))
    assert memo.get(packet(ttl=64)) is None
    assert memo.get(packet(version_ihl=0x46)) is None  # never keyed: its parse differs


def test_the_memo_forgets_everything_when_full() -> None:
    memo = DatagramMemo(bound=2)
    for ttl in (1, 2, 3):
        memo.put(packet(ttl=ttl), parsed(packet(ttl=ttl)))
    assert memo.get(packet(ttl=1)) is None
    assert memo.get(packet(ttl=3)) is not None
