"""Prometheus metrics for `havip monitor`: the segment census, read at scrape time.

Like the agent's collector, nothing is formatted on the receive path: the segment keeps plain
numbers, and `SegmentCollector` turns them into metric families when Prometheus scrapes, in
the HTTP server's worker thread (it only copies the group table and reads attributes the loop
replaces whole). The failover histogram is kept here as bucket counts fed by the segment's
`Failover` events, per group, and dropped with its group when the group table evicts it.

Series discipline: labels are the group's (interface, family, VRID) and small enums only,
never a speaker's address or MAC (those are in /status); docs/metrics.md gives the budget.
Every series of a group exists from the first advert heard in it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.openmetrics import exposition as openmetrics
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from havip import __version__
from havip.monitor.segment import (
    EvictionKind,
    Failover,
    Field,
    Group,
    GroupKey,
    PriorityClass,
    Segment,
    SegmentEvent,
)
from havip.observe import exposition, names
from havip.observe.metrics import FAILOVER_BUCKETS
from havip.proto.model import ChecksumMode

Labels = tuple[str, str, str]


@dataclass(slots=True)
class _Durations:
    """One group's failover histogram: cumulative buckets are computed at scrape time."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(FAILOVER_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(FAILOVER_BUCKETS, value)] += 1
        self.total += value


def group_labels(key: GroupKey) -> Labels:
    interface, family, vrid = key
    return (interface, family.label, str(vrid))


class SegmentMetrics:
    """Owns the monitor's registry; `observe` takes the segment's events from the loop."""

    def __init__(
        self,
        segment: Segment,
        wall_offset: Callable[[], float],
        *,
        process_metrics: bool = True,
    ) -> None:
        self.segment = segment
        self.wall_offset = wall_offset
        self.durations: dict[GroupKey, _Durations] = {}
        self.registry = CollectorRegistry()
        self.registry.register(SegmentCollector(self))
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)

    def scrape(self, accept: str) -> tuple[bytes, str]:
        """/metrics for a request's Accept header (HttpApp.metrics): body and content type.

        prometheus_client's encoders format every sample; unlike the agent's cached lines that
        costs about 13 us a series, fine for the few groups a segment has (docs/metrics.md)."""
        fmt = exposition.choose_format(accept)
        encode = openmetrics.generate_latest if fmt == "openmetrics" else generate_latest
        return encode(self.registry), exposition.content_type(fmt)

    def observe(self, events: Iterable[SegmentEvent]) -> None:
        for event in events:
            if isinstance(event, Failover):
                durations = self.durations.get(event.key)
                if durations is None:
                    durations = self.durations[event.key] = _Durations()
                durations.observe(event.duration)
        if len(self.durations) > len(self.segment.groups):
            for key in [k for k in self.durations if k not in self.segment.groups]:
                del self.durations[key]


class SegmentCollector(Collector):
    """Builds the monitor's metric families from the segment when Prometheus scrapes."""

    def __init__(self, metrics: SegmentMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        segment = self._metrics.segment
        offset = self._metrics.wall_offset()
        groups = sorted(list(segment.groups.values()), key=lambda g: g.key)
        yield from self._group_gauges(groups, offset)
        yield from self._group_counters(groups)
        yield self._failover_histogram(groups)
        malformed = _counter(names.MONITOR_PACKETS_MALFORMED)
        for interface, reasons in list(segment.malformed.items()):
            for reason, count in list(reasons.items()):
                malformed.add_metric([interface, reason.value], count)
        yield malformed
        evictions = _counter(names.MONITOR_EVICTIONS)
        for interface, kinds in list(segment.evictions.items()):
            for kind in EvictionKind:
                evictions.add_metric([interface, kind.value], kinds[kind])
        yield evictions
        build = _gauge(names.BUILD_INFO)
        build.add_metric([__version__], 1)
        yield build

    def _group_gauges(self, groups: list[Group], offset: float) -> Iterator[Metric]:
        families = {
            metric: _gauge(metric)
            for metric in (
                names.MONITOR_MASTER_PRIORITY,
                names.MONITOR_MASTER_ADVERT_INTERVAL,
                names.MONITOR_MASTER_VERSION,
                names.MONITOR_MASTER_AUTH_TYPE,
                names.MONITOR_MASTER_CHECKSUM_PSEUDO_HEADER,
                names.MONITOR_MASTER_ADDRESSES,
                names.MONITOR_MASTER_ADDRESS_LIST_HASH,
                names.MONITOR_MASTER_SINCE,
                names.MONITOR_LAST_ADVERT,
                names.MONITOR_SPEAKERS,
                names.MONITOR_MASTERS,
                names.MONITOR_SILENT,
            )
        }
        disagreement = _gauge(names.MONITOR_DISAGREEMENT)
        for group in groups:
            labels = list(group_labels(group.key))
            master, shown = group.master, group.last_master
            values = {
                names.MONITOR_MASTER_PRIORITY: master.priority if master else 0,
                names.MONITOR_MASTER_ADVERT_INTERVAL: shown.interval_cs / 100 if shown else 0,
                names.MONITOR_MASTER_VERSION: shown.version if shown else 0,
                names.MONITOR_MASTER_AUTH_TYPE: shown.auth_type if shown else 0,
                names.MONITOR_MASTER_CHECKSUM_PSEUDO_HEADER: int(
                    shown is not None
                    and shown.checksum is ChecksumMode.PSEUDO_HEADER
                    and shown.version == 3
                ),
                names.MONITOR_MASTER_ADDRESSES: len(shown.addresses) if shown else 0,
                names.MONITOR_MASTER_ADDRESS_LIST_HASH: shown.address_hash if shown else 0,
                names.MONITOR_MASTER_SINCE: group.master_since + offset,
                names.MONITOR_LAST_ADVERT: group.last_advert + offset,
                names.MONITOR_SPEAKERS: len(group.speakers),
                names.MONITOR_MASTERS: group.advertising,
                names.MONITOR_SILENT: int(group.silent),
            }
            for metric, value in values.items():
                families[metric].add_metric(labels, value)
            disagreements = group.disagreements
            for field_ in Field:
                disagreement.add_metric([*labels, field_.value], int(field_ in disagreements))
        yield from families.values()
        yield disagreement

    def _group_counters(self, groups: list[Group]) -> Iterator[Metric]:
        adverts = _counter(names.MONITOR_ADVERTS)
        handoffs = _counter(names.MONITOR_PRIORITY_ZERO_HANDOFFS)
        for group in groups:
            labels = list(group_labels(group.key))
            for priority_class in PriorityClass:
                adverts.add_metric([*labels, priority_class.value], group.adverts[priority_class])
            handoffs.add_metric(labels, group.handoffs)
        yield adverts
        yield handoffs

    def _failover_histogram(self, groups: list[Group]) -> Metric:
        histogram = _histogram(names.MONITOR_FAILOVER_DURATION)
        for group in groups:
            durations = self._metrics.durations.get(group.key) or _Durations()
            counts = list(durations.counts)
            buckets: list[tuple[str, float]] = []
            running = 0
            for bound, count in zip((*FAILOVER_BUCKETS, float("inf")), counts, strict=True):
                running += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
            histogram.add_metric(list(group_labels(group.key)), buckets, durations.total)
        return histogram


def _gauge(metric: names.Metric) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))


def _counter(metric: names.Metric) -> CounterMetricFamily:
    name = metric.name.removesuffix("_total")
    return CounterMetricFamily(name, metric.help, labels=list(metric.labels))


def _histogram(metric: names.Metric) -> HistogramMetricFamily:
    return HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
