"""The codec against scapy's VRRP and VRRPv3 layers, an independent implementation, both ways.

Our bytes are wrapped in a real IP or IPv6 header and dissected by scapy, which must read the
same fields and, rebuilding the packet with its own checksum code, arrive at the same checksum.
Packets that scapy builds must decode to the fields scapy was given.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.vrrp import VRRP, VRRPv3
from scapy.packet import Packet, Raw
from scapy.utils import checksum as scapy_checksum

from havip.proto.checksum import checksum
from havip.proto.model import (
    AUTH_NONE,
    AUTH_PASS,
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    VRRP_PROTOCOL,
    Advertisement,
    ChecksumMode,
)
from havip.proto.packet import decode, encode, parse_ipv4

# Codec tests send nothing, so any address will do; the whole range exercises checksum carries.
ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address)
ipv4_destination = st.one_of(st.just(VRRP_MCAST_GROUP4), ipv4)
ipv6_destination = st.one_of(st.just(VRRP_MCAST_GROUP6), ipv6)
vrids = st.integers(1, 255)
priorities = st.integers(0, 255)
v2_seconds = st.integers(1, 255)
v3_centiseconds = st.integers(1, 4095)
passwords = st.binary(min_size=8, max_size=8)

# scapy dissects a VRRPv3-over-IPv4 message of 8 bytes (no address) as raw data, so the
# IPv4 v3 strategies carry at least one address; the zero-address case is in test_packet.py.
v2_adverts = st.builds(
    Advertisement,
    version=st.just(2),
    vrid=vrids,
    priority=priorities,
    interval_cs=v2_seconds.map(lambda seconds: seconds * 100),
    addresses=st.lists(ipv4, max_size=20).map(tuple),
    auth_type=st.just(AUTH_NONE),
) | st.builds(
    Advertisement,
    version=st.just(2),
    vrid=vrids,
    priority=priorities,
    interval_cs=v2_seconds.map(lambda seconds: seconds * 100),
    addresses=st.lists(ipv4, max_size=20).map(tuple),
    auth_type=st.just(AUTH_PASS),
    auth_data=passwords,
)
v3_ipv4_adverts = st.builds(
    Advertisement,
    version=st.just(3),
    vrid=vrids,
    priority=priorities,
    interval_cs=v3_centiseconds,
    addresses=st.lists(ipv4, min_size=1, max_size=20).map(tuple),
)
v3_ipv6_adverts = st.builds(
    Advertisement,
    version=st.just(3),
    vrid=vrids,
    priority=priorities,
    interval_cs=v3_centiseconds,
    addresses=st.lists(ipv6, max_size=20).map(tuple),
)

slow = settings(deadline=None)


def dissect_ipv4(message: bytes, source: IPv4Address, destination: IPv4Address) -> IP:
    """scapy's reading of `message` sent in an IPv4 datagram from `source` to `destination`."""
    datagram = IP(src=str(source), dst=str(destination), proto=VRRP_PROTOCOL, ttl=255) / Raw(
        message
    )
    return IP(bytes(datagram))


def dissect_ipv6(message: bytes, source: IPv6Address, destination: IPv6Address) -> IPv6:
    """scapy's reading of `message` sent in an IPv6 packet from `source` to `destination`."""
    packet = IPv6(src=str(source), dst=str(destination), nh=VRRP_PROTOCOL, hlim=255) / Raw(message)
    return IPv6(bytes(packet))


def scapy_recomputed_checksum(packet: Packet, layer: type[Packet]) -> int:
    """The checksum scapy computes itself for `layer` inside `packet` (its own pseudo-header)."""
    rebuilt = packet.copy()
    rebuilt[layer].chksum = None
    return int(type(packet)(bytes(rebuilt))[layer].chksum)


def assert_same_fields(vrrp: Packet, advert: Advertisement) -> None:
    """The fields common to scapy's two layers equal the advert's."""
    assert vrrp.version == advert.version
    assert vrrp.type == 1
    assert vrrp.vrid == advert.vrid
    assert vrrp.priority == advert.priority
    assert vrrp.ipcount == len(advert.addresses)
    assert tuple(ip_address(address) for address in vrrp.addrlist) == advert.addresses


# --- our encode, scapy decodes ----------------------------------------------------------------


@slow
@given(advert=v2_adverts, source=ipv4, destination=ipv4_destination)
def test_scapy_reads_our_v2(
    advert: Advertisement, source: IPv4Address, destination: IPv4Address
) -> None:
    packet = dissect_ipv4(
        encode(advert, source=source, destination=destination), source, destination
    )
    assert packet.haslayer(VRRP)
    vrrp = packet[VRRP]
    assert_same_fields(vrrp, advert)
    assert vrrp.adv * 100 == advert.interval_cs
    assert vrrp.authtype == advert.auth_type
    auth_bytes = vrrp.auth1.to_bytes(4) + vrrp.auth2.to_bytes(4)
    assert auth_bytes == (advert.auth_data if advert.auth_type == AUTH_PASS else bytes(8))
    assert vrrp.chksum == scapy_recomputed_checksum(packet, VRRP)


