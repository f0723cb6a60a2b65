"""The values the protocol core speaks in: advertisements, reject reasons, states.

They live in one small module so that the codec, the state machine and every subscriber
(metrics, logs, spans) share one vocabulary; label values on metrics come straight from the
enum values here, so renaming one is a breaking change for dashboards and alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address

VRRP_PROTOCOL = 112
VRRP_TTL = 255
VRRP_MCAST_GROUP4 = IPv4Address("224.0.0.18")
VRRP_MCAST_GROUP6 = IPv6Address("ff02::12")

AUTH_NONE = 0
AUTH_PASS = 1
AUTH_AH = 2

PRIORITY_OWNER = 255
PRIORITY_RELEASE = 0


class Family(IntEnum):
    """An instance's address family, as the IP version number: the one type used end to end.

    Config, state machines, sockets and observers all speak it, so no layer can mistake the
    version number 6 for the socket module's AF_INET6 (10), or the other way round.
    """

    IPV4 = 4
    IPV6 = 6

    @property
    def label(self) -> str:
        """The `family` metric label and /status value: "ipv4" or "ipv6"."""
        return f"ipv{self.value}"


class RejectReason(StrEnum):
    """Why a received packet was dropped: a bounded set, used as a metric label."""

    TTL = "ttl"
    LENGTH = "length"
    VERSION = "version"
    TYPE = "type"
    CHECKSUM = "checksum"
    VRID = "vrid"
    FAMILY = "family"
    AUTH_TYPE = "auth_type"
    AUTH_MISMATCH = "auth_mismatch"
    AUTH_PASSWORD = "auth_password"
    ADDRESS_LIST = "address_list"
    INTERVAL = "interval"
    OWN_ADVERT = "own_advert"
    UNKNOWN_PEER = "unknown_peer"
    RECEIVE_ERROR = "receive_error"
    OVERFLOW = "overflow"
    """The kernel dropped it: the receive ring or socket buffer was full (counted, not seen)."""


class Anomaly(StrEnum):
    """A deviation an advert is accepted with, counted and logged: a bounded metric label.

    keepalived (2.3.3 on) accepts both, so a mixed group keeps one master: an address list that
    differs from ours is normal while a migration changes one router at a time, and keepalived
    2.4's `auth_hmac` appends a trailer after the message that only its own kind can verify.
    """

    ADDRESS_LIST = "address_list"
    TRAILING_BYTES = "trailing_bytes"


class DecodeError(Exception):
    """The one error raised for untrusted bytes that are not a valid VRRP advertisement."""

    def __init__(self, reason: RejectReason, detail: str, count: int = 1) -> None:
        """`count`: how many packets this stands for (an overflow reports the kernel's
        drops at once, not one by one)."""
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.count = count


class ChecksumMode(StrEnum):
    """How a VRRPv3-over-IPv4 checksum is computed when sending.

    PSEUDO_HEADER includes the IPv4 pseudo-header (keepalived 2.2, FRR, Wireshark);
    MESSAGE_ONLY covers the VRRP message alone (RFC 9568 erratum reading, some vendors).
    Receiving accepts either for IPv4; IPv6 always uses the pseudo-header.
    """

    PSEUDO_HEADER = "pseudo_header"
    MESSAGE_ONLY = "message_only"


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One VRRP advertisement, version 2 or 3, independent of its wire form.

    `interval_cs` is the advertisement interval in centiseconds for both versions so that
    comparisons are exact integers (a v2 interval of 1 s is 100). `trailer` holds bytes a
    received message carried after its end (keepalived 2.4's auth_hmac trailer); havip never
    sends one.
    """

    version: int
    vrid: int
    priority: int
    interval_cs: int
    addresses: tuple[IPAddress, ...]
    auth_type: int = AUTH_NONE
    auth_data: bytes = field(default=b"")
    trailer: bytes = field(default=b"")

    @property
    def interval(self) -> float:
        """The advertisement interval in seconds."""
        return self.interval_cs / 100.0


class State(StrEnum):
    """VRRP instance states; the values are the `state` metric label."""

    INIT = "init"
    BACKUP = "backup"
    MASTER = "master"
    FAULT = "fault"
    STOP = "stop"


class Reason(StrEnum):
    """Why a transition happened; the values are the `reason` metric label."""

    STARTUP = "startup"
    OWNER = "owner"
    MASTER_DOWN = "master_down"
    PREEMPT = "preempt"
    HIGHER_PRIORITY = "higher_priority"
    PRIORITY_ZERO = "priority_zero"
    FAULT = "fault"
    FAULT_CLEARED = "fault_cleared"
    SHUTDOWN = "shutdown"
    RELOAD = "reload"
    SYNC_GROUP = "sync_group"
