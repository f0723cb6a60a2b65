"""What the supervisor asks the loop to do, and to report: small values carried out in order.

Reports for the observers (`Stepped`, `PacketDropped`, `InstancesChanged`, `InterfaceTracked`)
are effects as they are; `TakeoverDone` becomes a `TookOver` report once the loop knows when;
the others touch the OS through `Net`.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Literal

from havip.config.model import VirtualRoute, VirtualRule
from havip.net.firewall import FirewallTable
from havip.net.netlink import LinkInfo, VipSpec
from havip.observer import (
    AnnouncementKind,
    InstanceRuntime,
    InstancesChanged,
    InterfaceTracked,
    PacketDropped,
    Stepped,
)
from havip.proto.events import StateChanged
from havip.proto.model import Family, IPAddress
from havip.proto.syncgroup import GroupStateChanged

if TYPE_CHECKING:
    from havip.supervisor import Driven

EndpointKey = tuple[str, Family]
"""(interface, family): one VRRP endpoint, shared by that interface's instances of the family."""


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send the encoded packets of one advert (one per destination) from `source`, through
    the endpoint or `via` a VMAC."""

    endpoint: EndpointKey
    runtime: InstanceRuntime
    source: IPAddress
    packets: tuple[tuple[IPAddress, bytes], ...]
    via: LinkInfo | None = None
    """use_vmac: send out of this VMAC (its MAC as the frames' source), not the endpoint."""


@dataclass(frozen=True, slots=True)
class ChangeVips:
    runtime: InstanceRuntime
    op: Literal["add", "remove"]
    specs: tuple[VipSpec, ...]


@dataclass(frozen=True, slots=True)
class ChangeRouting:
    """virtual_routes and virtual_rules: add a master's routes and then its rules (after its
    VIPs, which may be a route's source), or remove its rules and then its routes (before its
    VIPs go), as keepalived orders them."""

    runtime: InstanceRuntime
    op: Literal["add", "remove"]
    routes: tuple[VirtualRoute, ...]
    rules: tuple[VirtualRule, ...] = ()


@dataclass(frozen=True, slots=True)
class ListenForVips:
    """An IPv6 master's VIPs on a VMAC: listen to (`join`) or leave their solicited-node
    groups on the base interface's endpoint, so its MLD reports (not the VMAC's, which
    havip.net.mldfilter drops) tell snooping switches where neighbour solicitations for
    them must go."""

    runtime: InstanceRuntime
    endpoint: EndpointKey
    op: Literal["join", "leave"]
    groups: tuple[IPv6Address, ...]


@dataclass(frozen=True, slots=True)
class PromoteSecondaries:
    """promote_secondaries: keep `interface`'s other addresses when its primary one goes."""

    runtime: InstanceRuntime
    interface: str


@dataclass(frozen=True, slots=True)
class Firewall:
    """no_accept: drop traffic to and from `addresses` while a non-owner master holds them
    (`block`), or stop (`unblock`), in the nftables `table`."""

    runtime: InstanceRuntime
    op: Literal["block", "unblock"]
    addresses: tuple[IPAddress, ...]
    table: FirewallTable


@dataclass(frozen=True, slots=True)
class Announce:
    """`count` rounds of gratuitous ARP (or unsolicited NA) for `addresses` on `device`.

    `paced`: frames that waited for `vrrp_garp_interval` / `vrrp_gna_interval` (counted, not
    logged again)."""

    runtime: InstanceRuntime
    device: str
    mac: bytes
    addresses: tuple[IPAddress, ...]
    count: int
    kind: AnnouncementKind
    paced: bool = False


PacerKey = tuple[str, AnnouncementKind]
"""(device, kind): the frames one announcement interval spaces."""


@dataclass(frozen=True, slots=True)
class RearmPacer:
    """Paced announcements wait on `key`: call the supervisor's `announce_due` at `deadline`
    (None: nothing waits)."""

    key: PacerKey
    deadline: float | None


@dataclass(frozen=True, slots=True)
class TakeoverDone:
    """The move to MASTER is carried out (VIPs and first announcement): report its duration."""

    runtime: InstanceRuntime
    change: StateChanged


@dataclass(frozen=True, slots=True)
class OpenEndpoint:
    key: EndpointKey
    link: LinkInfo
    group: IPAddress


@dataclass(frozen=True, slots=True)
class CloseEndpoint:
    key: EndpointKey


@dataclass(frozen=True, slots=True)
class CreateVmac:
    """use_vmac: create the instance's VMAC interface `name` with `mac` on `base`, set up
    for the instance's address family."""

    runtime: InstanceRuntime
    base: LinkInfo
    name: str
    mac: bytes
    family: Family


@dataclass(frozen=True, slots=True)
class RemoveLeftovers:
    runtime: InstanceRuntime
    index: int
    specs: tuple[VipSpec, ...]


@dataclass(frozen=True, slots=True)
class Rearm:
    """The instance's next deadline may have moved: arm the loop's timer at `driven.armed`
    (the supervisor reads `machine.get_timer()` into it when it asks)."""

    driven: Driven


@dataclass(frozen=True, slots=True)
class GroupNotify:
    """A sync group changed state: log keepalived's line, run its notify scripts."""

    change: GroupStateChanged


Effect = (
    Stepped
    | Transmit
    | ChangeVips
    | ChangeRouting
    | PromoteSecondaries
    | ListenForVips
    | Firewall
    | Announce
    | TakeoverDone
    | PacketDropped
    | OpenEndpoint
    | CloseEndpoint
    | CreateVmac
    | RemoveLeftovers
    | Rearm
    | RearmPacer
    | GroupNotify
    | InterfaceTracked
    | InstancesChanged
)
