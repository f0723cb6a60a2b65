"""The running agent as its subscribers see it: instances, reports, and the observer interface.

Metrics, logs, spans, tracking metrics and /status hear what happens through one method,
`observe(report)`, called synchronously by the agent's loop with small frozen report values.
Observers must be cheap and must never raise into the agent: they run on the receive and timer
paths; each handles the report types it cares about and ignores the rest. Times in reports are
the agent's monotonic clock (trio's); `Started.wall_offset` converts them to Unix time.
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
    adverts_sent: int = 0
    adverts_received: int = 0
    """Counted by the supervisor, whose fast paths report no step for a routine advert."""


class Observer(Protocol):
    """Anything that hears the agent's reports. It must return quickly and never raise."""

    def observe(self, report: Report) -> None: ...


@dataclass(frozen=True, slots=True)
class SpanIds:
    """A transition span's identity as the hex strings logs and exemplars carry."""

    trace_id: str
    span_id: str


# --- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """The agent is up with these instances (create every series now, as zeros)."""

    instances: Sequence[InstanceRuntime]
    wall_offset: float


@dataclass(frozen=True, slots=True)
class Stepped:
    """An instance's state machine produced these actions and notifications at `now`.

    `trace` (this and the VIP, announcement and takeover reports): the ids of the instance's
    transition span, set by the reporting pipeline (spans are always made), so that every
    observer reads them from the report and none from another observer."""

    runtime: InstanceRuntime
    outputs: Sequence[Output]
    now: float
    trace: SpanIds | None = None


@dataclass(frozen=True, slots=True)
class PacketDropped:
    """A packet was dropped before reaching an instance (socket layer or codec)."""

    interface: str
    reason: RejectReason
    source: IPAddress | None
    runtime: InstanceRuntime | None
    detail: str
    count: int = 1
    """Packets dropped for this reason at once (the kernel's overflow count), usually 1."""


@dataclass(frozen=True, slots=True)
class VipsChanged:
    """VIPs were added or removed between `began` and `ended`: `changed` lists the addresses
    that succeeded, `failures` describe the ones that did not."""

    runtime: InstanceRuntime
    op: VipOp
    changed: Sequence[str]
    failures: Sequence[str]
    began: float
    ended: float
    trace: SpanIds | None = None


@dataclass(frozen=True, slots=True)
class Announced:
    """`count` gratuitous ARPs or unsolicited NAs were sent for the instance's VIPs.

    `paced`: frames of an earlier round that waited for the announcement interval (the round
    was logged when it began)."""

    runtime: InstanceRuntime
    kind: AnnouncementKind
    count: int
    began: float
    ended: float
    trace: SpanIds | None = None
    paced: bool = False
    device: str | None = None
    """Where they went out, if not the instance's interface (a VMAC, a VIP's own `dev`)."""


@dataclass(frozen=True, slots=True)
class TookOver:
    """A move to MASTER finished at `done_at`: VIPs installed and the first announcement sent."""

    runtime: InstanceRuntime
    change: StateChanged
    done_at: float
    trace: SpanIds | None = None


@dataclass(frozen=True, slots=True)
class InstancesChanged:
    """A reload added and removed instances, and changed some in place (their VIPs or sync
    group may differ now); untouched ones keep everything."""

    added: Sequence[InstanceRuntime]
    removed: Sequence[InstanceRuntime]
    changed: Sequence[InstanceRuntime]


@dataclass(frozen=True, slots=True)
class Notified:
    """A notify script finished (or was dropped); `runtime` is None for a sync group's."""

    run: NotifyRun
    runtime: InstanceRuntime | None


@dataclass(frozen=True, slots=True)
class ScriptRan:
    """One run of a vrrp_script finished: `result` is success, failure, timeout or error."""

    name: str
    ok: bool
    duration: float
    result: str


@dataclass(frozen=True, slots=True)
class ScriptChanged:
    """A vrrp_script's health changed (after its rise/fall counts)."""

    name: str
    up: bool


@dataclass(frozen=True, slots=True)
class ProcessTracked:
    """A vrrp_track_process's quorum holds (`up`) or not, at start-up and on each change."""

    name: str
    up: bool


@dataclass(frozen=True, slots=True)
class InterfaceTracked:
    """A tracked interface is up or down."""

    name: str
    up: bool


Report = (
    Started
    | Stepped
    | PacketDropped
    | VipsChanged
    | Announced
    | TookOver
    | InstancesChanged
    | Notified
    | ScriptRan
    | ScriptChanged
    | ProcessTracked
    | InterfaceTracked
)
