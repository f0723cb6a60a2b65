"""What the supervisor asks the loop to do, and to report: small values carried out in order.

Reports (`Report`, `Dropped`, `TookOver`, `InstancesChanged`, `InterfaceTracked`) go to the
observers and the notify dispatcher; the others touch the OS through `Net`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from havip.net.netlink import LinkInfo, VipSpec
from havip.observer import AnnouncementKind, InstanceRuntime
from havip.proto.events import Output, StateChanged
from havip.proto.model import Family, IPAddress, RejectReason
from havip.proto.syncgroup import GroupStateChanged

if TYPE_CHECKING:
    from havip.supervisor import Driven

EndpointKey = tuple[str, Family]
"""(interface, family): one VRRP endpoint, shared by that interface's instances of the family."""


@dataclass(frozen=True, slots=True)
class Report:
    """An instance's state machine produced these outputs at `now` (observers, notify)."""

    runtime: InstanceRuntime
    outputs: Sequence[Output]
    now: float


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send the encoded packets of one advert (one per destination) from `source`."""

    endpoint: EndpointKey
    runtime: InstanceRuntime
    source: IPAddress
    packets: tuple[tuple[IPAddress, bytes], ...]


@dataclass(frozen=True, slots=True)
class ChangeVips:
    runtime: InstanceRuntime
    op: Literal["add", "remove"]
    specs: tuple[VipSpec, ...]


@dataclass(frozen=True, slots=True)
class Announce:
    """`count` rounds of gratuitous ARP (or unsolicited NA) for `addresses` on `device`."""

    runtime: InstanceRuntime
    device: str
    mac: bytes
    addresses: tuple[IPAddress, ...]
    count: int
    kind: AnnouncementKind


@dataclass(frozen=True, slots=True)
class TookOver:
    """The move to MASTER is carried out (VIPs and first announcement): report its duration."""

    runtime: InstanceRuntime
    change: StateChanged


@dataclass(frozen=True, slots=True)
class Dropped:
    """A packet dropped before reaching an instance's state machine."""

    interface: str
    reason: RejectReason
    source: IPAddress | None
    runtime: InstanceRuntime | None
    detail: str


@dataclass(frozen=True, slots=True)
class OpenEndpoint:
    key: EndpointKey
    link: LinkInfo
    group: IPAddress


@dataclass(frozen=True, slots=True)
class CloseEndpoint:
    key: EndpointKey


@dataclass(frozen=True, slots=True)
class RemoveLeftovers:
    runtime: InstanceRuntime
    index: int
    specs: tuple[VipSpec, ...]


@dataclass(frozen=True, slots=True)
class Rearm:
    """The instance's next deadline may have moved: re-read `machine.get_timer()`."""

    driven: Driven


@dataclass(frozen=True, slots=True)
class GroupNotify:
    """A sync group changed state: log keepalived's line, run its notify scripts."""

    change: GroupStateChanged


@dataclass(frozen=True, slots=True)
class InterfaceTracked:
    """A tracked interface is up or down (the tracking metrics' gauge)."""

    name: str
    up: bool


@dataclass(frozen=True, slots=True)
class InstancesChanged:
    added: tuple[InstanceRuntime, ...]
    removed: tuple[InstanceRuntime, ...]
    changed: tuple[InstanceRuntime, ...]


Effect = (
    Report
    | Transmit
    | ChangeVips
    | Announce
    | TookOver
    | Dropped
    | OpenEndpoint
    | CloseEndpoint
    | RemoveLeftovers
    | Rearm
    | GroupNotify
    | InterfaceTracked
    | InstancesChanged
)
