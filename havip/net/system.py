"""The agent's one door to the operating system: the `Net` interface and its real implementation.

The agent never opens a socket or a netlink handle itself; it asks a `Net`. Production uses
`SystemNet` (raw VRRP sockets, rtnetlink, packet sockets); agent-level tests pass a fake `Net`
and drive the real loop under trio's MockClock, without root or namespaces.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Protocol

import trio

from havip.config.model import VirtualRoute, VirtualRule
from havip.net.announce import Announcer
from havip.net.firewall import FirewallError, FirewallTable, NftFirewall
from havip.net.framesend import FrameSender, NotEthernet
from havip.net.links import LinkMonitor
from havip.net.netlink import LinkInfo, Netlink, VipSpec
from havip.net.ring import VrrpRing
from havip.net.routes import RouteResult, RouteWriter, RuleWriter
from havip.net.sysctl import InterfaceSettings
from havip.net.timerfd import TimerFd
from havip.net.viprecord import VipRecord
from havip.net.vmac import Vmacs
from havip.net.vrrpsock import Datagram, VrrpSocket
from havip.proto.model import DecodeError, Family, IPAddress

log = logging.getLogger("havip")

VipResult = tuple[list[str], list[str]]
"""(addresses changed, failures described): what a VIP change reports."""


class VrrpEndpoint(Protocol):
    """A raw VRRP socket on one interface for one family, shared by its instances."""

    interface: str
    group: IPAddress

    async def wait_readable(self) -> None:
        """Return once a packet may be waiting."""

    async def wait_window(self, seconds: float) -> None:
        """Return after `seconds`: the receive window, for adverts to gather."""

    def receive_batch(self, limit: int) -> list[tuple[Datagram | DecodeError, float | None]]:
        """Up to `limit` waiting packets (a bad IPv4 header as its DecodeError), each with its
        arrival time on the trio clock (None if unknown); empty when none waits. The same
        bytes may come back as the same Datagram object. Any other receive failure is raised
        as OSError.
        """

    def send(self, payload: bytes, source: IPAddress, destination: IPAddress) -> None:
        """Send one advert; a full buffer or a vanished route is an OSError."""

    def join(self, group: IPv6Address) -> None:
        """Listen to `group` on this interface (counted: as often as `leave`). OSError."""

    def leave(self, group: IPv6Address) -> None:
        """Stop listening to `group` once every `join` has left. OSError."""

    def close(self) -> None: ...


class Net(Protocol):
    """Everything the agent does to the OS, as a few small calls."""

    def link(self, name: str) -> LinkInfo | None:
        """The interface called `name` now, or None if it does not exist."""

    async def link_changes(self) -> None:
        """Return when some interface or address may have changed."""

    def open_vrrp(self, link: LinkInfo, family: Family, group: IPAddress) -> VrrpEndpoint:
        """A VRRP endpoint on `link` joined to `group`; raises OSError."""

    def add_vips(self, index: int, specs: Sequence[VipSpec]) -> VipResult: ...

    def release_vips(self, index: int, specs: Sequence[VipSpec]) -> VipResult:
        """Remove the VIPs this process added (never an operator's own address)."""

    def remove_leftovers(self, index: int, specs: Sequence[VipSpec]) -> VipResult:
        """Remove VIPs a previous havip left behind (tagged as havip's)."""

    def save_vip_record(self) -> None:
        """Write down the VIPs held now, after a batch of changes (never before the batch's
        adverts and announcements: the record must not delay a takeover)."""

    def remove_recorded(self) -> VipResult:
        """Remove the VIPs a previous havip recorded as held, on any kernel, configured or not."""

    def announce(self, device: str, mac: bytes, addresses: Sequence[IPAddress]) -> int:
        """Send one gratuitous ARP / unsolicited NA per address; return how many went out."""

    def add_routes(self, routes: Sequence[VirtualRoute]) -> RouteResult:
        """Add virtual routes as havip's; one already there counts as added."""

    def remove_routes(self, routes: Sequence[VirtualRoute]) -> RouteResult:
        """Remove the virtual routes havip added (never an operator's); the ones removed."""

    def add_rules(self, rules: Sequence[VirtualRule]) -> RouteResult:
        """Add virtual policy rules as havip's; one already there counts as added."""

    def promote_secondaries(self, interface: str) -> None:
        """Keep an interface's other addresses in a subnet when its primary one is removed
        (net.ipv4.conf.IF.promote_secondaries=1), put back when havip stops. OSError."""

    def remove_rules(self, rules: Sequence[VirtualRule]) -> RouteResult:
        """Remove the virtual rules havip added (never an operator's); the ones removed."""

    def create_vmac(self, base: LinkInfo, name: str, mac: bytes, family: Family) -> None:
        """A VMAC interface `name` with `mac` on `base` for `family`, up (removed on close).
        OSError."""

    def send_via(
        self, link: LinkInfo, family: Family, payload: bytes, source: IPAddress, to: IPAddress
    ) -> None:
        """Send one advert out of `link` (a VMAC) from a socket that does not listen there;
        OSError as `VrrpEndpoint.send`."""

    def block_vips(self, table: FirewallTable, addresses: Sequence[IPAddress]) -> list[str]:
        """Drop traffic to and from `addresses` (no_accept); the ones newly blocked. OSError."""

    def unblock_vips(self, addresses: Sequence[IPAddress]) -> list[str]:
        """Stop dropping traffic for `addresses`; the ones unblocked. OSError."""

    def close(self) -> None: ...


class SystemEndpoint:
    """`VrrpEndpoint` over a real raw socket; an IPv4 one on Ethernet receives through a
    memory-mapped ring beside it (havip.net.ring) and sends its multicast adverts as frames
    (havip.net.framesend), an IPv6 one does both through the socket itself."""

    def __init__(
        self, sock: VrrpSocket, ring: VrrpRing | None = None, frames: FrameSender | None = None
    ) -> None:
        self._sock = sock
        self._ring = ring
        self._frames = frames
        self._receiver: VrrpSocket | VrrpRing = sock if ring is None else ring
        try:
            self._window = TimerFd()
        except OSError:
            if ring is not None:
                ring.close()
            if frames is not None:
                frames.close()
            sock.close()
            raise
        if ring is not None:
            sock.discard_received()
        self.interface = sock.interface
        self.group = sock.group
        self._offset = 0.0
        self._offset_checked = -math.inf

    async def wait_readable(self) -> None:
        await trio.lowlevel.wait_readable(self._receiver.sock)

    async def wait_window(self, seconds: float) -> None:
        await self._window.wait(seconds)

    def _clock_offset(self) -> float:
        """trio's clock minus the wall clock, read again once a second (a stepped wall clock
        shifts arrival times until then; the receive loop clamps what that could do)."""
        checked = time.monotonic()
        if checked - self._offset_checked > 1.0:
            self._offset = trio.current_time() - time.time()
            self._offset_checked = checked
        return self._offset

    def receive_batch(self, limit: int) -> list[tuple[Datagram | DecodeError, float | None]]:
        return self._receiver.receive_batch(limit, self._clock_offset())

    def send(self, payload: bytes, source: IPAddress, destination: IPAddress) -> None:
        group, frames = self.group, self._frames
        if frames is not None and (destination is group or destination == group):
            frames.send(payload, source)
        else:
            self._sock.send(payload, source, destination)

    def join(self, group: IPv6Address) -> None:
        self._sock.join(group)

    def leave(self, group: IPv6Address) -> None:
        self._sock.leave(group)

    def close(self) -> None:
        self._window.close()
        if self._ring is not None:
            self._ring.close()
        if self._frames is not None:
            self._frames.close()
        self._sock.close()


def open_endpoint(link: LinkInfo, family: Family, group: IPAddress) -> SystemEndpoint:
    """A raw socket joined to `group` on `link`; for IPv4 on Ethernet, a receive ring and a
    frame sender beside it.

    Where the kernel refuses the ring (a sandbox without PACKET_RX_RING, say), the raw socket
    receives as well, at a system call per advert: slower, never wrong. Where it refuses the
    frame sender, the raw socket sends.
    """
    sock = VrrpSocket(link.name, link.index, family, group)
    if not isinstance(group, IPv4Address):
        return SystemEndpoint(sock)
    try:
        ring: VrrpRing | None = VrrpRing(link.name, link.index)
    except OSError as error:
        log.warning("no receive ring on %s (%s): the raw socket receives", link.name, error)
        ring = None
    frames: FrameSender | None = None
    try:
        frames = FrameSender(link.name, group)
    except NotEthernet:
        pass
    except OSError as error:
        log.warning("no packet socket on %s (%s): the raw socket sends", link.name, error)
    return SystemEndpoint(sock, ring, frames)


class SystemNet:
    """The real `Net`: rtnetlink for links and VIPs, raw and packet sockets for the wire."""

    def __init__(self, record: Path | None = None) -> None:
        self._netlink = Netlink(VipRecord(record) if record is not None else None)
        self._routes = RouteWriter(self._netlink.ipr, self._netlink.index)
        self._rules = RuleWriter(self._netlink.ipr)
        self._monitor = LinkMonitor()
        self._announcers: dict[str, Announcer] = {}
        self._firewall: NftFirewall | None = None
        self._interface_settings = InterfaceSettings()
        self._vmacs = Vmacs(self._interface_settings)
        self._senders: dict[tuple[int, Family], VrrpSocket] = {}

    def link(self, name: str) -> LinkInfo | None:
        return self._netlink.link(name)

    async def link_changes(self) -> None:
        await self._monitor.changes()

    def open_vrrp(self, link: LinkInfo, family: Family, group: IPAddress) -> VrrpEndpoint:
        return open_endpoint(link, family, group)

    def add_vips(self, index: int, specs: Sequence[VipSpec]) -> VipResult:
        return self._netlink.add(index, specs)

    def release_vips(self, index: int, specs: Sequence[VipSpec]) -> VipResult:
        return self._netlink.release(index, specs)

    def save_vip_record(self) -> None:
        self._netlink.save_record()

    def remove_leftovers(self, index: int, specs: Sequence[VipSpec]) -> VipResult:
        return self._netlink.remove_leftovers(index, specs)

    def remove_recorded(self) -> VipResult:
        return self._netlink.remove_recorded()

    def add_routes(self, routes: Sequence[VirtualRoute]) -> RouteResult:
        return self._routes.add(routes)

    def remove_routes(self, routes: Sequence[VirtualRoute]) -> RouteResult:
        return self._routes.remove(routes)

    def add_rules(self, rules: Sequence[VirtualRule]) -> RouteResult:
        return self._rules.add(rules)

    def promote_secondaries(self, interface: str) -> None:
        self._interface_settings.set("ipv4", interface, "promote_secondaries", "1")

    def remove_rules(self, rules: Sequence[VirtualRule]) -> RouteResult:
        return self._rules.remove(rules)

    def announce(self, device: str, mac: bytes, addresses: Sequence[IPAddress]) -> int:
        announcer = self._announcers.get(device)
        if announcer is None:
            announcer = self._announcers[device] = Announcer(device)
        return announcer.announce(mac, tuple(addresses))

    def create_vmac(self, base: LinkInfo, name: str, mac: bytes, family: Family) -> None:
        self._vmacs.create(base.index, base.name, name, mac, family)

    def send_via(
        self, link: LinkInfo, family: Family, payload: bytes, source: IPAddress, to: IPAddress
    ) -> None:
        sender = self._senders.get((link.index, family))
        if sender is None:
            sender = VrrpSocket(link.name, link.index, family, to, listen=False)
            sender.discard_received()  # it only sends: the base interface's endpoint reads
            self._senders[(link.index, family)] = sender
        sender.send(payload, source, to)

    def block_vips(self, table: FirewallTable, addresses: Sequence[IPAddress]) -> list[str]:
        if self._firewall is None:
            self._firewall = NftFirewall(table)
        try:
            return self._firewall.block(addresses)
        except ImportError as error:  # the binding or libnftables1 is missing
            raise FirewallError(f"libnftables is not available: {error}") from error

    def unblock_vips(self, addresses: Sequence[IPAddress]) -> list[str]:
        return [] if self._firewall is None else self._firewall.unblock(addresses)

    def close(self) -> None:
        if self._firewall is not None:
            try:
                self._firewall.close()
            except OSError as error:
                log.error("cannot remove the nftables tables: %s", error)
        self._monitor.close()
        for announcer in self._announcers.values():
            announcer.close()
        for sender in self._senders.values():
            sender.close()
        self._vmacs.close()
        self._interface_settings.restore()
        self._netlink.close()
