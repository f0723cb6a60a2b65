"""The running agent as its subscribers see it: instances and the observer interface.

The agent owns the sockets and the state machines; metrics, logs, spans, notify scripts and
/status are observers it calls synchronously after each step. Observers must be cheap and
must never raise into the agent: they run on the receive and timer paths. Times passed to
observers are the agent's monotonic clock (trio's); `wall_offset` converts them to Unix time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from havip.notify.runner import NotifyRun
from havip.proto.events import Output, StateChanged
from havip.proto.instance import VrrpInstance
from havip.proto.model import Family, IPAddress, RejectReason

VipOp = Literal["add", "remove"]
AnnouncementKind = Literal["garp", "na"]


@dataclass(eq=False)
class InstanceRuntime:
    """One configured VRRP instance at run time: its identity and its state machine."""

    name: str
    vrid: int
    interface: str
    family: Family
    version: int
    vips: tuple[str, ...]
    machine: VrrpInstance
    sync_group: str | None = None
    peers: dict[IPAddress, tuple[int, float]] = field(default_factory=dict)
    """Routers heard: address -> (priority, last heard, agent clock)."""


class Observer(Protocol):
    """What the agent tells its subscribers. Every method must return quickly and not raise."""

    def started(self, instances: Sequence[InstanceRuntime], wall_offset: float) -> None:
        """The agent is up with these instances (create every series now, as zeros)."""

    def outputs(self, runtime: InstanceRuntime, outputs: Sequence[Output], now: float) -> None:
        """The state machine of `runtime` produced these actions and notifications."""

    def packet_dropped(
        self,
        interface: str,
        reason: RejectReason,
        source: IPAddress | None,
        runtime: InstanceRuntime | None,
        detail: str,
    ) -> None:
        """A packet was dropped before reaching an instance (socket layer or codec)."""

    def vips_changed(
        self,
        runtime: InstanceRuntime,
        op: VipOp,
        changed: Sequence[str],
        failures: Sequence[str],
        began: float,
        ended: float,
    ) -> None:
        """VIPs were added or removed between `began` and `ended`: `changed` lists the
        addresses that succeeded, `failures` describe the ones that did not."""

    def announced(
        self,
        runtime: InstanceRuntime,
        kind: AnnouncementKind,
        count: int,
        began: float,
        ended: float,
    ) -> None:
        """`count` gratuitous ARPs or unsolicited NAs were sent for the instance's VIPs."""

    def took_over(self, runtime: InstanceRuntime, change: StateChanged, done_at: float) -> None:
        """A move to MASTER finished: VIPs installed and the first announcement sent."""

    def instances_changed(
        self,
        added: Sequence[InstanceRuntime],
        removed: Sequence[InstanceRuntime],
        changed: Sequence[InstanceRuntime],
    ) -> None:
        """A reload added and removed instances, and changed some in place (their VIPs or
        sync group may differ now); untouched ones keep everything."""

    def notified(self, runtime: InstanceRuntime, run: NotifyRun) -> None:
        """A notify script for one of the instance's transitions finished (or was dropped)."""


class QuietObserver:
    """An observer that ignores everything: subclass it and override what you need."""

    def started(self, instances: Sequence[InstanceRuntime], wall_offset: float) -> None:
        return None

    def outputs(self, runtime: InstanceRuntime, outputs: Sequence[Output], now: float) -> None:
        return None

    def packet_dropped(
        self,
        interface: str,
        reason: RejectReason,
        source: IPAddress | None,
        runtime: InstanceRuntime | None,
        detail: str,
    ) -> None:
        return None

    def vips_changed(
        self,
        runtime: InstanceRuntime,
        op: VipOp,
        changed: Sequence[str],
        failures: Sequence[str],
        began: float,
        ended: float,
    ) -> None:
        return None

    def announced(
        self,
        runtime: InstanceRuntime,
        kind: AnnouncementKind,
        count: int,
        began: float,
        ended: float,
    ) -> None:
        return None

    def took_over(self, runtime: InstanceRuntime, change: StateChanged, done_at: float) -> None:
        return None

    def instances_changed(
        self,
        added: Sequence[InstanceRuntime],
        removed: Sequence[InstanceRuntime],
        changed: Sequence[InstanceRuntime],
    ) -> None:
        return None

    def notified(self, runtime: InstanceRuntime, run: NotifyRun) -> None:
        return None
