"""What goes into a VRRP instance (events) and what comes out (actions and notifications).

The instance is sans-IO: adapters feed it events with the current time and carry out the
actions it returns, in order. Notifications describe what happened for subscribers (metrics,
logs, spans, notify scripts); carrying them out is optional, carrying out actions is not.
All are small frozen values so a test can compare whole output lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from havip.proto.model import Advertisement, Anomaly, IPAddress, Reason, RejectReason, State

if TYPE_CHECKING:
    from havip.proto.instance import InstanceSettings

# --- events: adapter -> instance -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """Leave INIT: the adapter has its socket and addresses ready.

    The instance stays in INIT until `not_before` (keepalived's `vrrp_startup_delay`: it
    neither sends nor listens until then) and until every tracker in its settings'
    `awaited_trackers` has reported once (keepalived holds an instance until each weight-0
    track script has a first result, so it never becomes master before its health check)."""

    not_before: float = 0.0


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Stop for good (SIGTERM, or removed by a reload): a master sends priority 0 and
    releases its VIPs."""

    reason: Reason = Reason.SHUTDOWN


@dataclass(frozen=True, slots=True)
class AdvertReceived:
    """A decoded advertisement for this VRID from `source` (the packet's IP source)."""

    advert: Advertisement
    source: IPAddress


@dataclass(frozen=True, slots=True)
class TrackerChanged:
    """A tracked object (interface, script, file) changed health.

    `weight` 0 means a failure is a FAULT; otherwise keepalived's rule applies: a positive
    weight is added while the tracker is up, a negative one is added while it is down.
    """

    name: str
    up: bool
    weight: int


@dataclass(frozen=True, slots=True)
class LocalAddressChanged:
    """The instance's own primary address (tie-break and advert source) is now `address`."""

    address: IPAddress | None


@dataclass(frozen=True, slots=True)
class SyncTo:
    """The instance's sync group moved to MASTER or BACKUP: follow it (keepalived semantics).

    A BACKUP told MASTER takes over at once; a MASTER told BACKUP releases its VIPs without a
    priority-0 advert. Other states ignore it: FAULT is left only through the trackers.
    """

    state: State


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """A reload changed the instance's settings (same interface, family and VRID).

    Applied in place, as keepalived does: no state change, no VIP gap. `trackers` names every
    tracker the new configuration still feeds this instance; the others are forgotten.
    """

    settings: InstanceSettings
    trackers: frozenset[str]


Event = (
    Start | Shutdown | AdvertReceived | TrackerChanged | LocalAddressChanged | SyncTo | Reconfigure
)

# --- actions: instance -> adapter (must be carried out, in order) ----------------------------


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send this advertisement to the multicast group or the unicast peers."""

    advert: Advertisement


@dataclass(frozen=True, slots=True)
class InstallVips:
    """Add the instance's virtual addresses to its interfaces."""


@dataclass(frozen=True, slots=True)
class ReleaseVips:
    """Remove the instance's virtual addresses (only those havip added)."""


@dataclass(frozen=True, slots=True)
class Announce:
    """Send `count` gratuitous ARPs / unsolicited NAs for every VIP (one announcement round)."""

    count: int
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class UpdateVips:
    """A master's VIP list changed by reload: add `added`, remove `removed`, keep the rest."""

    added: tuple[IPAddress, ...]
    removed: tuple[IPAddress, ...]


Action = SendAdvert | InstallVips | ReleaseVips | UpdateVips | Announce

# --- notifications: instance -> subscribers --------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The instance moved from `old` to `new` for `reason` at time `at`.

    `master` is the address of the router believed to be master before the change (None if
    unknown); `last_master_heard` is when its last advert arrived, which makes the failover
    duration (outage seen by this router) measurable by a subscriber.
    """

    old: State
    new: State
    reason: Reason
    at: float
    priority: int
    master: IPAddress | None
    last_master_heard: float | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PacketRejected:
    """An advert for this VRID was dropped; `reason` is a metric label, `detail` is for logs."""

    reason: RejectReason
    source: IPAddress
    detail: str


@dataclass(frozen=True, slots=True)
class AdvertAnomaly:
    """An advert was accepted despite `anomaly`; counted apart from rejects, logged rate-limited."""

    anomaly: Anomaly
    source: IPAddress
    detail: str


@dataclass(frozen=True, slots=True)
class PeerHeard:
    """A valid advertisement from `source` with `priority` arrived at `at`."""

    source: IPAddress
    priority: int
    interval_cs: int
    at: float


@dataclass(frozen=True, slots=True)
class MasterConflict:
    """While master, an advert arrived from another router claiming mastership."""

    source: IPAddress
    priority: int
    won: bool


@dataclass(frozen=True, slots=True)
class PriorityChanged:
    """The effective priority changed (a weighted tracker moved it) while in `state`."""

    old: int
    new: int
    tracker: str
    state: State


@dataclass(frozen=True, slots=True)
class WantsMaster:
    """A sync group member in BACKUP would take over (`wanted`), or no longer would (it heard a
    master again). It waits for its group: keepalived lets a member become MASTER only once
    every other member wants to as well ("prefer backup state to avoid thrashing")."""

    wanted: bool


Notification = (
    StateChanged
    | PacketRejected
    | AdvertAnomaly
    | PeerHeard
    | MasterConflict
    | PriorityChanged
    | WantsMaster
)

Output = Action | Notification
