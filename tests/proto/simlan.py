"""A simulated LAN of VRRP instances for tests: discrete events, no sockets, no sleeping.

Every router is a `VrrpInstance`; an advert one of them sends is delivered to every other
after a delay, unless the loss function drops it. Time jumps from one event to the next, so
an election of minutes runs in milliseconds and is reproducible.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from havip.proto.events import (
    AdvertReceived,
    Event,
    InstallVips,
    Output,
    ReleaseVips,
    SendAdvert,
    Start,
    StateChanged,
)
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import Advertisement, IPAddress, State

LossFunction = Callable[[float, int, int], bool]
"""(time, sender index, receiver index) -> True to drop that delivery."""


def no_loss(_now: float, _sender: int, _receiver: int) -> bool:
    return False


@dataclass
class Router:
    """One simulated router: its state machine, address and what it has done."""

    instance: VrrpInstance
    address: IPAddress
    holds_vips: bool = False
    transitions: list[StateChanged] = field(default_factory=list)
    sent: list[Advertisement] = field(default_factory=list)


class SimulatedLan:
    """N routers on one segment; adverts delivered with delay and optional loss."""

    def __init__(
        self,
        settings: list[InstanceSettings],
        *,
        delay: float = 0.001,
        loss: LossFunction = no_loss,
        addresses: list[IPAddress] | None = None,
    ) -> None:
        addrs = addresses or [IPv4Address(f"192.0.2.{i + 1}") for i in range(len(settings))]
        self.routers = [
            Router(VrrpInstance(s, local_address=a), a)
            for s, a in zip(settings, addrs, strict=True)
        ]
        self.delay = delay
        self.loss = loss
        self.now = 0.0
        self._queue: list[tuple[float, int, int, Event]] = []
        self._order = itertools.count()

    def start(self, index: int | None = None, at: float | None = None) -> None:
        """Start one router (or all) now."""
        targets = range(len(self.routers)) if index is None else [index]
        for i in targets:
            self.inject(i, Start(), at)

    def inject(self, index: int, event: Event, at: float | None = None) -> None:
        """Deliver `event` to router `index` at time `at` (default: now)."""
        when = self.now if at is None else at
        heapq.heappush(self._queue, (when, next(self._order), index, event))

    def run_until(self, end: float) -> None:
        """Process every delivery and timer up to and including time `end`."""
        while True:
            next_time, kind = self._next_due()
            if next_time is None or next_time > end:
                self.now = end
                return
            self.now = next_time
            if kind == "queue":
                _, _, index, event = heapq.heappop(self._queue)
                self._apply(index, self.routers[index].instance.handle(event, next_time))
            else:
                index = kind
                assert isinstance(index, int)
                self._apply(index, self.routers[index].instance.handle_timer(next_time))

    def _next_due(self) -> tuple[float | None, str | int]:
        best: float | None = self._queue[0][0] if self._queue else None
        kind: str | int = "queue"
        for i, router in enumerate(self.routers):
            deadline = router.instance.get_timer()
            if deadline is not None and (best is None or deadline < best):
                best, kind = deadline, i
        return best, kind

    def _apply(self, index: int, outputs: list[Output]) -> None:
        router = self.routers[index]
        for output in outputs:
            if isinstance(output, SendAdvert):
                router.sent.append(output.advert)
                self._broadcast(index, output.advert)
            elif isinstance(output, InstallVips):
                router.holds_vips = True
            elif isinstance(output, ReleaseVips):
                router.holds_vips = False
            elif isinstance(output, StateChanged):
                router.transitions.append(output)

    def _broadcast(self, sender: int, advert: Advertisement) -> None:
        source = self.routers[sender].address
        for receiver in range(len(self.routers)):
            if receiver == sender or self.loss(self.now, sender, receiver):
                continue
            self.inject(receiver, AdvertReceived(advert, source), self.now + self.delay)

    # --- what tests assert on ---------------------------------------------------------------

    def masters(self) -> list[int]:
        return [i for i, r in enumerate(self.routers) if r.instance.state is State.MASTER]

    def vip_holders(self) -> list[int]:
        return [i for i, r in enumerate(self.routers) if r.holds_vips]
