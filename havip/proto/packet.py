"""VRRP advertisements on the wire: v2 (RFC 3768) over IPv4, v3 (RFC 5798, RFC 9568) over both.

The message that follows the IP header::

    v2: ver|type vrid priority count | auth type, adver int (s), checksum | IPv4 x count | auth (8)
    v3: ver|type vrid priority count | rsvd (4 bits), max adver int (12 bits, cs), checksum
        | address x count (IPv4 or IPv6, the family of the IP header)

`decode` reads untrusted bytes on the receive hot path. It raises nothing but `DecodeError`:
every length is checked before anything is unpacked, and all parsing goes through structs
compiled once at import. What it accepts follows keepalived's `vrrp_check_packet`, so that
havip and keepalived drop the same packets: the message must be at least as long as the
header's version and address count imply, the v3 reserved bits are ignored, and a v2 advert
always carries its 8 bytes of authentication data, zeros when the type is none. Bytes after
the message are kept as the advert's `trailer`, not refused: keepalived 2.4 appends its
auth_hmac trailer there, and RFC 5798 asks only for the complete message, so refusing them
makes a second master of every havip router in a group with such a keepalived.
Checks that need the instance's configuration (TTL, VRID match, interval, password, address
list) belong to the instance, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from struct import Struct

from havip.proto.checksum import checksum, ones_complement_sum, pseudo_header_sum
from havip.proto.model import (
    AUTH_AH,
    AUTH_NONE,
    AUTH_PASS,
    VRRP_PROTOCOL,
    Advertisement,
    ChecksumMode,
    DecodeError,
    IPAddress,
    RejectReason,
)

__all__ = [
    "AUTH_DATA_LENGTH",
    "IPv4Header",
    "IPv6Header",
    "checksum",
    "checksum_form",
    "decode",
    "encode",
    "parse_ipv4",
    "parse_ipv6",
]

ADVERTISEMENT_TYPE = 1
AUTH_DATA_LENGTH = 8
HEADER_LENGTH = 8
MAX_ADDRESSES = 255
MAX_V2_INTERVAL_S = 0xFF
MAX_V3_INTERVAL_CS = 0x0FFF
CENTISECONDS_PER_SECOND = 100
IPV4_MIN_HEADER_LENGTH = 20
IPPROTO_AH = 51

_WORD_MAX = 0xFFFF
_HEADER = Struct("!BBBBHH")
_IPV4_HEADER = Struct("!BxHxxxxBBxxII")
_IPV6_HEADER = Struct("!BxxxHBB16s16s")
IPV6_HEADER_LENGTH = 40
_IPV4_ADDRESS_LISTS = tuple(Struct(f"!{count}I") for count in range(MAX_ADDRESSES + 1))
_IPV6_ADDRESS_LISTS = tuple(Struct(f"!{2 * count}Q") for count in range(MAX_ADDRESSES + 1))


@dataclass(frozen=True, slots=True)
class IPv4Header:
    """The IPv4 header fields a raw VRRP socket needs: who sent it, to whom, and the TTL."""

    source: IPv4Address
    destination: IPv4Address
    ttl: int
    protocol: int


@dataclass(frozen=True, slots=True)
class IPv6Header:
    """The IPv6 header fields a passive observer needs: who sent it, to whom, the hop limit."""

    source: IPv6Address
    destination: IPv6Address
    ttl: int
    protocol: int


def parse_ipv4(
    datagram: bytes, address: Callable[[int], IPv4Address] = IPv4Address
) -> tuple[IPv4Header, bytes]:
    """Split a datagram from a raw IPv4 socket into its header and its payload.

    The payload is trimmed to the header's total length. The kernel has already checked the
    header checksum; what is checked here is that the lengths can be trusted for slicing.
    `address` builds the source and destination (a receive loop passes a memo: building an
    IPv4Address costs more than the rest of this function).
    """
    size = len(datagram)
    if size < IPV4_MIN_HEADER_LENGTH:
        raise DecodeError(
            RejectReason.LENGTH,
            f"IPv4 datagram of {size} bytes is shorter than the {IPV4_MIN_HEADER_LENGTH}-byte "
            "minimum header",
        )
    version_ihl, total_length, ttl, protocol, source, destination = _IPV4_HEADER.unpack_from(
        datagram
    )
    if version_ihl >> 4 != 4:
        raise DecodeError(RejectReason.VERSION, f"IP version {version_ihl >> 4}, expected 4")
    header_length = (version_ihl & 0x0F) * 4
    if header_length < IPV4_MIN_HEADER_LENGTH:
        raise DecodeError(RejectReason.LENGTH, f"IPv4 header length {header_length} is too short")
    if not header_length <= total_length <= size:
        raise DecodeError(
            RejectReason.LENGTH,
            f"IPv4 total length {total_length} does not fit a {header_length}-byte header "
            f"in {size} received bytes",
        )
    if protocol != VRRP_PROTOCOL:
        detail = f"IP protocol {protocol}, expected {VRRP_PROTOCOL}"
        if protocol == IPPROTO_AH:
            detail += " (IPsec AH authentication is not supported)"
        raise DecodeError(RejectReason.TYPE, detail)
    header = IPv4Header(address(source), address(destination), ttl, protocol)
    return header, datagram[header_length:total_length]


def parse_ipv6(datagram: bytes) -> tuple[IPv6Header, bytes]:
    """Split an IPv6 packet captured below the IP layer into its fixed header and payload.

    A packet socket sees the whole packet, where a raw IPv6 socket would have given the
    addresses and hop limit as ancillary data. Only a VRRP payload right after the fixed
    header is accepted: VRRP adverts carry no extension headers.
    """
    size = len(datagram)
    if size < IPV6_HEADER_LENGTH:
        raise DecodeError(
            RejectReason.LENGTH,
            f"IPv6 packet of {size} bytes is shorter than the {IPV6_HEADER_LENGTH}-byte header",
        )
    first, payload_length, next_header, hop_limit, source, destination = _IPV6_HEADER.unpack_from(
        datagram
    )
    if first >> 4 != 6:
        raise DecodeError(RejectReason.VERSION, f"IP version {first >> 4}, expected 6")
    if IPV6_HEADER_LENGTH + payload_length > size:
        raise DecodeError(
            RejectReason.LENGTH,
            f"IPv6 payload length {payload_length} does not fit {size} received bytes",
        )
    if next_header != VRRP_PROTOCOL:
        raise DecodeError(RejectReason.TYPE, f"IPv6 next header {next_header}, expected 112")
    header = IPv6Header(IPv6Address(source), IPv6Address(destination), hop_limit, next_header)
    return header, datagram[IPV6_HEADER_LENGTH : IPV6_HEADER_LENGTH + payload_length]


def encode(
    advert: Advertisement,
    *,
    source: IPAddress,
    destination: IPAddress,
    checksum_mode: ChecksumMode = ChecksumMode.PSEUDO_HEADER,
) -> bytes:
    """The VRRP message (without IP header) for `advert`, sent from `source` to `destination`.

    The addresses are needed for the v3 pseudo-header checksum. `checksum_mode` only matters
    for v3 over IPv4: IPv6 always uses the pseudo-header, v2 always the message alone. An
    advert that cannot be put on the wire is a programming error and raises ValueError.
    """
    _check_encodable(advert, source, destination)
    addresses = b"".join(address.packed for address in advert.addresses)
    if advert.version == 2:
        field = advert.auth_type << 8 | advert.interval_cs // CENTISECONDS_PER_SECOND
        trailer = advert.auth_data[:AUTH_DATA_LENGTH].ljust(AUTH_DATA_LENGTH, b"\0")
        initial = 0
    else:
        field = advert.interval_cs
        trailer = b""
        with_pseudo_header = source.version == 6 or checksum_mode is ChecksumMode.PSEUDO_HEADER
        length = HEADER_LENGTH + len(addresses)
        initial = pseudo_header_sum(source, destination, length) if with_pseudo_header else 0
    first = advert.version << 4 | ADVERTISEMENT_TYPE
    count = len(advert.addresses)
    unsummed = _HEADER.pack(first, advert.vrid, advert.priority, count, field, 0)
    body = addresses + trailer
    value = checksum(unsummed + body, initial)
    return _HEADER.pack(first, advert.vrid, advert.priority, count, field, value) + body


def _check_encodable(advert: Advertisement, source: IPAddress, destination: IPAddress) -> None:
    """Raise ValueError naming the first field of `advert` that the wire format cannot carry."""
    if source.version != destination.version:
        raise ValueError(f"source {source} and destination {destination} differ in family")
    if advert.version not in (2, 3):
        raise ValueError(f"VRRP version {advert.version} is neither 2 nor 3")
    if advert.trailer:
        raise ValueError("a trailer after the message is received, never sent")
    if advert.version == 2 and source.version == 6:
        raise ValueError("VRRPv2 is IPv4 only")
    if not 1 <= advert.vrid <= 255:
        raise ValueError(f"VRID {advert.vrid} is outside 1..255")
    if not 0 <= advert.priority <= 255:
        raise ValueError(f"priority {advert.priority} is outside 0..255")
    if len(advert.addresses) > MAX_ADDRESSES:
        raise ValueError(f"{len(advert.addresses)} addresses, the count field holds 255")
    for address in advert.addresses:
        if address.version != source.version:
            raise ValueError(f"address {address} is not in the family of source {source}")
    if advert.version == 2:
        seconds, fraction = divmod(advert.interval_cs, CENTISECONDS_PER_SECOND)
        if fraction or not 1 <= seconds <= MAX_V2_INTERVAL_S:
            raise ValueError(f"VRRPv2 interval {advert.interval_cs} cs is not 1..255 whole seconds")
        if advert.auth_type not in (AUTH_NONE, AUTH_PASS):
            raise ValueError(f"VRRPv2 auth type {advert.auth_type} is neither none nor PASS")
        if advert.auth_type == AUTH_NONE and advert.auth_data:
            raise ValueError("auth data given with auth type none")
    else:
        if not 1 <= advert.interval_cs <= MAX_V3_INTERVAL_CS:
            raise ValueError(f"VRRPv3 interval {advert.interval_cs} cs is outside 1..4095")
        if advert.auth_type != AUTH_NONE or advert.auth_data:
            raise ValueError("VRRPv3 has no authentication")


def decode(data: bytes, *, source: IPAddress, destination: IPAddress) -> Advertisement:
    """The advertisement in `data`, a VRRP message received from `source` at `destination`.

    The family of the addresses in the message follows the family of `source`. A v2 PASS
    advert carries its 8 authentication bytes as received (zero padding included); a v2
    advert with auth type none and every v3 advert carry empty auth data.
    """
    size = len(data)
    if size < HEADER_LENGTH:
        raise DecodeError(
            RejectReason.LENGTH,
            f"{size} bytes is shorter than the {HEADER_LENGTH}-byte VRRP header",
        )
    if source.version != destination.version:
        raise DecodeError(
            RejectReason.FAMILY, f"source {source} and destination {destination} differ in family"
        )
    first, vrid, priority, count, field, _ = _HEADER.unpack_from(data)
    version = first >> 4
    ipv6 = source.version == 6
    if version == 3:
        expected = HEADER_LENGTH + count * (16 if ipv6 else 4)
    elif version == 2:
        if ipv6:
            raise DecodeError(RejectReason.VERSION, "VRRPv2 advert over IPv6")
        expected = HEADER_LENGTH + count * 4 + AUTH_DATA_LENGTH
    else:
        raise DecodeError(RejectReason.VERSION, f"version {version}, expected 2 or 3")
    if size < expected:
        raise DecodeError(
            RejectReason.LENGTH,
            f"vrrp packet too short, length {size} and expect {expected} for VRRPv{version} "
            f"with {count} address(es)",
        )
    _check_checksum(data, expected, version, source, destination)
    if first & 0x0F != ADVERTISEMENT_TYPE:
        raise DecodeError(
            RejectReason.TYPE, f"packet type {first & 0x0F}, expected {ADVERTISEMENT_TYPE}"
        )
    if vrid == 0:
        raise DecodeError(RejectReason.VRID, "VRID 0 is not valid")
    auth_type = AUTH_NONE
    auth_data = b""
    if version == 2:
        auth_type, seconds = field >> 8, field & 0xFF
        if auth_type == AUTH_PASS:
            auth_data = data[expected - AUTH_DATA_LENGTH : expected]
        elif auth_type == AUTH_AH:
            raise DecodeError(RejectReason.AUTH_TYPE, "auth type 2 (IPsec AH) is not supported")
        elif auth_type != AUTH_NONE:
            raise DecodeError(RejectReason.AUTH_TYPE, f"invalid auth type {auth_type}")
        if seconds == 0:
            raise DecodeError(RejectReason.INTERVAL, "advert interval 0 s")
        interval_cs = seconds * CENTISECONDS_PER_SECOND
    else:
        interval_cs = field & MAX_V3_INTERVAL_CS
        if interval_cs == 0:
            raise DecodeError(RejectReason.INTERVAL, "max advert interval 0 cs")
    return Advertisement(
        version=version,
        vrid=vrid,
        priority=priority,
        interval_cs=interval_cs,
        addresses=_addresses(data, count, ipv6),
        auth_type=auth_type,
        auth_data=auth_data,
        trailer=data[expected:],
    )


def _check_checksum(
    data: bytes, length: int, version: int, source: IPAddress, destination: IPAddress
) -> None:
    """Raise DecodeError(CHECKSUM) unless the message verifies the way its version and family say.

    v2 sums the message alone. v3 adds the pseudo-header; over IPv4 a message-only checksum
    is accepted too, since implementations differ on it (see ChecksumMode). With a trailer
    after the `length` bytes of the message, the sum may cover the message alone or the whole
    payload: either verifies, since the checksum only guards against corruption.
    """
    message = data if len(data) == length else data[:length]
    if _verifies(message, version, source, destination):
        return
    if len(data) > length and _verifies(data, version, source, destination):
        return
    raise DecodeError(RejectReason.CHECKSUM, f"invalid VRRPv{version} checksum")


def checksum_form(data: bytes, *, source: IPAddress, destination: IPAddress) -> ChecksumMode:
    """Which checksum form a message that `decode` accepted was sent with.

    Only VRRPv3 over IPv4 has a choice (see ChecksumMode): v2 always sums the message alone
    and IPv6 always includes the pseudo-header. A passive observer uses this to tell routers
    of one group apart that disagree on the form, which would make them ignore each other.
    """
    version = data[0] >> 4
    if version == 2:
        return ChecksumMode.MESSAGE_ONLY
    if source.version == 6:
        return ChecksumMode.PSEUDO_HEADER
    message = data[: HEADER_LENGTH + data[3] * 4]
    if ones_complement_sum(message, pseudo_header_sum(source, destination, len(message))) == (
        _WORD_MAX
    ) or ones_complement_sum(data, pseudo_header_sum(source, destination, len(data))) == (
        _WORD_MAX
    ):
        return ChecksumMode.PSEUDO_HEADER
    return ChecksumMode.MESSAGE_ONLY


def _verifies(data: bytes, version: int, source: IPAddress, destination: IPAddress) -> bool:
    if version == 2:
        return ones_complement_sum(data) == _WORD_MAX
    with_pseudo_header = ones_complement_sum(
        data, pseudo_header_sum(source, destination, len(data))
    )
    if with_pseudo_header == _WORD_MAX:
        return True
    return source.version == 4 and ones_complement_sum(data) == _WORD_MAX


def _addresses(data: bytes, count: int, ipv6: bool) -> tuple[IPAddress, ...]:
    """The `count` addresses after the header; the caller has checked that they are there."""
    if not ipv6:
        return tuple(map(IPv4Address, _IPV4_ADDRESS_LISTS[count].unpack_from(data, HEADER_LENGTH)))
    halves = _IPV6_ADDRESS_LISTS[count].unpack_from(data, HEADER_LENGTH)
    return tuple(
        IPv6Address(halves[index] << 64 | halves[index + 1]) for index in range(0, len(halves), 2)
    )
