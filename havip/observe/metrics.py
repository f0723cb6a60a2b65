"""Prometheus metrics for the agent: plain-int counters on the hot path, families at scrape time.

`outputs()` runs for every advertisement sent and received, so it only bumps integer attributes
of a small per-instance object: no label lookups, no string formatting, no locks. The custom
`VrrpCollector` turns those integers, and gauges read straight from each instance's state
machine, into metric families when Prometheus scrapes. Only the two duration histograms are
prometheus_client `Histogram` objects, because they need buckets and exemplars.

Every series of a configured instance exists from `started()` on (zeros, not absence), so
`rate()` and `absent()` in alerts behave from the first scrape. Transition series are the one
exception: the from/to/reason combinations are created when they first happen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from ipaddress import ip_interface

import trio
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from havip import __version__
from havip.observe import names
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

FAILOVER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 7.5, 10.0)
"""10 ms (fast v3 timers) to 10 s; dense around 3-4 s, where 1 s adverts put a failover."""

TAKEOVER_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
"""100 us to 100 ms: havip's own work between deciding to be master and announcing."""

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
    """What happened to one instance, as plain integers bumped on the hot path."""

    __slots__ = (
        "announcements",
        "anomalies",
        "failover",
        "master_conflicts",
        "priority_zero_received",
        "priority_zero_sent",
        "rejected",
        "runtime",
        "series",
        "takeover",
        "transitions",
        "vip_change_failures",
        "vip_changes",
    )

    def __init__(
        self,
        runtime: InstanceRuntime,
        series: InstanceSeries,
        failover: Histogram,
        takeover: Histogram,
    ) -> None:
        self.series = series
        self.runtime = runtime
        self.priority_zero_sent = 0
        self.priority_zero_received = 0
        self.master_conflicts = 0
        self.rejected: dict[RejectReason, int] = dict.fromkeys(RejectReason, 0)
        self.anomalies: dict[Anomaly, int] = dict.fromkeys(Anomaly, 0)
        self.transitions: dict[tuple[State, State, Reason], int] = {}
        self.vip_changes: dict[VipOp, int] = dict.fromkeys(VIP_OPS, 0)
        self.vip_change_failures: dict[VipOp, int] = dict.fromkeys(VIP_OPS, 0)
        self.announcements: dict[AnnouncementKind, int] = dict.fromkeys(ANNOUNCEMENT_KINDS, 0)
        self.failover = failover
        self.takeover = takeover

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

    A takeover's report carries its transition span's trace id, when tracing runs; it labels
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
        self._clock = clock
        self._wall_offset = 0.0
        self._instances: dict[InstanceRuntime, InstanceCounters] = {}
        self._unmatched_rejects: dict[str, dict[RejectReason, int]] = {}
        self.registry.register(VrrpCollector(self))
        self._failover = Histogram(
            names.VRRP_FAILOVER_DURATION.name,
            names.VRRP_FAILOVER_DURATION.help,
            labelnames=names.VRRP_FAILOVER_DURATION.labels,
            buckets=FAILOVER_BUCKETS,
            registry=self.registry,
        )
        self._takeover = Histogram(
            names.VRRP_TAKEOVER_DURATION.name,
            names.VRRP_TAKEOVER_DURATION.help,
            labelnames=names.VRRP_TAKEOVER_DURATION.labels,
            buckets=TAKEOVER_BUCKETS,
            registry=self.registry,
        )
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
            self._instances[runtime].rejected[reason] += 1
            return
        per_reason = self._unmatched_rejects.get(interface)
        if per_reason is None:
            per_reason = self._unmatched_rejects[interface] = dict.fromkeys(RejectReason, 0)
        per_reason[reason] += 1

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
        exemplar = {"trace_id": report.trace.trace_id} if report.trace is not None else None
        counters.takeover.observe(max(0.0, done_at - change.at), exemplar=exemplar)
        if change.reason in FAILOVER_REASONS and change.last_master_heard is not None:
            counters.failover.observe(
                max(0.0, done_at - change.last_master_heard), exemplar=exemplar
            )

    def _on_instances_changed(self, report: InstancesChanged) -> None:
        added, removed, changed = report.added, report.removed, report.changed
        for runtime in removed:
            if self._instances.pop(runtime, None) is not None:
                self._failover.remove(runtime.name)
                self._takeover.remove(runtime.name)
        self._add(added)
        for runtime in changed:
            counters = self._instances.get(runtime)
            if counters is not None:  # same name and counters; the info labels may differ
                counters.series = InstanceSeries(runtime)

    def _add(self, instances: Sequence[InstanceRuntime]) -> None:
        for runtime in instances:
            self._instances[runtime] = InstanceCounters(
                runtime,
                InstanceSeries(runtime),
                self._failover.labels(runtime.name),
                self._takeover.labels(runtime.name),
            )
            self._unmatched_rejects.setdefault(runtime.interface, dict.fromkeys(RejectReason, 0))


