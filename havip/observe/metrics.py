"""Prometheus metrics for the agent: plain-int counters on the hot path, text at scrape time.

Reports reach `observe()` on the agent's loop, so it only bumps integer attributes of a small
per-instance object: no label lookups, no string formatting, no locks (the routine adverts
are counted by the supervisor itself, on the runtime). When Prometheus scrapes, `render()`
turns those integers, and gauges read straight from each instance's state machine, into the
exposition text through cached per-instance lines (havip.observe.exposition): 1,000 instances
in a few tens of milliseconds, where prometheus_client's encoder takes 0.4 s. Process,
platform and tracker series stay prometheus_client objects on `registry`.

Every series of a configured instance exists from `started()` on (zeros, not absence), so
`rate()` and `absent()` in alerts behave from the first scrape. Transition series are the one
exception: the from/to/reason combinations are created when they first happen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from ipaddress import ip_interface

import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from havip import __version__
from havip.observe import exposition, names
from havip.observer import (
    Announced,
    AnnouncementKind,
    InstanceRuntime,
    InstancesChanged,
    PacketDropped,
    Report,
    Started,
    Stepped,
    TookOver,
    VipOp,
    VipsChanged,
)
from havip.proto.events import (
    AdvertAnomaly,
    MasterConflict,
    PacketRejected,
    PeerHeard,
    SendAdvert,
    StateChanged,
)
from havip.proto.model import PRIORITY_RELEASE, Anomaly, Reason, RejectReason, State

FAILOVER_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 10.0)
"""25 ms (fast v3 timers) to 10 s; dense around 3-4 s, where 1 s adverts put a failover."""

TAKEOVER_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
"""100 us to 100 ms: havip's own work between deciding to be master and announcing (2 ms:
the goal for its p99). One histogram for the router: it measures havip, not an instance."""

AUTH_FAILURE_REASONS: Mapping[RejectReason, str] = {
    RejectReason.AUTH_TYPE: "invalid_type",
    RejectReason.AUTH_MISMATCH: "type_mismatch",
    RejectReason.AUTH_PASSWORD: "password",
}
"""Rejected-packet reasons that are also authentication failures, with their `reason` label
(keepalived's invalid_authtype, authtype_mismatch and auth_failure)."""

FAILOVER_REASONS = frozenset({Reason.MASTER_DOWN, Reason.PRIORITY_ZERO})
"""Takeovers caused by losing the old master: the ones a failover duration is measured for."""

VIP_OPS: tuple[VipOp, ...] = ("add", "remove")
ANNOUNCEMENT_KINDS: tuple[AnnouncementKind, ...] = ("garp", "na")
UNMATCHED_INSTANCE = ""
"""The `vrrp_instance` label of packets dropped before any instance matched them."""


def thread_safe_trio_clock() -> Callable[[], float]:
    """trio.current_time() as a function any thread may call; call this inside trio.run.

    The collector reads the agent's clock while /metrics is rendered in a worker thread, where
    trio.current_time() raises. trio's default clock is time.perf_counter() plus a fixed
    offset, so the same time is perf_counter() plus the offset measured here. (Under a
    MockClock this drifts from trio's virtual time; only the peers gauge would notice.)
    """
    offset = trio.current_time() - time.perf_counter()
    return lambda: time.perf_counter() + offset


def sorted_vips(vips: Iterable[str]) -> list[str]:
    """VIPs in address order, so every router of a group exports the same `vips` label."""
    return sorted(vips, key=_address_order)


def _address_order(vip: str) -> tuple[int, int, str]:
    try:
        address = ip_interface(vip.partition(" ")[0]).ip
    except ValueError:
        return (9, 0, vip)
    return (address.version, int(address), vip)


def recently_heard_peers(runtime: InstanceRuntime, now: float) -> int:
    """Routers heard within the last master-down interval (the `havip_vrrp_peers` gauge)."""
    window = runtime.machine.master_down_interval
    return sum(1 for _priority, heard in list(runtime.peers.values()) if now - heard <= window)


class InstanceCounters:
    """What happened to one instance, as plain integers bumped on the hot path, and the
    cached lines it is exported as."""

    __slots__ = (
        "announcements",
        "anomalies",
        "failover",
        "lines",
        "master_conflicts",
        "priority_zero_received",
        "priority_zero_sent",
        "rejected",
        "runtime",
        "transitions",
        "vip_change_failures",
        "vip_changes",
    )

    def __init__(self, runtime: InstanceRuntime) -> None:
        self.runtime = runtime
        self.lines = InstanceLines(runtime)
        self.priority_zero_sent = 0
        self.priority_zero_received = 0
        self.master_conflicts = 0
        self.rejected: dict[RejectReason, int] = dict.fromkeys(RejectReason, 0)
        self.anomalies: dict[Anomaly, int] = dict.fromkeys(Anomaly, 0)
        self.transitions: dict[tuple[State, State, Reason], int] = {}
        self.vip_changes: dict[VipOp, int] = dict.fromkeys(VIP_OPS, 0)
        self.vip_change_failures: dict[VipOp, int] = dict.fromkeys(VIP_OPS, 0)
        self.announcements: dict[AnnouncementKind, int] = dict.fromkeys(ANNOUNCEMENT_KINDS, 0)
        self.failover = exposition.Histogram(
            names.VRRP_FAILOVER_DURATION, FAILOVER_BUCKETS, {"vrrp_instance": runtime.name}
        )

    def snapshot(self) -> dict[str, int | dict[str, int]]:
        """The counters as JSON-ready values (for /status)."""
        return {
            "adverts_sent": self.runtime.adverts_sent,
            "adverts_received": self.runtime.adverts_received,
            "priority_zero_sent": self.priority_zero_sent,
            "priority_zero_received": self.priority_zero_received,
            "master_conflicts": self.master_conflicts,
            "transitions": sum(list(self.transitions.values())),  # read from another thread
            "packets_rejected": sum(self.rejected.values()),
            "packets_rejected_by_reason": {
                reason.value: count for reason, count in self.rejected.items() if count
            },
            "advert_anomalies": {
                anomaly.value: count for anomaly, count in self.anomalies.items() if count
            },
        }


class MetricsObserver:
    """Counts what the agent reports and owns the registry that /metrics renders.

    `clock` is the agent's clock (the one `now` arguments come from); the peers gauge reads it
    at scrape time, in the thread that renders /metrics, so it must work in any thread: in the
    agent pass `thread_safe_trio_clock()`, not `trio.current_time`.

    A takeover's report carries its transition span's trace id (spans are always made); it labels
    the failover and takeover observations as an exemplar. The registry is private to this
    observer (not prometheus_client's global one) so that tests can build several.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        process_metrics: bool = True,
    ) -> None:
        self.registry = CollectorRegistry()
        """The few series prometheus_client renders: process, platform, trackers."""
        self._clock = clock
        self._wall_offset = 0.0
        self._instances: dict[InstanceRuntime, InstanceCounters] = {}
        self._unmatched_rejects: dict[str, dict[RejectReason, int]] = {}
        self._unmatched_lines: dict[str, exposition.Lines] = {}
        self.takeover = exposition.Histogram(names.VRRP_TAKEOVER_DURATION, TAKEOVER_BUCKETS, {})
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)

    # --- what the collector and /status read --------------------------------------------------

    @property
    def instances(self) -> Mapping[InstanceRuntime, InstanceCounters]:
        return self._instances

    @property
    def unmatched_rejects(self) -> Mapping[str, Mapping[RejectReason, int]]:
        """Packets no instance matched, by interface and reason."""
        return self._unmatched_rejects

    @property
    def wall_offset(self) -> float:
        return self._wall_offset

    def now(self) -> float:
        return self._clock()

    def counters(self, runtime: InstanceRuntime) -> dict[str, int | dict[str, int]] | None:
        """The counters of one instance for /status, None if it is not (or no longer) known."""
        counters = self._instances.get(runtime)
        return None if counters is None else counters.snapshot()

    # --- Observer -----------------------------------------------------------------------------

    def observe(self, report: Report) -> None:
        match report:
            case Started():
                self._on_started(report)
            case Stepped():
                self._on_outputs(report)
            case PacketDropped():
                self._on_packet_dropped(report)
            case VipsChanged():
                self._on_vips_changed(report)
            case Announced():
                self._on_announced(report)
            case TookOver():
                self._on_took_over(report)
            case InstancesChanged():
                self._on_instances_changed(report)
            case _:
                pass

    def _on_started(self, report: Started) -> None:
        instances, wall_offset = report.instances, report.wall_offset
        self._wall_offset = wall_offset
        self._add(instances)

    def _on_outputs(self, report: Stepped) -> None:
        runtime, outputs = report.runtime, report.outputs
        counters = self._instances[runtime]
        for output in outputs:
            if isinstance(output, PeerHeard):
                if output.priority == PRIORITY_RELEASE:
                    counters.priority_zero_received += 1
            elif isinstance(output, SendAdvert):
                if output.advert.priority == PRIORITY_RELEASE:
                    counters.priority_zero_sent += 1
            elif isinstance(output, PacketRejected):
                counters.rejected[output.reason] += 1
            elif isinstance(output, AdvertAnomaly):
                counters.anomalies[output.anomaly] += 1
            elif isinstance(output, MasterConflict):
                counters.master_conflicts += 1
            elif isinstance(output, StateChanged):
                key = (output.old, output.new, output.reason)
                counters.transitions[key] = counters.transitions.get(key, 0) + 1

    def _on_packet_dropped(self, report: PacketDropped) -> None:
        interface, reason, runtime = report.interface, report.reason, report.runtime
        if runtime is not None and runtime in self._instances:
            self._instances[runtime].rejected[reason] += report.count
            return
        per_reason = self._unmatched_rejects.get(interface)
        if per_reason is None:
            per_reason = self._unmatched_rejects[interface] = dict.fromkeys(RejectReason, 0)
        per_reason[reason] += report.count

    def _on_vips_changed(self, report: VipsChanged) -> None:
        runtime, op, changed, failures = report.runtime, report.op, report.changed, report.failures
        counters = self._instances[runtime]
        counters.vip_changes[op] += len(changed)
        counters.vip_change_failures[op] += len(failures)

    def _on_announced(self, report: Announced) -> None:
        runtime, kind, count = report.runtime, report.kind, report.count
        self._instances[runtime].announcements[kind] += count

    def _on_took_over(self, report: TookOver) -> None:
        runtime, change, done_at = report.runtime, report.change, report.done_at
        counters = self._instances[runtime]
        trace_id = report.trace.trace_id if report.trace is not None else None
        wall = done_at + self._wall_offset
        self.takeover.observe(max(0.0, done_at - change.at), trace_id, wall)
        if change.reason in FAILOVER_REASONS and change.last_master_heard is not None:
            counters.failover.observe(max(0.0, done_at - change.last_master_heard), trace_id, wall)

    def _on_instances_changed(self, report: InstancesChanged) -> None:
        added, removed, changed = report.added, report.removed, report.changed
        for runtime in removed:
            self._instances.pop(runtime, None)
        self._add(added)
        for runtime in changed:
            counters = self._instances.get(runtime)
            if counters is not None:  # same name and counters; the info labels may differ
                counters.lines = InstanceLines(runtime)

    def _add(self, instances: Sequence[InstanceRuntime]) -> None:
        for runtime in instances:
            self._instances[runtime] = InstanceCounters(runtime)
            self._unmatched_rejects.setdefault(runtime.interface, dict.fromkeys(RejectReason, 0))

    # --- /metrics -----------------------------------------------------------------------------

    def scrape(self, accept: str) -> tuple[bytes, str]:
        """/metrics for a request's Accept header: the body and its content type."""
        fmt = exposition.choose_format(accept)
        return self.render(fmt), exposition.content_type(fmt)

    def render(self, fmt: exposition.Format = "text") -> bytes:
        """The whole /metrics page: every VRRP family from the cached lines, then the
        registry's few series through prometheus_client's encoder. It may run in any thread."""
        vrrp = self._render_vrrp(fmt)
        encode: Callable[[CollectorRegistry], bytes] = (
            openmetrics.generate_latest if fmt == "openmetrics" else generate_latest
        )
        return vrrp.encode() + encode(self.registry)

    def _render_vrrp(self, fmt: exposition.Format) -> str:
        now = self._clock()
        wall_offset = self._wall_offset
        chunks: list[list[str]] = [[] for _ in INSTANCE_FAMILIES]
        for counters in list(self._instances.values()):
            for family_chunks, chunk in zip(
                chunks, counters.lines.render(counters, now, wall_offset, fmt), strict=True
            ):
                family_chunks.append(chunk)
        rejected = chunks[INSTANCE_FAMILIES.index(names.VRRP_PACKETS_REJECTED)]
        for interface, per_reason in list(self._unmatched_rejects.items()):
            lines = self._unmatched_lines.get(interface)
            if lines is None:
                lines = self._unmatched_lines[interface] = exposition.Lines(
                    names.VRRP_PACKETS_REJECTED,
                    _rejected_labels(UNMATCHED_INSTANCE, interface, RejectReason),
                )
            rejected.append(lines.render(tuple(per_reason[r] for r in RejectReason)))
        out = [
            exposition.header(names.BUILD_INFO, fmt),
            f'{names.BUILD_INFO.name}{{version="{__version__}"}} 1.0\n',
        ]
        for metric, family_chunks in zip(INSTANCE_FAMILIES, chunks, strict=True):
            out.append(exposition.header(metric, fmt))
            out.extend(family_chunks)
        out.append(exposition.header(names.VRRP_TAKEOVER_DURATION, fmt))
        out.append(self.takeover.render(fmt))
        return "".join(out)


INSTANCE_FAMILIES: tuple[names.Metric, ...] = (
    names.VRRP_INSTANCE_INFO,
    names.VRRP_STATE,
    names.VRRP_PRIORITY,
    names.VRRP_EFFECTIVE_PRIORITY,
    names.VRRP_MASTER_PRIORITY,
    names.VRRP_ADVERT_INTERVAL,
    names.VRRP_MASTER_ADVERT_INTERVAL,
    names.VRRP_MASTER_DOWN_INTERVAL,
    names.VRRP_LAST_TRANSITION_TIMESTAMP,
    names.VRRP_PEERS,
    names.VRRP_ADVERTS_SENT,
    names.VRRP_ADVERTS_RECEIVED,
    names.VRRP_PRIORITY_ZERO_SENT,
    names.VRRP_PRIORITY_ZERO_RECEIVED,
    names.VRRP_AUTH_FAILURES,
    names.VRRP_PACKETS_REJECTED,
    names.VRRP_ADVERT_ANOMALIES,
    names.VRRP_TRANSITIONS,
    names.VRRP_MASTER_CONFLICTS,
    names.VIP_CHANGES,
    names.VIP_CHANGE_FAILURES,
    names.ANNOUNCEMENTS_SENT,
    names.VRRP_FAILOVER_DURATION,
)
"""The families every instance exports, in the order /metrics lists them."""

INTERFACE_ONLY_REASONS = (RejectReason.VRID, RejectReason.RECEIVE_ERROR, RejectReason.OVERFLOW)
INSTANCE_REJECT_REASONS = tuple(r for r in RejectReason if r not in INTERFACE_ONLY_REASONS)
"""Reasons a packet can be charged to an instance: not `vrid` (no instance has it), nor
`receive_error` and `overflow` (nothing was read); those only exist with vrrp_instance=""."""


class InstanceLines:
    """One instance's lines of every family in INSTANCE_FAMILIES, each group re-formatted only
    when its values changed since the last scrape."""

    __slots__ = ("_fixed", "_info", "_transitions")

    def __init__(self, runtime: InstanceRuntime) -> None:
        name = runtime.name
        instance = ({"vrrp_instance": name},)
        info = {
            "vrrp_instance": name,
            "vrid": str(runtime.vrid),
            "interface": runtime.interface,
            "family": runtime.family.label,
            "version": str(runtime.version),
            "vips": ",".join(sorted_vips(runtime.vips)),
        }
        self._info = f"{names.VRRP_INSTANCE_INFO.name}{exposition.label_text(info)} 1.0\n"
        per_family: dict[names.Metric, Iterable[Mapping[str, str]]] = {
            names.VRRP_STATE: ({"vrrp_instance": name, "state": s.value} for s in State),
            names.VRRP_AUTH_FAILURES: (
                {"vrrp_instance": name, "reason": label} for label in AUTH_FAILURE_REASONS.values()
            ),
            names.VRRP_PACKETS_REJECTED: _rejected_labels(
                name, runtime.interface, INSTANCE_REJECT_REASONS
            ),
            names.VRRP_ADVERT_ANOMALIES: (
                {"vrrp_instance": name, "anomaly": a.value} for a in Anomaly
            ),
            names.VIP_CHANGES: ({"vrrp_instance": name, "op": op} for op in VIP_OPS),
            names.VIP_CHANGE_FAILURES: ({"vrrp_instance": name, "op": op} for op in VIP_OPS),
            names.ANNOUNCEMENTS_SENT: (
                {"vrrp_instance": name, "kind": kind} for kind in ANNOUNCEMENT_KINDS
            ),
        }
        self._fixed = tuple(
            exposition.Lines(metric, per_family.get(metric, instance))
            for metric in INSTANCE_FAMILIES[1:]
            if metric not in (names.VRRP_TRANSITIONS, names.VRRP_FAILOVER_DURATION)
        )
        self._transitions = exposition.DynamicLines(names.VRRP_TRANSITIONS)

    def render(
        self, counters: InstanceCounters, now: float, wall_offset: float, fmt: exposition.Format
    ) -> list[str]:
        """This instance's chunk of each family, in INSTANCE_FAMILIES order."""
        runtime = counters.runtime
        machine = runtime.machine
        settings = machine.settings
        current = machine.state
        since = machine.state_since
        rejected = counters.rejected
        (
            state,
            priority,
            effective_priority,
            master_priority,
            advert_interval,
            master_advert_interval,
            master_down_interval,
            last_transition,
            peers,
            adverts_sent,
            adverts_received,
            priority_zero_sent,
            priority_zero_received,
            auth_failures,
            packets_rejected,
            advert_anomalies,
            master_conflicts,
            vip_changes,
            vip_change_failures,
            announcements,
        ) = self._fixed
        name = runtime.name
        return [
            self._info,
            state.render(tuple(1 if s is current else 0 for s in State)),
            priority.render((settings.priority,)),
            effective_priority.render((machine.effective_priority,)),
            master_priority.render((machine.master_priority,)),
            advert_interval.render((settings.interval_cs / 100,)),
            master_advert_interval.render((machine.master_interval_cs / 100,)),
            master_down_interval.render((machine.master_down_interval,)),
            last_transition.render((0 if since is None else since + wall_offset,)),
            peers.render((recently_heard_peers(runtime, now),)),
            adverts_sent.render((runtime.adverts_sent,)),
            adverts_received.render((runtime.adverts_received,)),
            priority_zero_sent.render((counters.priority_zero_sent,)),
            priority_zero_received.render((counters.priority_zero_received,)),
            auth_failures.render(tuple(rejected[r] for r in AUTH_FAILURE_REASONS)),
            packets_rejected.render(tuple(rejected[r] for r in INSTANCE_REJECT_REASONS)),
            advert_anomalies.render(tuple(counters.anomalies[a] for a in Anomaly)),
            self._transitions.render(
                tuple(
                    (
                        (
                            ("vrrp_instance", name),
                            ("from_state", old.value),
                            ("to_state", new.value),
                            ("reason", reason.value),
                        ),
                        count,
                    )
                    for (old, new, reason), count in list(counters.transitions.items())
                )
            ),
            master_conflicts.render((counters.master_conflicts,)),
            vip_changes.render(tuple(counters.vip_changes[op] for op in VIP_OPS)),
            vip_change_failures.render(tuple(counters.vip_change_failures[op] for op in VIP_OPS)),
            announcements.render(tuple(counters.announcements[k] for k in ANNOUNCEMENT_KINDS)),
            counters.failover.render(fmt),
        ]


def _rejected_labels(
    instance_name: str, interface: str, reasons: Iterable[RejectReason]
) -> list[dict[str, str]]:
    return [
        {"vrrp_instance": instance_name, "interface": interface, "reason": reason.value}
        for reason in reasons
    ]
