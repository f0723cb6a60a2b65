"""Interfaces and virtual addresses through rtnetlink (pyroute2).

havip tags every address it adds with its own IFA_PROTO value, so after a crash it can tell
its leftover VIPs from addresses an operator configured by hand, and never removes the
latter. IPv6 VIPs skip duplicate address detection (as keepalived's do): the group, not
DAD, decides who holds the address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

HAVIP_ADDRESS_PROTO = 0x76
"""IFA_PROTO value marking addresses havip added ('v'); kernels before 6.1 ignore it."""

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


@dataclass(frozen=True, slots=True)
class VipSpec:
    """One virtual address as netlink needs it."""

    interface: IPv4Interface | IPv6Interface
    device: str
    label: str | None = None
    scope: str | None = None
    broadcast: IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """What the agent needs to know about one interface right now."""

    index: int
    name: str
    up: bool
    mac: bytes
    ipv4: IPv4Address | None
    ipv6_link_local: IPv6Address | None


class Netlink:
    """A synchronous rtnetlink handle; each call is a sub-millisecond kernel round trip."""

    def __init__(self) -> None:
        self.ipr = IPRoute()

    def close(self) -> None:
        self.ipr.close()

    def link(self, name: str) -> LinkInfo | None:
        """The interface called `name`, or None if it does not exist."""
        indexes = self.ipr.link_lookup(ifname=name)
        if not indexes:
            return None
        index = indexes[0]
        links = self.ipr.get_links(index)
        if not links:
            return None
        message = links[0]
        flags = message["flags"]
        mac_text = message.get_attr("IFLA_ADDRESS") or "00:00:00:00:00:00"
        return LinkInfo(
            index=index,
            name=name,
            up=bool(flags & IFF_UP) and bool(flags & IFF_RUNNING),
            mac=bytes.fromhex(mac_text.replace(":", "")),
            ipv4=self._primary_ipv4(index),
            ipv6_link_local=self._link_local(index),
        )

    def _primary_ipv4(self, index: int) -> IPv4Address | None:
        for message in self.ipr.get_addr(index=index, family=2):
            if message["flags"] & 0x01:  # IFA_F_SECONDARY
                continue
            if message.get_attr("IFA_PROTO") == HAVIP_ADDRESS_PROTO:
                continue
            return IPv4Address(message.get_attr("IFA_ADDRESS"))
        return None

    def _link_local(self, index: int) -> IPv6Address | None:
        for message in self.ipr.get_addr(index=index, family=10):
            address = IPv6Address(message.get_attr("IFA_ADDRESS"))
            if address.is_link_local and not message["flags"] & IFA_F_TENTATIVE:
                return address
        return None

    def add(self, index: int, vips: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        """Add VIPs tagged as havip's; return (added, failures). Present ones count as added."""
        added: list[str] = []
        failures: list[str] = []
        for vip in vips:
            kwargs: dict[str, object] = {
                "index": index,
                "address": str(vip.interface.ip),
                "prefixlen": vip.interface.network.prefixlen,
                "proto": HAVIP_ADDRESS_PROTO,
            }
            if vip.label:
                kwargs["label"] = vip.label
            if vip.scope:
                kwargs["scope"] = SCOPES.get(vip.scope, 0)
            if vip.broadcast is not None:
                kwargs["broadcast"] = str(vip.broadcast)
            if vip.interface.version == 6:
                kwargs["flags"] = IFA_F_NODAD
            try:
                self.ipr.addr("add", **kwargs)
            except NetlinkError as error:
                if error.code != 17:  # EEXIST: already there, nothing to do
                    failures.append(f"{vip.interface}: {error}")
                    continue
            added.append(str(vip.interface.ip))
        return added, failures

    def remove(self, index: int, vips: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        """Remove the VIPs havip added (tagged); never an address someone else configured."""
        ours = self.tagged(index)
        removed: list[str] = []
        failures: list[str] = []
        for vip in vips:
            if vip.interface.ip not in ours:
                continue
            try:
                self.ipr.addr(
                    "del",
                    index=index,
                    address=str(vip.interface.ip),
                    prefixlen=vip.interface.network.prefixlen,
                )
            except NetlinkError as error:
                if error.code != 99:  # EADDRNOTAVAIL: already gone
                    failures.append(f"{vip.interface}: {error}")
                    continue
            removed.append(str(vip.interface.ip))
        return removed, failures

    def tagged(self, index: int) -> set[IPv4Address | IPv6Address]:
        """Addresses on the interface that carry havip's tag."""
        found: set[IPv4Address | IPv6Address] = set()
        for message in self.ipr.get_addr(index=index):
            if message.get_attr("IFA_PROTO") == HAVIP_ADDRESS_PROTO:
                found.add(ip_address(message.get_attr("IFA_ADDRESS")))
        return found


def vips_on(vips: Iterable[VipSpec], device: str) -> list[VipSpec]:
    return [vip for vip in vips if vip.device == device]