@slow
@given(advert=v3_ipv4_adverts, source=ipv4, destination=ipv4_destination)
def test_scapy_reads_our_v3_ipv4_with_pseudo_header_checksum(
    advert: Advertisement, source: IPv4Address, destination: IPv4Address
) -> None:
    packet = dissect_ipv4(
        encode(advert, source=source, destination=destination), source, destination
    )
    assert packet.haslayer(VRRPv3)
    vrrp = packet[VRRPv3]
    assert_same_fields(vrrp, advert)
    assert (vrrp.res, vrrp.adv) == (0, advert.interval_cs)
    assert vrrp.chksum == scapy_recomputed_checksum(packet, VRRPv3)


@slow
@given(advert=v3_ipv4_adverts, source=ipv4, destination=ipv4_destination)
def test_message_only_checksum_matches_scapy_over_the_message(
    advert: Advertisement, source: IPv4Address, destination: IPv4Address
) -> None:
    data = encode(
        advert, source=source, destination=destination, checksum_mode=ChecksumMode.MESSAGE_ONLY
    )
    zeroed = data[:6] + b"\0\0" + data[8:]
    assert int.from_bytes(data[6:8]) == scapy_checksum(zeroed)


@slow
@given(advert=v3_ipv6_adverts, source=ipv6, destination=ipv6_destination)
def test_scapy_reads_our_v3_ipv6(
    advert: Advertisement, source: IPv6Address, destination: IPv6Address
) -> None:
    packet = dissect_ipv6(
        encode(advert, source=source, destination=destination), source, destination
    )
    assert packet.haslayer(VRRPv3)
    vrrp = packet[VRRPv3]
    assert_same_fields(vrrp, advert)
    assert (vrrp.res, vrrp.adv) == (0, advert.interval_cs)
    assert vrrp.chksum == scapy_recomputed_checksum(packet, VRRPv3)


# --- scapy encodes, our decode ----------------------------------------------------------------


@slow
@given(
    vrid=vrids,
    priority=priorities,
    seconds=v2_seconds,
    addresses=st.lists(ipv4, max_size=20),
    password=st.one_of(st.none(), passwords),
    source=ipv4,
    destination=ipv4_destination,
)
def test_we_read_scapys_v2(
    vrid: int,
    priority: int,
    seconds: int,
    addresses: list[IPv4Address],
    password: bytes | None,
    source: IPv4Address,
    destination: IPv4Address,
) -> None:
    secret = bytes(8) if password is None else password
    vrrp = VRRP(
        vrid=vrid,
        priority=priority,
        adv=seconds,
        addrlist=[str(a) for a in addresses],
        authtype=AUTH_NONE if password is None else AUTH_PASS,
        auth1=int.from_bytes(secret[:4]),
        auth2=int.from_bytes(secret[4:]),
    )
    datagram = bytes(IP(src=str(source), dst=str(destination), ttl=255) / vrrp)
    header, payload = parse_ipv4(datagram)
    assert (header.source, header.destination, header.ttl) == (source, destination, 255)
    advert = decode(payload, source=header.source, destination=header.destination)
    assert advert == Advertisement(
        2,
        vrid,
        priority,
        seconds * 100,
        tuple(addresses),
        AUTH_NONE if password is None else AUTH_PASS,
        b"" if password is None else password,
    )


@slow
@given(
    vrid=vrids,
    priority=priorities,
    centiseconds=v3_centiseconds,
    reserved=st.integers(0, 15),
    addresses=st.lists(ipv4, min_size=1, max_size=20),
    source=ipv4,
    destination=ipv4_destination,
)
def test_we_read_scapys_v3_ipv4(
    vrid: int,
    priority: int,
    centiseconds: int,
    reserved: int,
    addresses: list[IPv4Address],
    source: IPv4Address,
    destination: IPv4Address,
) -> None:
    vrrp = VRRPv3(
        vrid=vrid,
        priority=priority,
        res=reserved,
        adv=centiseconds,
        addrlist=[str(a) for a in addresses],
    )
    datagram = bytes(IP(src=str(source), dst=str(destination), ttl=255) / vrrp)
    header, payload = parse_ipv4(datagram)
    advert = decode(payload, source=header.source, destination=header.destination)
    assert advert == Advertisement(3, vrid, priority, centiseconds, tuple(addresses))


@slow
@given(
    vrid=vrids,
    priority=priorities,
    centiseconds=v3_centiseconds,
    reserved=st.integers(0, 15),
    addresses=st.lists(ipv6, max_size=20),
    source=ipv6,
    destination=ipv6_destination,
)
def test_we_read_scapys_v3_ipv6(
    vrid: int,
    priority: int,
    centiseconds: int,
    reserved: int,
    addresses: list[IPv6Address],
    source: IPv6Address,
    destination: IPv6Address,
) -> None:
    vrrp = VRRPv3(
        vrid=vrid,
        priority=priority,
        res=reserved,
        adv=centiseconds,
        addrlist=[str(a) for a in addresses],
    )
    packet = IPv6(bytes(IPv6(src=str(source), dst=str(destination), hlim=255) / vrrp))
    payload = bytes(packet[VRRPv3])
    advert = decode(payload, source=source, destination=destination)
    assert advert == Advertisement(3, vrid, priority, centiseconds, tuple(addresses))


@given(st.binary(max_size=1500))
def test_checksum_agrees_with_scapy(data: bytes) -> None:
    assert checksum(data) == scapy_checksum(data)
