"""`use_vmac`'s optional MAC address argument, read with keepalived 2.2's rules.

keepalived lets an operator give the VMAC a MAC of their own instead of the RFC 5798 virtual
MAC (say, where two segments bridged together both use the same VRID): six octets, or five,
with the VRID as the sixth; each octet one or two hex digits, separated by ':'. It refuses a
multicast MAC (no interface can have one) and the RFC 5798 prefixes 00:00:5e:00:01 and
00:00:5e:00:02 (leaving the argument out gives the RFC's MAC). An address with a problem is an
error here rather than ignored as in keepalived: the operator asked for a MAC and would not get
it.
"""

from __future__ import annotations

from dataclasses import dataclass

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
RFC_5798_PREFIXES = (bytes([0, 0, 0x5E, 0, 1]), bytes([0, 0, 0x5E, 0, 2]))


@dataclass(frozen=True, slots=True)
class VmacAddress:
    """The MAC as written: six octets, or five to which the VRID is added."""

    octets: bytes

    def for_vrid(self, vrid: int) -> bytes:
        """The VMAC's MAC for an instance with this VRID."""
        return self.octets if len(self.octets) == 6 else self.octets + bytes([vrid])


def looks_like_mac(word: str) -> bool:
    """keepalived's test: an interface name cannot hold ':', so a word with one is a MAC."""
    return ":" in word


def read_vmac_address(text: str) -> VmacAddress | str:
    """The address `text` gives, or why it cannot be a VMAC's MAC."""
    parts = text[:-1].split(":") if text.endswith(":") and text.count(":") == 5 else text.split(":")
    if len(parts) not in (5, 6) or not all(
        1 <= len(part) <= 2 and set(part) <= HEX_DIGITS for part in parts
    ):
        return (
            f"'{text}' is not a MAC address (six octets such as 02:00:5e:10:00:01,"
            " or five followed by the VRID)"
        )
    octets = bytes(int(part, 16) for part in parts)
    if octets[0] & 0x01:
        return f"'{text}' is a multicast MAC address"
    if octets[:5] in RFC_5798_PREFIXES:
        return (
            f"'{text}' is in the RFC 5798 virtual MAC range; leave the address out to use"
            " the RFC's virtual MAC"
        )
    return VmacAddress(octets)
