"""The VRRP codec against hand-built bytes: the RFC layouts, keepalived's rules, every reject."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from havip.proto.checksum import checksum, ones_complement_sum, pseudo_header_sum
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
from havip.proto.packet import (
    IPv4Header,
    IPv6Header,
    checksum_form,
    decode,
    encode,
    parse_ipv4,
    parse_ipv6,
)

SOURCE4 = IPv4Address("192.0.2.1")
SOURCE6 = IPv6Address("fe80::1")
VIP4 = IPv4Address("192.0.2.100")
VIP6 = IPv6Address("2001:db8::100")


def reference_checksum(data: bytes) -> int:
    """RFC 1071 the slow, obvious way: add 16-bit words, fold the carries, complement."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for index in range(0, len(data), 2):
        total += data[index] << 8 | data[index + 1]
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(source: IPAddress, destination: IPAddress, length: int) -> bytes:
    """The IPv4 (RFC 768) or IPv6 (RFC 8200 8.1) pseudo-header, laid out byte by byte."""
    if source.version == 4:
        return source.packed + destination.packed + bytes([0, VRRP_PROTOCOL]) + length.to_bytes(2)
    return source.packed + destination.packed + length.to_bytes(4) + bytes([0, 0, 0, VRRP_PROTOCOL])


def message(
    *,
    version: int = 2,
    kind: int = 1,
    vrid: int = 51,
    priority: int = 100,
    count: int | None = None,
    field: int = 0x0001,
    addresses: tuple[IPAddress, ...] = (VIP4,),
    trailer: bytes = bytes(8),
    pseudo: bytes = b"",
) -> bytes:
    """A VRRP message from raw field values, its checksum computed by `reference_checksum`.

    `field` is the 16 bits after the count (v2: auth type and interval; v3: rsvd and
    interval); `pseudo` is prepended for the checksum only.
    """
    if count is None:
        count = len(addresses)
    body = b"".join(address.packed for address in addresses) + trailer
    header = struct.pack("!BBBBH", version << 4 | kind, vrid, priority, count, field)
    value = reference_checksum(pseudo + header + b"\0\0" + body)
    return header + value.to_bytes(2) + body


def v3_message(
    source: IPAddress,
    destination: IPAddress,
    addresses: tuple[IPAddress, ...],
    *,
    kind: int = 1,
    vrid: int = 51,
    priority: int = 100,
    field: int = 100,
) -> bytes:
    """A v3 message over `source`'s family with a pseudo-header checksum."""
    length = 8 + sum(len(address.packed) for address in addresses)
    return message(
        version=3,
        kind=kind,
        vrid=vrid,
        priority=priority,
        field=field,
        addresses=addresses,
        trailer=b"",
        pseudo=pseudo_header(source, destination, length),
    )


def rejected(
    data: bytes, source: IPAddress = SOURCE4, destination: IPAddress | None = None
) -> DecodeError:
    """The DecodeError that decoding `data` raises (the test fails if it decodes)."""
    if destination is None:
        destination = VRRP_MCAST_GROUP4 if source.version == 4 else VRRP_MCAST_GROUP6
    with pytest.raises(DecodeError) as caught:
        decode(data, source=source, destination=destination)
    return caught.value


# --- checksum ---------------------------------------------------------------------------------


@given(st.binary(max_size=2000))
def test_checksum_matches_rfc1071_word_loop(data: bytes) -> None:
    assert checksum(data) == reference_checksum(data)


@given(st.binary(max_size=64))
def test_checksum_of_message_with_its_checksum_is_zero(data: bytes) -> None:
    even = data + b"\0" * (len(data) % 2)
    with_field = even + checksum(even).to_bytes(2)
    assert checksum(with_field) == 0
    assert ones_complement_sum(with_field) == 0xFFFF


