"""Metrics for tracked scripts, tracked interfaces and notify scripts.

These events are rare (a script run a second, a notify per transition), so plain
prometheus_client objects on the agent's registry fit; every series for what the
configuration names is created at start-up, so a dashboard shows zeros, not gaps.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from havip.observe import names
from havip.observer import (
    InterfaceTracked,
    Notified,
    ProcessTracked,
    Report,
    ScriptChanged,
    ScriptRan,
)

SCRIPT_RESULTS = ("success", "failure", "timeout", "error")
NOTIFY_RESULTS = ("ok", "failed", "timeout", "dropped")
SCRIPT_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _bare(metric: names.Metric) -> str:
    """prometheus_client adds `_total` to counters itself."""
    return metric.name.removesuffix("_total")


class TrackingMetrics:
    """Script, process, interface and notify series on the agent's registry: an observer of
    the ScriptRan, ScriptChanged, ProcessTracked, InterfaceTracked and Notified reports."""

    def __init__(
        self,
        registry: CollectorRegistry,
        scripts: Iterable[str],
        interfaces: Iterable[str],
        instances: Iterable[str],
        processes: Iterable[str] = (),
    ) -> None:
        self.script_up = Gauge(
            names.TRACK_SCRIPT_UP.name, names.TRACK_SCRIPT_UP.help, ["script"], registry=registry
        )
        self.script_runs = Counter(
            _bare(names.TRACK_SCRIPT_RUNS),
            names.TRACK_SCRIPT_RUNS.help,
            ["script", "result"],
            registry=registry,
        )
        self.script_duration = Histogram(
            names.TRACK_SCRIPT_DURATION.name,
            names.TRACK_SCRIPT_DURATION.help,
            ["script"],
            buckets=SCRIPT_DURATION_BUCKETS,
            registry=registry,
        )
        self.process_up = Gauge(
            names.TRACK_PROCESS_UP.name,
            names.TRACK_PROCESS_UP.help,
            ["process"],
            registry=registry,
        )
        self.interface_up = Gauge(
            names.TRACK_INTERFACE_UP.name,
            names.TRACK_INTERFACE_UP.help,
            ["interface"],
            registry=registry,
        )
        self.notify_runs = Counter(
            _bare(names.NOTIFY_RUNS),
            names.NOTIFY_RUNS.help,
            ["vrrp_instance", "result"],
            registry=registry,
        )
        for script in scripts:
            self.script_up.labels(script).set(0)
            self.script_duration.labels(script)
            for result in SCRIPT_RESULTS:
                self.script_runs.labels(script, result)
        for process in processes:
            self.process_up.labels(process).set(0)
        for interface in interfaces:
            self.interface_up.labels(interface).set(0)
        for instance in instances:
            for result in NOTIFY_RESULTS:
                self.notify_runs.labels(instance, result)

    def observe(self, report: Report) -> None:
        match report:
            case ScriptRan(name=name, duration=duration, result=result):
                self.script_runs.labels(name, result).inc()
                self.script_duration.labels(name).observe(duration)
            case ScriptChanged(name=name, up=up):
                self.script_up.labels(name).set(1 if up else 0)
            case ProcessTracked(name=name, up=up):
                self.process_up.labels(name).set(1 if up else 0)
            case InterfaceTracked(name=name, up=up):
                self.interface_up.labels(name).set(1 if up else 0)
            case Notified(run=run):
                self.notify_runs.labels(run.name, run.result).inc()
            case _:
                pass
