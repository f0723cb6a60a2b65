"""The Internet checksum (RFC 1071) and the pseudo-header sums VRRPv3 folds into it.

The receive path checks one checksum per packet, so the sum is computed without a Python loop:
a byte string read as one big-endian integer is congruent, modulo 0xFFFF, to the sum of its
16-bit words (because 2**16 == 1 mod 0xFFFF), and the ones' complement sum of those words is
exactly that residue, written 0xFFFF instead of 0 when any word is non-zero. One `int.from_bytes`
and one `%` therefore replace the word loop, and stay exact for any length.
"""

from __future__ import annotations

from havip.proto.model import VRRP_PROTOCOL, IPAddress

_WORD_MAX = 0xFFFF


def ones_complement_sum(data: bytes, initial: int = 0) -> int:
    """The 16-bit ones' complement sum of `data`'s words plus `initial`, in 0..0xFFFF.

    `data` of odd length is padded with one zero byte, as RFC 1071 says. `initial` is any
    non-negative integer congruent to an already-summed prefix, such as `pseudo_header_sum`.
    """
    total = int.from_bytes(data, "big")
    if len(data) & 1:
        total <<= 8
    total += initial
    if total == 0:
        return 0
    return total % _WORD_MAX or _WORD_MAX


def checksum(data: bytes, initial: int = 0) -> int:
    """The Internet checksum of `data` (with `initial` folded in), ready for the checksum field.

    Computed over a message whose checksum field is zero, this is the value to send; computed
    over a received message as it is, the result is 0 exactly when the checksum verifies.
    """
    return _WORD_MAX - ones_complement_sum(data, initial)


def pseudo_header_sum(
    source: IPAddress, destination: IPAddress, length: int, protocol: int = VRRP_PROTOCOL
) -> int:
    """A value congruent to the ones' complement sum of the IPv4 or IPv6 pseudo-header.

    Both layouts hold the two addresses, a zero-padded protocol number and the upper-layer
    length, each aligned on 16-bit words, so their word sums reduce to the same expression
    (RFC 768 for IPv4, RFC 8200 section 8.1 for IPv6).
    """
    return int(source) + int(destination) + protocol + length