@pytest.mark.parametrize(
    ("source", "destination"),
    [(SOURCE4, VRRP_MCAST_GROUP4), (SOURCE6, VRRP_MCAST_GROUP6)],
    ids=["ipv4", "ipv6"],
)
@given(body=st.binary(max_size=200).map(lambda b: b + b"\0" * (len(b) % 2)))
def test_pseudo_header_sum_equals_summing_the_laid_out_pseudo_header(
    source: IPAddress, destination: IPAddress, body: bytes
) -> None:
    explicit = reference_checksum(pseudo_header(source, destination, len(body)) + body)
    assert checksum(body, pseudo_header_sum(source, destination, len(body))) == explicit


# --- known-good byte vectors ------------------------------------------------------------------

# keepalived VRRPv2, VRID 51, priority 100, one VIP 192.0.2.100, auth PASS "secret", 1 s.
# Words 2133 6401 0101 [0000] c000 0264 7365 6372 6574 0000 sum to 0x284e4; folded 0x84e6;
# complemented 0x7b19.
V2_PASS = bytes.fromhex("2133640101017b19c00002647365637265740000")
# Same with auth none: 2133+6401+0001+c000+0264 = 0x14799 -> 0x479a -> checksum 0xb865.
V2_NONE = bytes.fromhex("213364010001b865c00002640000000000000000")
# VRRPv3 over IPv4 from 192.0.2.1 to 224.0.0.18, 100 cs. Message words 3133 6401 0064 c000 0264
# plus pseudo-header c000 0201 e000 0012 0070 000c sum to 0x2fa8b -> 0xfa8d -> 0x0572.
V3_IPV4_PSEUDO = bytes.fromhex("3133640100640572c0000264")
# The message alone: 0x157fc -> 0x57fd -> 0xa802.
V3_IPV4_MESSAGE_ONLY = bytes.fromhex("313364010064a802c0000264")


def test_v2_pass_vector_encodes_byte_for_byte() -> None:
    advert = Advertisement(2, 51, 100, 100, (VIP4,), AUTH_PASS, b"secret")
    assert encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4) == V2_PASS
    assert reference_checksum(V2_PASS) == 0


def test_v2_pass_vector_decodes_with_padded_password() -> None:
    advert = decode(V2_PASS, source=SOURCE4, destination=VRRP_MCAST_GROUP4)
    assert advert == Advertisement(2, 51, 100, 100, (VIP4,), AUTH_PASS, b"secret\0\0")


def test_v2_auth_none_vector_carries_eight_zero_auth_bytes() -> None:
    advert = Advertisement(2, 51, 100, 100, (VIP4,))
    assert encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4) == V2_NONE
    assert decode(V2_NONE, source=SOURCE4, destination=VRRP_MCAST_GROUP4) == advert


def test_v2_auth_none_ignores_auth_bytes_like_keepalived() -> None:
    data = message(field=0x0001, trailer=b"leftover")
    advert = decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4)
    assert (advert.auth_type, advert.auth_data) == (AUTH_NONE, b"")


@pytest.mark.parametrize(
    ("mode", "vector"),
    [
        (ChecksumMode.PSEUDO_HEADER, V3_IPV4_PSEUDO),
        (ChecksumMode.MESSAGE_ONLY, V3_IPV4_MESSAGE_ONLY),
    ],
)
def test_v3_ipv4_vectors_encode_and_decode(mode: ChecksumMode, vector: bytes) -> None:
    advert = Advertisement(3, 51, 100, 100, (VIP4,))
    assert (
        encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4, checksum_mode=mode) == vector
    )
    assert decode(vector, source=SOURCE4, destination=VRRP_MCAST_GROUP4) == advert


# --- round trips ------------------------------------------------------------------------------


def many(prefix: str, count: int) -> tuple[IPAddress, ...]:
    """`count` distinct addresses under `prefix` (a documentation range)."""
    base = int(ip_address(prefix))
    return tuple(ip_address(base + offset) for offset in range(count))


