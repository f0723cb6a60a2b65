"""Untrusted bytes reach `decode` and `parse_ipv4` straight from a raw socket: whatever arrives,
they return a value or raise DecodeError, never anything else (no IndexError, struct.error...).
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from hypothesis import given, settings
from hypothesis import strategies as st

from havip.proto.model import (
    AUTH_NONE,
    AUTH_PASS,
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    VRRP_PROTOCOL,
    Advertisement,
    ChecksumMode,
    DecodeError,
    IPAddress,
    RejectReason,
)
from havip.proto.packet import IPv4Header, decode, encode, parse_ipv4

fuzz = settings(max_examples=500, deadline=None)

ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address)
any_address: st.SearchStrategy[IPAddress] = st.one_of(ipv4, ipv6)


@st.composite
def valid_messages(
    draw: st.DrawFn, versions: tuple[int, ...] = (2, 3), families: tuple[int, ...] = (4, 6)
) -> tuple[bytes, IPAddress, IPAddress]:
    """A message `encode` produced, with the addresses it was encoded for.

    v2 is drawn only where IPv4 is among `families`, since v2 is IPv4 only.
    """
    version = draw(st.sampled_from([v for v in versions if v == 3 or 4 in families]))
    family = 4 if version == 2 else draw(st.sampled_from(families))
    addresses: st.SearchStrategy[IPAddress] = ipv4 if family == 4 else ipv6
    group: IPAddress = VRRP_MCAST_GROUP4 if family == 4 else VRRP_MCAST_GROUP6
    source = draw(addresses)
    destination = draw(st.one_of(st.just(group), addresses))
    if version == 2:
        auth_type = draw(st.sampled_from([AUTH_NONE, AUTH_PASS]))
        auth_data = draw(st.binary(max_size=8)) if auth_type == AUTH_PASS else b""
        interval_cs = draw(st.integers(1, 255)) * 100
    else:
        auth_type, auth_data = AUTH_NONE, b""
        interval_cs = draw(st.integers(1, 4095))
    advert = Advertisement(
        version=version,
        vrid=draw(st.integers(1, 255)),
        priority=draw(st.integers(0, 255)),
        interval_cs=interval_cs,
        addresses=tuple(draw(st.lists(addresses, max_size=12))),
        auth_type=auth_type,
        auth_data=auth_data,
    )
    mode = draw(st.sampled_from(ChecksumMode))
    data = encode(advert, source=source, destination=destination, checksum_mode=mode)
    return data, source, destination


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with some bits flipped, then cut short or extended (or left alone)."""
    mutable = bytearray(data)
    if mutable:
        for bit in draw(st.lists(st.integers(0, 8 * len(mutable) - 1), max_size=8)):
            mutable[bit // 8] ^= 1 << (bit % 8)
    length = draw(st.integers(0, len(mutable) + 1))
    if draw(st.booleans()):
        return bytes(mutable[:length])
    return bytes(mutable) + draw(st.binary(max_size=40))


def decode_or_reject(data: bytes, source: IPAddress, destination: IPAddress) -> None:
    """Decode `data`; DecodeError is the only failure allowed, and must carry a reason."""
    try:
        advert = decode(data, source=source, destination=destination)
    except DecodeError as error:
        assert isinstance(error.reason, RejectReason)
        assert error.detail
    else:
        assert isinstance(advert, Advertisement)
        assert all(address.version == source.version for address in advert.addresses)


@fuzz
@given(data=st.binary(max_size=300), source=any_address, destination=any_address)
def test_decode_of_random_bytes_only_raises_decode_error(
    data: bytes, source: IPAddress, destination: IPAddress
) -> None:
    decode_or_reject(data, source, destination)


@fuzz
@given(data=st.data(), valid=valid_messages(), other_destination=any_address)
def test_decode_of_mutated_packets_only_raises_decode_error(
    data: st.DataObject, valid: tuple[bytes, IPAddress, IPAddress], other_destination: IPAddress
) -> None:
    message, source, destination = valid
    damaged = data.draw(mutated(message))
    decode_or_reject(damaged, source, destination)
    decode_or_reject(damaged, source, other_destination)


# Not v3 over IPv4: it accepts either checksum, and a flip can turn one into the other by chance.
@fuzz
@given(
    valid=st.one_of(valid_messages(versions=(2,)), valid_messages(versions=(3,), families=(6,))),
    bit=st.integers(min_value=0),
)
def test_a_single_bit_flip_never_decodes(
    valid: tuple[bytes, IPAddress, IPAddress], bit: int
) -> None:
    message, source, destination = valid
    damaged = bytearray(message)
    bit %= 8 * len(damaged)
    damaged[bit // 8] ^= 1 << (bit % 8)
    try:
        decode(bytes(damaged), source=source, destination=destination)
    except DecodeError:
        return
    raise AssertionError(f"bit {bit} flipped in {message.hex()} still decodes")


def ipv4_datagram(payload: bytes, source: IPAddress, destination: IPAddress) -> bytes:
    """A minimal IPv4 header carrying `payload` as VRRP from `source` to `destination`."""
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0xC0,
        20 + len(payload),
        0,
        0,
        255,
        VRRP_PROTOCOL,
        0,
        source.packed,
        destination.packed,
    )
    return header + payload


def parse_or_reject(datagram: bytes) -> None:
    """Parse `datagram` and, if it parses, decode its payload; only DecodeError may escape."""
    try:
        header, payload = parse_ipv4(datagram)
    except DecodeError as error:
        assert isinstance(error.reason, RejectReason)
        return
    assert isinstance(header, IPv4Header)
    assert len(payload) <= len(datagram) - 20
    decode_or_reject(payload, header.source, header.destination)


@fuzz
@given(st.binary(max_size=300))
def test_parse_ipv4_of_random_bytes_only_raises_decode_error(datagram: bytes) -> None:
    parse_or_reject(datagram)


@fuzz
@given(data=st.data(), valid=valid_messages(families=(4,)))
def test_parse_ipv4_of_mutated_datagrams_only_raises_decode_error(
    data: st.DataObject, valid: tuple[bytes, IPAddress, IPAddress]
) -> None:
    message, source, destination = valid
    parse_or_reject(data.draw(mutated(ipv4_datagram(message, source, destination))))
