"""A fake `Net` for agent-level tests: the OS edge replaced, the real agent loop untouched.

Packets arrive at given times of trio's clock (under MockClock: virtual time). A flood offers
packets at a fixed rate, and every packet received costs `cost` seconds of clock time (the
fake jumps the MockClock), so an offered rate above 1/cost saturates the agent the way a fast
sender saturates a real CPU: an agent that drained "until empty" would never leave its loop.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

import trio
import trio.testing

from havip.config.model import VirtualRoute, VirtualRule
from havip.net.firewall import FirewallTable
from havip.net.netlink import LinkInfo, VipSpec
from havip.net.vrrpsock import Datagram
from havip.proto.model import Advertisement, DecodeError, Family, IPAddress
from havip.proto.packet import encode


@dataclass
class Flood:
    """`rate` copies of `datagram` per second from `start` until `end`."""

    datagram: Datagram
    rate: float
    start: float
    end: float
    sent: int = 0

    def next_at(self) -> float:
        at = self.start + self.sent / self.rate
        return at if at < self.end else math.inf


@dataclass
class Sent:
    at: float
    payload: bytes
    source: IPAddress
    destination: IPAddress


@dataclass(eq=False)
class FakeEndpoint:
    interface: str
    family: Family
    group: IPAddress
    clock: trio.testing.MockClock | None
    cost: float = 0.0
    arrivals: deque[tuple[float, Datagram | DecodeError | OSError]] = field(default_factory=deque)
    floods: list[Flood] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    received: int = 0
    closed: bool = False
    memberships: list[tuple[str, IPv6Address]] = field(default_factory=list)
    """Every join and leave in order, as ("join" | "leave", group)."""
    _wake: trio.Event = field(default_factory=trio.Event)

    def deliver(self, item: Datagram | DecodeError | OSError, at: float | None = None) -> None:
        """Queue a packet (or a receive error) arriving at `at` (default: now)."""
        self.arrivals.append((trio.current_time() if at is None else at, item))
        self._wake.set()

    def add_flood(self, flood: Flood) -> None:
        self.floods.append(flood)
        self._wake.set()

    def _next_at(self) -> float:
        times = [flood.next_at() for flood in self.floods]
        if self.arrivals:
            times.append(self.arrivals[0][0])
        return min(times, default=math.inf)

    async def wait_window(self, seconds: float) -> None:
        await trio.sleep(seconds)  # the kernel's timer, on trio's (mock) clock

    async def wait_readable(self) -> None:
        while True:
            due = self._next_at()
            if due <= trio.current_time():
                await trio.lowlevel.checkpoint()
                return
            self._wake = trio.Event()
            with trio.move_on_at(due):
                await self._wake.wait()

    def receive_batch(self, limit: int) -> list[tuple[Datagram | DecodeError, float | None]]:
        batch: list[tuple[Datagram | DecodeError, float | None]] = []
        while len(batch) < limit:
            if batch and self.arrivals and isinstance(self.arrivals[0][1], OSError):
                break  # as the real socket does: what was read comes first, the error next
            received = self._receive_one()
            if received is None:
                break
            batch.append(received)
        return batch

    def _receive_one(self) -> tuple[Datagram | DecodeError, float] | None:
        now = trio.current_time()
        if self.arrivals and self.arrivals[0][0] <= now:
            at, item = self.arrivals.popleft()
            if isinstance(item, OSError):
                raise item
            return self._received(item, at)
        for flood in self.floods:
            due = flood.next_at()
            if due <= now:
                flood.sent += 1
                return self._received(flood.datagram, due)
        return None

    def _received(
        self, item: Datagram | DecodeError, at: float
    ) -> tuple[Datagram | DecodeError, float]:
        """The packet as the kernel would hand it over, with its arrival time."""
        self.received += 1
        if self.clock is not None and self.cost:
            self.clock.jump(self.cost)
        return item, at

    def send(self, payload: bytes, source: IPAddress, destination: IPAddress) -> None:
        self.sent.append(Sent(trio.current_time(), payload, source, destination))

    def join(self, group: IPv6Address) -> None:
        self.memberships.append(("join", group))

    def leave(self, group: IPv6Address) -> None:
        self.memberships.append(("leave", group))

    def close(self) -> None:
        self.closed = True


class FakeNet:
    """Links, VIPs and VRRP endpoints held in memory."""

    def __init__(
        self, clock: trio.testing.MockClock | None = None, *, receive_cost: float = 0.0
    ) -> None:
        self.clock = clock
        self.receive_cost = receive_cost
        self.links: dict[str, LinkInfo] = {}
        self.endpoints: dict[tuple[str, Family], FakeEndpoint] = {}
        self.vips: dict[int, set[str]] = {}
        self.vip_changes: list[tuple[float, str, tuple[str, ...]]] = []
        self.calls: list[str] = []
        """The VIP and route calls in order: "add", "release", "announce", "record",
        "add_routes", "remove_routes"."""
        self.routes: set[str] = set()
        """The virtual routes and rules held now, as text."""
        self.announced: list[tuple[str, tuple[IPAddress, ...]]] = []
        self.frames: list[tuple[float, str, IPAddress]] = []
        self.blocked: set[str] = set()
        """VIPs whose traffic the no_accept firewall drops."""
        """Every announcement frame as (time, device, address)."""
        self.closed = False
        self.sent_via: list[tuple[str, bytes]] = []
        """Adverts sent out of a VMAC (use_vmac), as (VMAC, payload)."""
        self._link_change = trio.Event()

    def add_link(
        self,
        name: str,
        ipv4: str | None = "192.0.2.1",
        *,
        up: bool = True,
        ipv6_link_local: str | None = "fe80::1",
    ) -> LinkInfo:
        index = len(self.links) + 2
        link = LinkInfo(
            index=index,
            name=name,
            up=up,
            mac=bytes([2, 0, 0, 0, 0, index]),
            ipv4=IPv4Address(ipv4) if ipv4 else None,
            ipv6_link_local=IPv6Address(ipv6_link_local) if ipv6_link_local else None,
        )
        self.links[name] = link
        return link

    def set_link(self, name: str, *, up: bool) -> None:
        old = self.links[name]
        self.links[name] = LinkInfo(old.index, name, up, old.mac, old.ipv4, old.ipv6_link_local)
        self._link_change.set()

    def endpoint(self, interface: str, family: Family = Family.IPV4) -> FakeEndpoint:
        return self.endpoints[(interface, family)]

    def holds(self, interface: str) -> set[str]:
        """The VIPs (as text, without prefix) on `interface` now."""
        return set(self.vips.get(self.links[interface].index, set()))

    # --- Net -----------------------------------------------------------------------------------

    def link(self, name: str) -> LinkInfo | None:
        return self.links.get(name)

    async def link_changes(self) -> None:
        await self._link_change.wait()
        self._link_change = trio.Event()

    def open_vrrp(self, link: LinkInfo, family: Family, group: IPAddress) -> FakeEndpoint:
        endpoint = FakeEndpoint(link.name, family, group, self.clock, self.receive_cost)
        self.endpoints[(link.name, family)] = endpoint
        return endpoint

    def add_vips(self, index: int, specs: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        added = [str(spec.interface.ip) for spec in specs]
        self.calls.append("add")
        self.vips.setdefault(index, set()).update(added)
        self.vip_changes.append((trio.current_time(), "add", tuple(added)))
        return added, []

    def release_vips(self, index: int, specs: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        removed = [str(spec.interface.ip) for spec in specs]
        self.calls.append("release")
        self.vips.setdefault(index, set()).difference_update(removed)
        self.vip_changes.append((trio.current_time(), "remove", tuple(removed)))
        return removed, []

    def remove_leftovers(self, index: int, specs: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        return [], []

    def save_vip_record(self) -> None:
        self.calls.append("record")

    def add_routes(self, routes: Sequence[VirtualRoute]) -> tuple[list[str], list[str]]:
        added = [str(route) for route in routes]
        self.calls.append("add_routes")
        self.routes.update(added)
        return added, []

    def remove_routes(self, routes: Sequence[VirtualRoute]) -> tuple[list[str], list[str]]:
        removed = [str(route) for route in routes if str(route) in self.routes]
        self.calls.append("remove_routes")
        self.routes.difference_update(removed)
        return removed, []

    def promote_secondaries(self, interface: str) -> None:
        self.calls.append(f"promote_secondaries {interface}")

    def add_rules(self, rules: Sequence[VirtualRule]) -> tuple[list[str], list[str]]:
        added = [str(rule) for rule in rules]
        self.calls.append("add_rules")
        self.routes.update(added)
        return added, []

    def remove_rules(self, rules: Sequence[VirtualRule]) -> tuple[list[str], list[str]]:
        removed = [str(rule) for rule in rules if str(rule) in self.routes]
        self.calls.append("remove_rules")
        self.routes.difference_update(removed)
        return removed, []

    def block_vips(self, table: FirewallTable, addresses: Sequence[IPAddress]) -> list[str]:
        new = [str(a) for a in addresses if str(a) not in self.blocked]
        self.blocked.update(new)
        return new

    def unblock_vips(self, addresses: Sequence[IPAddress]) -> list[str]:
        old = [str(a) for a in addresses if str(a) in self.blocked]
        self.blocked.difference_update(old)
        return old

    def remove_recorded(self) -> tuple[list[str], list[str]]:
        return [], []

    def announce(self, device: str, mac: bytes, addresses: Sequence[IPAddress]) -> int:
        self.announced.append((device, tuple(addresses)))
        self.calls.append("announce")
        self.frames += [(trio.current_time(), device, address) for address in addresses]
        return len(addresses)

    def send_via(
        self, link: LinkInfo, family: Family, payload: bytes, source: IPAddress, to: IPAddress
    ) -> None:
        self.sent_via.append((link.name, payload))

    def create_vmac(self, base: LinkInfo, name: str, mac: bytes, family: Family) -> None:
        index = len(self.links) + 2
        self.links[name] = LinkInfo(index, name, base.up, mac, None, None)
        self.calls.append("vmac")
        self._link_change.set()

    def close(self) -> None:
        self.closed = True


def advert_datagram(
    advert: Advertisement, source: IPAddress, destination: IPAddress, ttl: int = 255
) -> Datagram:
    """What a real endpoint hands the agent for `advert` sent from `source`."""
    return Datagram(
        encode(advert, source=source, destination=destination), source, destination, ttl
    )