ROUND_TRIPS = [
    pytest.param(2, AUTH_NONE, b"", SOURCE4, VRRP_MCAST_GROUP4, id="v2-none"),
    pytest.param(2, AUTH_PASS, b"pa55word", SOURCE4, VRRP_MCAST_GROUP4, id="v2-pass"),
    pytest.param(
        2, AUTH_PASS, b"ab\0\0\0\0\0\0", SOURCE4, IPv4Address("192.0.2.2"), id="v2-unicast"
    ),
    pytest.param(3, AUTH_NONE, b"", SOURCE4, VRRP_MCAST_GROUP4, id="v3-ipv4"),
    pytest.param(3, AUTH_NONE, b"", SOURCE4, IPv4Address("198.51.100.7"), id="v3-ipv4-unicast"),
    pytest.param(3, AUTH_NONE, b"", SOURCE6, VRRP_MCAST_GROUP6, id="v3-ipv6"),
]


@pytest.mark.parametrize("count", [0, 1, 7, 255])
@pytest.mark.parametrize(
    ("version", "auth_type", "auth_data", "source", "destination"), ROUND_TRIPS
)
def test_round_trip(
    version: int,
    auth_type: int,
    auth_data: bytes,
    source: IPAddress,
    destination: IPAddress,
    count: int,
) -> None:
    prefix = "203.0.113.0" if source.version == 4 else "2001:db8::"
    interval_cs = 300 if version == 2 else 4095
    advert = Advertisement(
        version, 200, 254, interval_cs, many(prefix, count), auth_type, auth_data
    )
    data = encode(advert, source=source, destination=destination)
    address_size = 4 if source.version == 4 else 16
    assert len(data) == 8 + address_size * count + (8 if version == 2 else 0)
    assert decode(data, source=source, destination=destination) == advert


def test_v3_ipv4_decodes_either_checksum_mode() -> None:
    advert = Advertisement(3, 9, 0, 1, many("198.51.100.0", 3))
    for mode in ChecksumMode:
        data = encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4, checksum_mode=mode)
        assert decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4) == advert


@pytest.mark.parametrize("mode", list(ChecksumMode))
def test_checksum_form_tells_which_v3_ipv4_form_was_sent(mode: ChecksumMode) -> None:
    advert = Advertisement(3, 9, 100, 100, many("198.51.100.0", 2))
    data = encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4, checksum_mode=mode)
    assert checksum_form(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4) is mode


def test_checksum_form_of_v2_and_ipv6_is_fixed_by_the_rfcs() -> None:
    v2 = encode(Advertisement(2, 9, 100, 100, (VIP4,)), source=SOURCE4, destination=VIP4)
    assert checksum_form(v2, source=SOURCE4, destination=VIP4) is ChecksumMode.MESSAGE_ONLY
    v3 = encode(
        Advertisement(3, 9, 100, 100, (VIP6,)),
        source=SOURCE6,
        destination=VRRP_MCAST_GROUP6,
        checksum_mode=ChecksumMode.MESSAGE_ONLY,
    )
    form = checksum_form(v3, source=SOURCE6, destination=VRRP_MCAST_GROUP6)
    assert form is ChecksumMode.PSEUDO_HEADER


def test_v3_ipv6_uses_the_pseudo_header_whatever_the_mode() -> None:
    advert = Advertisement(3, 9, 10, 50, (VIP6,))
    expected = v3_message(SOURCE6, VRRP_MCAST_GROUP6, (VIP6,), vrid=9, priority=10, field=50)
    for mode in ChecksumMode:
        data = encode(advert, source=SOURCE6, destination=VRRP_MCAST_GROUP6, checksum_mode=mode)
        assert data == expected


@pytest.mark.parametrize(
    ("password", "on_wire"),
    [
        (b"", bytes(8)),
        (b"abc", b"abc\0\0\0\0\0"),
        (b"exactly8", b"exactly8"),
        (b"longer-than-8", b"longer-t"),
    ],
)
def test_v2_pass_password_is_zero_padded_or_truncated_to_eight_bytes(
    password: bytes, on_wire: bytes
) -> None:
    advert = Advertisement(2, 1, 100, 100, (VIP4,), AUTH_PASS, password)
    data = encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4)
    assert data[-8:] == on_wire
    assert decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4).auth_data == on_wire