class InstanceSeries:
    """The label sets of one instance's series, built once so that a scrape only adds values."""

    __slots__ = (
        "announcements",
        "anomalies",
        "auth_failures",
        "info",
        "instance",
        "rejected",
        "states",
        "vips",
    )

    def __init__(self, runtime: InstanceRuntime) -> None:
        name = runtime.name
        self.instance = {"vrrp_instance": name}
        self.info = {
            "vrrp_instance": name,
            "vrid": str(runtime.vrid),
            "interface": runtime.interface,
            "family": runtime.family.label,
            "version": str(runtime.version),
            "vips": ",".join(sorted_vips(runtime.vips)),
        }
        self.states = tuple(
            (state, {"vrrp_instance": name, "state": state.value}) for state in State
        )
        self.auth_failures = tuple(
            (reject_reason, {"vrrp_instance": name, "reason": label})
            for reject_reason, label in AUTH_FAILURE_REASONS.items()
        )
        self.rejected = _rejected_series(name, runtime.interface)
        self.anomalies = tuple(
            (anomaly, {"vrrp_instance": name, "anomaly": anomaly.value}) for anomaly in Anomaly
        )
        self.vips = tuple((op, {"vrrp_instance": name, "op": op}) for op in VIP_OPS)
        self.announcements = tuple(
            (kind, {"vrrp_instance": name, "kind": kind}) for kind in ANNOUNCEMENT_KINDS
        )


def _rejected_series(
    instance_name: str, interface: str
) -> tuple[tuple[RejectReason, dict[str, str]], ...]:
    return tuple(
        (reason, {"vrrp_instance": instance_name, "interface": interface, "reason": reason.value})
        for reason in RejectReason
    )