def test_v3_reserved_bits_are_ignored_on_receive() -> None:
    data = v3_message(SOURCE4, VRRP_MCAST_GROUP4, (VIP4,), field=0xF000 | 250)
    assert decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4).interval_cs == 250


# --- encode refuses what the wire cannot carry -------------------------------------------------


@pytest.mark.parametrize(
    ("advert", "source", "destination"),
    [
        pytest.param(
            Advertisement(2, 1, 100, 150, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="v2-fraction"
        ),
        pytest.param(
            Advertisement(2, 1, 100, 0, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="v2-zero"
        ),
        pytest.param(
            Advertisement(2, 1, 100, 25600, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="v2-256s"
        ),
        pytest.param(
            Advertisement(2, 1, 100, 100, (VIP6,)), SOURCE6, VRRP_MCAST_GROUP6, id="v2-ipv6"
        ),
        pytest.param(
            Advertisement(2, 1, 100, 100, (VIP4,), 2), SOURCE4, VRRP_MCAST_GROUP4, id="v2-ah"
        ),
        pytest.param(
            Advertisement(2, 1, 100, 100, (VIP4,), AUTH_NONE, b"x"),
            SOURCE4,
            VRRP_MCAST_GROUP4,
            id="none-data",
        ),
        pytest.param(
            Advertisement(3, 1, 100, 0, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="v3-zero"
        ),
        pytest.param(
            Advertisement(3, 1, 100, 4096, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="v3-4096"
        ),
        pytest.param(
            Advertisement(3, 1, 100, 100, (VIP4,), AUTH_PASS, b"x"),
            SOURCE4,
            VRRP_MCAST_GROUP4,
            id="v3-auth",
        ),
        pytest.param(
            Advertisement(4, 1, 100, 100, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="version"
        ),
        pytest.param(
            Advertisement(3, 0, 100, 100, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="vrid-0"
        ),
        pytest.param(
            Advertisement(3, 256, 100, 100, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="vrid-256"
        ),
        pytest.param(
            Advertisement(3, 1, 256, 100, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="prio-256"
        ),
        pytest.param(
            Advertisement(3, 1, -1, 100, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP4, id="prio-neg"
        ),
        pytest.param(
            Advertisement(3, 1, 100, 100, many("203.0.113.0", 256)),
            SOURCE4,
            VRRP_MCAST_GROUP4,
            id="256-vips",
        ),
        pytest.param(
            Advertisement(3, 1, 100, 100, (VIP6,)), SOURCE4, VRRP_MCAST_GROUP4, id="vip-family"
        ),
        pytest.param(
            Advertisement(3, 1, 100, 100, (VIP4,)), SOURCE4, VRRP_MCAST_GROUP6, id="dst-family"
        ),
    ],
)
def test_encode_rejects_unencodable_adverts(
    advert: Advertisement, source: IPAddress, destination: IPAddress
) -> None:
    with pytest.raises(ValueError):
        encode(advert, source=source, destination=destination)


# --- decode: every reject reason from a hand-built packet --------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(message()[:7], id="shorter-than-header"),
        pytest.param(message(count=2), id="count-exceeds-addresses"),
        pytest.param(message(trailer=b""), id="v2-without-auth-bytes"),
        pytest.param(v3_message(SOURCE4, VRRP_MCAST_GROUP4, (VIP4,))[:-1], id="v3-cut-address"),
    ],
)
def test_length_errors(data: bytes) -> None:
    assert rejected(data).reason is RejectReason.LENGTH


# --- trailing bytes: keepalived 2.4's auth_hmac trailer, accepted and kept ----------------------

HMAC_TRAILER = bytes(range(1, 29))
"""28 bytes, the size keepalived 2.4.3's auth_hmac appends (a 1-VIP v3 payload becomes 40)."""


def test_v3_trailer_summed_with_the_message_is_kept() -> None:
    length = 8 + 4 + len(HMAC_TRAILER)
    data = message(
        version=3,
        field=100,
        trailer=HMAC_TRAILER,
        pseudo=pseudo_header(SOURCE4, VRRP_MCAST_GROUP4, length),
    )
    assert len(data) == 40
    advert = decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4)
    assert advert.addresses == (VIP4,) and advert.interval_cs == 100
    assert advert.trailer == HMAC_TRAILER


@pytest.mark.parametrize("source", [SOURCE4, SOURCE6])
def test_v3_trailer_outside_the_checksum_is_kept(source: IPAddress) -> None:
    group = VRRP_MCAST_GROUP4 if source.version == 4 else VRRP_MCAST_GROUP6
    vip = VIP4 if source.version == 4 else VIP6
    data = v3_message(source, group, (vip,)) + HMAC_TRAILER
    advert = decode(data, source=source, destination=group)
    assert advert.addresses == (vip,) and advert.trailer == HMAC_TRAILER


def test_v2_trailer_after_the_auth_data_leaves_the_password_intact() -> None:
    data = message(field=AUTH_PASS << 8 | 1, trailer=b"secret\0\0") + HMAC_TRAILER
    advert = decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4)
    assert advert.auth_data == b"secret\0\0" and advert.trailer == HMAC_TRAILER


def test_a_corrupted_trailer_still_fails_a_checksum_that_covers_it() -> None:
    length = 8 + 4 + len(HMAC_TRAILER)
    data = message(
        version=3,
        field=100,
        trailer=HMAC_TRAILER,
        pseudo=pseudo_header(SOURCE4, VRRP_MCAST_GROUP4, length),
    )
    corrupted = data[:-1] + bytes([data[-1] ^ 0x01])
    assert rejected(corrupted).reason is RejectReason.CHECKSUM


def test_an_advert_without_trailer_has_an_empty_one() -> None:
    data = v3_message(SOURCE4, VRRP_MCAST_GROUP4, (VIP4,))
    assert decode(data, source=SOURCE4, destination=VRRP_MCAST_GROUP4).trailer == b""


def test_encode_never_sends_a_trailer() -> None:
    advert = Advertisement(3, 51, 100, 100, (VIP4,), trailer=b"x")
    with pytest.raises(ValueError, match="trailer"):
        encode(advert, source=SOURCE4, destination=VRRP_MCAST_GROUP4)


def test_ipv6_address_count_uses_sixteen_byte_addresses() -> None:
    four_bytes_each = v3_message(SOURCE4, VRRP_MCAST_GROUP4, many("192.0.2.0", 4))
    assert rejected(four_bytes_each, SOURCE6).reason is RejectReason.LENGTH


@pytest.mark.parametrize("version", [0, 1, 4, 15])
def test_unknown_version_is_rejected(version: int) -> None:
    assert rejected(message(version=version)).reason is RejectReason.VERSION


def test_v2_over_ipv6_is_rejected_as_version() -> None:
    data = message(addresses=(VIP6,))
    error = rejected(data, SOURCE6)
    assert error.reason is RejectReason.VERSION
    assert "IPv6" in error.detail


@pytest.mark.parametrize("kind", [0, 2, 15])
def test_non_advertisement_type_is_rejected(kind: int) -> None:
    assert rejected(message(kind=kind)).reason is RejectReason.TYPE
    assert rejected(v3_message(SOURCE6, VRRP_MCAST_GROUP6, (VIP6,), kind=kind), SOURCE6).reason is (
        RejectReason.TYPE
    )


def flip(data: bytes, bit: int) -> bytes:
    """`data` with one bit inverted."""
    mutable = bytearray(data)
    mutable[bit // 8] ^= 1 << (bit % 8)
    return bytes(mutable)


@pytest.mark.parametrize(
    ("data", "source"),
    [
        pytest.param(flip(V2_PASS, 8 * 6), SOURCE4, id="v2-checksum-field"),
        pytest.param(flip(V2_PASS, 8 * 18), SOURCE4, id="v2-password-byte"),
        pytest.param(flip(V3_IPV4_PSEUDO, 8 * 2), SOURCE4, id="v3-ipv4-priority"),
        pytest.param(V3_IPV4_PSEUDO, IPv4Address("192.0.2.2"), id="v3-ipv4-other-source"),
        pytest.param(
            message(version=3, addresses=(VIP6,), trailer=b"", field=100),
            SOURCE6,
            id="v3-ipv6-message-only",
        ),
        pytest.param(
            flip(v3_message(SOURCE6, VRRP_MCAST_GROUP6, (VIP6,)), 100), SOURCE6, id="v3-ipv6-vip"
        ),
    ],
)
def test_checksum_errors(data: bytes, source: IPAddress) -> None:
    assert rejected(data, source).reason is RejectReason.CHECKSUM


def test_v3_checksum_covers_the_destination() -> None:
    data = v3_message(SOURCE4, IPv4Address("192.0.2.2"), (VIP4,))
    assert decode(data, source=SOURCE4, destination=IPv4Address("192.0.2.2")).vrid == 51
    assert rejected(data, SOURCE4, VRRP_MCAST_GROUP4).reason is RejectReason.CHECKSUM


def test_vrid_zero_is_rejected() -> None:
    assert rejected(message(vrid=0)).reason is RejectReason.VRID
    assert (
        rejected(v3_message(SOURCE4, VRRP_MCAST_GROUP4, (VIP4,), vrid=0)).reason
        is RejectReason.VRID
    )


@pytest.mark.parametrize("auth_type", [3, 4, 255])
def test_unknown_v2_auth_type_is_rejected(auth_type: int) -> None:
    assert rejected(message(field=auth_type << 8 | 1)).reason is RejectReason.AUTH_TYPE


def test_ah_auth_type_is_rejected_as_unsupported() -> None:
    error = rejected(message(field=2 << 8 | 1))
    assert error.reason is RejectReason.AUTH_TYPE
    assert "AH" in error.detail
    assert "not supported" in error.detail


def test_v2_zero_interval_is_rejected() -> None:
    assert rejected(message(field=AUTH_PASS << 8 | 0)).reason is RejectReason.INTERVAL


@pytest.mark.parametrize("field", [0x0000, 0xF000], ids=["zero", "reserved-bits-only"])
def test_v3_zero_interval_is_rejected(field: int) -> None:
    data = v3_message(SOURCE6, VRRP_MCAST_GROUP6, (VIP6,), field=field)
    assert rejected(data, SOURCE6).reason is RejectReason.INTERVAL


def test_mixed_family_addresses_are_rejected_as_family() -> None:
    assert rejected(V2_NONE, SOURCE4, VRRP_MCAST_GROUP6).reason is RejectReason.FAMILY


def test_decode_error_names_reason_and_detail() -> None:
    error = rejected(message(vrid=0))
    assert str(error) == f"vrid: {error.detail}"


# --- parse_ipv4 -------------------------------------------------------------------------------


def ipv4_datagram(
    payload: bytes,
    *,
    protocol: int = VRRP_PROTOCOL,
    ttl: int = 255,
    options: bytes = b"",
    total_length: int | None = None,
    version_ihl: int | None = None,
) -> bytes:
    """An IPv4 header (checksum left 0: the kernel checks it, not us) followed by `payload`."""
    header_length = 20 + len(options)
    if total_length is None:
        total_length = header_length + len(payload)
    if version_ihl is None:
        version_ihl = 0x40 | header_length // 4
    fixed = struct.pack(
        "!BBHHHBBH4s4s",
        version_ihl,
        0xC0,
        total_length,
        0x1234,
        0,
        ttl,
        protocol,
        0,
        SOURCE4.packed,
        VRRP_MCAST_GROUP4.packed,
    )
    return fixed + options + payload


def test_parse_ipv4_returns_header_fields_and_payload() -> None:
    header, payload = parse_ipv4(ipv4_datagram(V2_PASS, ttl=254))
    assert header == IPv4Header(SOURCE4, VRRP_MCAST_GROUP4, 254, VRRP_PROTOCOL)
    assert payload == V2_PASS


def test_parse_ipv4_skips_options() -> None:
    _, payload = parse_ipv4(ipv4_datagram(V2_PASS, options=b"\x94\x04\0\0"))
    assert payload == V2_PASS


def test_parse_ipv4_trims_payload_to_total_length() -> None:
    datagram = ipv4_datagram(V2_PASS + b"padding", total_length=20 + len(V2_PASS))
    assert parse_ipv4(datagram)[1] == V2_PASS


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(b"", id="empty"),
        pytest.param(ipv4_datagram(b"")[:19], id="shorter-than-header"),
        pytest.param(ipv4_datagram(V2_PASS, version_ihl=0x44), id="ihl-below-5"),
        pytest.param(ipv4_datagram(V2_PASS, version_ihl=0x4F), id="ihl-beyond-total"),
        pytest.param(ipv4_datagram(V2_PASS, total_length=19), id="total-below-header"),
        pytest.param(
            ipv4_datagram(V2_PASS, total_length=20 + len(V2_PASS) + 1), id="total-beyond-data"
        ),
    ],
)
def test_parse_ipv4_length_errors(datagram: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_ipv4(datagram)
    assert caught.value.reason is RejectReason.LENGTH


def test_parse_ipv4_rejects_other_ip_versions() -> None:
    with pytest.raises(DecodeError) as caught:
        parse_ipv4(ipv4_datagram(V2_PASS, version_ihl=0x65))
    assert caught.value.reason is RejectReason.VERSION


@pytest.mark.parametrize("protocol", [6, 17, 51])
def test_parse_ipv4_rejects_other_protocols_as_type(protocol: int) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_ipv4(ipv4_datagram(V2_PASS, protocol=protocol))
    assert caught.value.reason is RejectReason.TYPE
    assert ("AH" in caught.value.detail) is (protocol == 51)


def ipv6_datagram(
    payload: bytes, *, hop_limit: int = 255, next_header: int = VRRP_PROTOCOL, **fields: int
) -> bytes:
    """An IPv6 fixed header from SOURCE6 to ff02::12 in front of `payload`."""
    first = fields.get("first", 0x60)
    length = fields.get("payload_length", len(payload))
    fixed = struct.pack("!BxxxHBB", first, length, next_header, hop_limit)
    return fixed + SOURCE6.packed + VRRP_MCAST_GROUP6.packed + payload


def test_parse_ipv6_returns_header_fields_and_trimmed_payload() -> None:
    message = v3_message(SOURCE6, VRRP_MCAST_GROUP6, (VIP6,), vrid=9, priority=10, field=50)
    header, payload = parse_ipv6(ipv6_datagram(message, hop_limit=254) + b"pad")
    assert header == IPv6Header(SOURCE6, VRRP_MCAST_GROUP6, 254, VRRP_PROTOCOL)
    assert payload == message


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        pytest.param(ipv6_datagram(b"")[:39], RejectReason.LENGTH, id="short-header"),
        pytest.param(ipv6_datagram(b"x", payload_length=2), RejectReason.LENGTH, id="long-payload"),
        pytest.param(ipv6_datagram(b"x", first=0x45), RejectReason.VERSION, id="version-4"),
        pytest.param(ipv6_datagram(b"x", next_header=0), RejectReason.TYPE, id="hop-by-hop"),
    ],
)
def test_parse_ipv6_errors(datagram: bytes, reason: RejectReason) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_ipv6(datagram)
    assert caught.value.reason is reason