class VrrpCollector(Collector):
    """Builds the VRRP metric families from the observer's counters and the state machines.

    It may run in a worker thread (the HTTP server renders there so that a scrape never holds
    the event loop): it only reads integers and takes C-level copies of the dicts the agent
    may grow meanwhile, which the GIL makes atomic.
    """

    def __init__(self, observer: MetricsObserver) -> None:
        self._observer = observer

    def describe(self) -> list[Metric]:
        """Nothing: the families depend on configured instances, so collect() is not run at
        registration (prometheus_client would otherwise call it to learn the names)."""
        return []

    def collect(self) -> Iterator[Metric]:
        observer = self._observer
        now = observer.now()
        wall_offset = observer.wall_offset
        build_info = _gauge(names.BUILD_INFO)
        build_info.add_sample(names.BUILD_INFO.name, {"version": __version__}, 1)
        info = _gauge(names.VRRP_INSTANCE_INFO)
        state = _gauge(names.VRRP_STATE)
        priority = _gauge(names.VRRP_PRIORITY)
        effective_priority = _gauge(names.VRRP_EFFECTIVE_PRIORITY)
        master_priority = _gauge(names.VRRP_MASTER_PRIORITY)
        advert_interval = _gauge(names.VRRP_ADVERT_INTERVAL)
        master_advert_interval = _gauge(names.VRRP_MASTER_ADVERT_INTERVAL)
        master_down_interval = _gauge(names.VRRP_MASTER_DOWN_INTERVAL)
        last_transition = _gauge(names.VRRP_LAST_TRANSITION_TIMESTAMP)
        peers = _gauge(names.VRRP_PEERS)
        adverts_sent = _counter(names.VRRP_ADVERTS_SENT)
        adverts_received = _counter(names.VRRP_ADVERTS_RECEIVED)
        priority_zero_sent = _counter(names.VRRP_PRIORITY_ZERO_SENT)
        priority_zero_received = _counter(names.VRRP_PRIORITY_ZERO_RECEIVED)
        auth_failures = _counter(names.VRRP_AUTH_FAILURES)
        rejected = _counter(names.VRRP_PACKETS_REJECTED)
        anomalies = _counter(names.VRRP_ADVERT_ANOMALIES)
        transitions = _counter(names.VRRP_TRANSITIONS)
        master_conflicts = _counter(names.VRRP_MASTER_CONFLICTS)
        vip_changes = _counter(names.VIP_CHANGES)
        vip_change_failures = _counter(names.VIP_CHANGE_FAILURES)
        announcements = _counter(names.ANNOUNCEMENTS_SENT)

        for runtime, counters in list(observer.instances.items()):
            series = counters.series
            labels = series.instance
            machine = runtime.machine
            info.add_sample(info.name, series.info, 1)
            current = machine.state
            for value, state_labels in series.states:
                state.add_sample(state.name, state_labels, 1 if value is current else 0)
            priority.add_sample(priority.name, labels, machine.settings.priority)
            effective_priority.add_sample(
                effective_priority.name, labels, machine.effective_priority
            )
            master_priority.add_sample(master_priority.name, labels, machine.master_priority)
            advert_interval.add_sample(
                advert_interval.name, labels, machine.settings.interval_cs / 100
            )
            master_advert_interval.add_sample(
                master_advert_interval.name, labels, machine.master_interval_cs / 100
            )
            master_down_interval.add_sample(
                master_down_interval.name, labels, machine.master_down_interval
            )
            since = machine.state_since
            last_transition.add_sample(
                last_transition.name, labels, 0 if since is None else since + wall_offset
            )
            peers.add_sample(peers.name, labels, recently_heard_peers(runtime, now))
            _count(adverts_sent, labels, runtime.adverts_sent)
            _count(adverts_received, labels, runtime.adverts_received)
            _count(priority_zero_sent, labels, counters.priority_zero_sent)
            _count(priority_zero_received, labels, counters.priority_zero_received)
            _count(master_conflicts, labels, counters.master_conflicts)
            for reject_reason, auth_labels in series.auth_failures:
                _count(auth_failures, auth_labels, counters.rejected[reject_reason])
            for reject_reason, reject_labels in series.rejected:
                _count(rejected, reject_labels, counters.rejected[reject_reason])
            for anomaly, anomaly_labels in series.anomalies:
                _count(anomalies, anomaly_labels, counters.anomalies[anomaly])
            for (old, new, reason), count in list(counters.transitions.items()):
                transition_labels = {
                    "vrrp_instance": runtime.name,
                    "from_state": old.value,
                    "to_state": new.value,
                    "reason": reason.value,
                }
                _count(transitions, transition_labels, count)
            for op, op_labels in series.vips:
                _count(vip_changes, op_labels, counters.vip_changes[op])
                _count(vip_change_failures, op_labels, counters.vip_change_failures[op])
            for kind, kind_labels in series.announcements:
                _count(announcements, kind_labels, counters.announcements[kind])

        for interface, per_reason in list(observer.unmatched_rejects.items()):
            for reject_reason, reject_labels in _rejected_series(UNMATCHED_INSTANCE, interface):
                _count(rejected, reject_labels, per_reason[reject_reason])

        yield from (
            build_info,
            info,
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
            rejected,
            anomalies,
            transitions,
            master_conflicts,
            vip_changes,
            vip_change_failures,
            announcements,
        )


def _gauge(metric: names.Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help)


def _counter(metric: names.Metric) -> CounterMetricFamily:
    return CounterMetricFamily(metric.name, metric.help)


def _count(family: CounterMetricFamily, labels: dict[str, str], value: int) -> None:
    family.add_sample(family.name + "_total", labels, value)
