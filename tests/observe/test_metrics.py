"""MetricsObserver and its collector, driven like the agent drives them (no sockets, no sleeping).

The golden file pins the whole /metrics text of a scripted scenario; regenerate it with
`HAVIP_UPDATE_GOLDEN=1 .venv/bin/pytest tests/observe/test_metrics.py` after an intended change
and review the diff like code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from havip.observe import names
from havip.observe.fanout import FanoutObserver
from havip.observe.metrics import MetricsObserver, sorted_vips
from havip.observe.tracing import TracingObserver
from havip.observer import (
    Announced,
    AnnouncementKind,
    InstanceRuntime,
    InstancesChanged,
    Observer,
    PacketDropped,
    Report,
    Started,
    Stepped,
    TookOver,
    VipOp,
    VipsChanged,
)
from havip.proto.events import (
    AdvertReceived,
    Announce,
    Event,
    InstallVips,
    Output,
    PeerHeard,
    ReleaseVips,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
)
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import Advertisement, Family, IPAddress, RejectReason, State

GOLDEN = Path(__file__).parent / "golden" / "metrics.txt"
WALL_OFFSET = 1_700_000_000.0
VIP_WORK = 0.002
"""How long the scripted agent pretends each VIP change and announcement round takes."""

V1_VIPS = (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
V1_ME = IPv4Address("192.0.2.10")
V1_MASTER = IPv4Address("192.0.2.20")
V1_LOWER = IPv4Address("192.0.2.5")
V6_VIPS = (IPv6Address("2001:db8::100"),)
V6_ME = IPv6Address("fe80::10")
V6_HIGHER = IPv6Address("fe80::20")


def make_runtime(
    name: str,
    vrid: int,
    interface: str,
    vips: Sequence[IPAddress],
    local: IPAddress,
    priority: int = 100,
) -> InstanceRuntime:
    settings = InstanceSettings(
        name=name, vrid=vrid, priority=priority, addresses=tuple(vips), garp_master_delay=0.0
    )
    family = Family(local.version)
    return InstanceRuntime(
        name=name,
        vrid=vrid,
        interface=interface,
        family=family,
        version=3,
        vips=tuple(sorted(str(vip) for vip in vips)),
        machine=VrrpInstance(settings, local_address=local),
    )


def advert_for(runtime: InstanceRuntime, priority: int, **changes: object) -> Advertisement:
    fields: dict[str, object] = {
        "version": 3,
        "vrid": runtime.vrid,
        "priority": priority,
        "interval_cs": 100,
        "addresses": runtime.machine.settings.addresses,
    }
    fields.update(changes)
    return Advertisement(**fields)  # type: ignore[arg-type]


@dataclass
class ScriptedReports:
    """A scripted sequence of reports for observer unit tests: the real state machines'
    outputs, then a report per action (VIPs, announcements, with fixed durations and injected
    failures), then TookOver. It is not the agent and decides nothing: tests/agent drives the
    real loop, supervisor and observers over a fake Net."""

    observer: Observer
    vip_failures: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """(instance name, op) -> the failures the next VIP changes of that kind report."""

    def start(self, runtimes: Sequence[InstanceRuntime], now: float) -> None:
        self.observer.observe(Started(runtimes, WALL_OFFSET))
        for runtime in runtimes:
            self.event(runtime, Start(), now)

    def event(self, runtime: InstanceRuntime, event: Event, now: float) -> list[Output]:
        outputs = runtime.machine.handle(event, now)
        self.step(runtime, outputs, now)
        return outputs

    def timer(self, runtime: InstanceRuntime) -> list[Output]:
        deadline = runtime.machine.get_timer()
        assert deadline is not None
        outputs = runtime.machine.handle_timer(deadline)
        self.step(runtime, outputs, deadline)
        return outputs

    def step(self, runtime: InstanceRuntime, outputs: Sequence[Output], now: float) -> None:
        self.observer.observe(Stepped(runtime, outputs, now))
        clock = now
        takeover: StateChanged | None = None
        for output in outputs:
            if isinstance(output, PeerHeard):
                runtime.peers[output.source] = (output.priority, output.at)
                runtime.adverts_received += 1  # the supervisor counts these
            elif isinstance(output, SendAdvert):
                runtime.adverts_sent += 1
            elif isinstance(output, InstallVips | ReleaseVips):
                op: VipOp = "add" if isinstance(output, InstallVips) else "remove"
                failures = self.vip_failures.get((runtime.name, op), [])
                changed = [vip for vip in runtime.vips if not any(vip in f for f in failures)]
                self.observer.observe(
                    VipsChanged(runtime, op, changed, failures, clock, clock + VIP_WORK)
                )
                clock += VIP_WORK
            elif isinstance(output, Announce):
                kind: AnnouncementKind = "na" if runtime.family is Family.IPV6 else "garp"
                sent = output.count * len(runtime.vips)
                self.observer.observe(Announced(runtime, kind, sent, clock, clock + VIP_WORK))
                clock += VIP_WORK
            elif isinstance(output, StateChanged) and output.new is State.MASTER:
                takeover = output
        if takeover is not None:
            self.observer.observe(TookOver(runtime, takeover, clock))


def two_instances() -> tuple[InstanceRuntime, InstanceRuntime]:
    return (
        make_runtime("VI_1", 51, "eth0", V1_VIPS, V1_ME, priority=100),
        make_runtime("VI_6", 52, "eth1", V6_VIPS, V6_ME, priority=150),
    )


def run_scenario(observer: Observer) -> tuple[InstanceRuntime, InstanceRuntime]:
    """Two instances, every kind of event once or more; returns them for inspection.

    VI_1 (IPv4): hears a master, rejects a bad advert, loses the master (failover), wins a
    conflict against a router with one VIP less and a trailer (both counted, not rejected),
    then shuts down. VI_6 (IPv6): nobody there, becomes master, yields to a higher
    priority (one VIP removal fails), then takes over again when that router sends priority 0.
    """
    v1, v6 = two_instances()
    agent = ScriptedReports(observer)
    agent.start([v1, v6], 0.0)
    agent.event(v1, AdvertReceived(advert_for(v1, 200), V1_MASTER), 0.5)
    agent.event(v1, AdvertReceived(advert_for(v1, 200), V1_MASTER), 1.5)
    other_version = advert_for(v1, 200, version=2)
    agent.event(v1, AdvertReceived(other_version, V1_MASTER), 1.7)
    observer.observe(PacketDropped("eth0", RejectReason.AUTH_TYPE, V1_MASTER, v1, "auth type 7"))
    observer.observe(PacketDropped("eth0", RejectReason.TTL, V1_MASTER, v1, "TTL 64, expected 255"))
    observer.observe(
        PacketDropped("eth0", RejectReason.VRID, V1_LOWER, None, "no instance for VRID 9")
    )
    agent.timer(v1)  # master down: VI_1 takes over
    mid_migration = advert_for(v1, 50, addresses=V1_VIPS[:1], trailer=bytes(28))
    agent.event(v1, AdvertReceived(mid_migration, V1_LOWER), 6.0)

    agent.timer(v6)  # nobody heard: VI_6 takes over (no failover: no master was lost)
    agent.vip_failures[("VI_6", "remove")] = ["2001:db8::100: Cannot assign requested address"]
    agent.event(v6, AdvertReceived(advert_for(v6, 200), V6_HIGHER), 4.0)
    agent.event(v6, AdvertReceived(advert_for(v6, 0), V6_HIGHER), 5.0)
    agent.timer(v6)  # priority 0 heard: VI_6 takes over after its skew time

    agent.event(v1, Shutdown(), 6.5)
    return v1, v6


def render_openmetrics(observer: MetricsObserver) -> str:
    body, content_type = observer.scrape("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    return body.decode()


def render(observer: MetricsObserver) -> str:
    """The text exposition without `_created` series, which carry the wall-clock creation time."""
    body, content_type = observer.scrape("text/plain")
    assert content_type.startswith("text/plain; version=0.0.4")
    text = body.decode()
    return "".join(line for line in text.splitlines(keepends=True) if "_created" not in line)


def samples(observer: MetricsObserver) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    result = {}
    for family in text_string_to_metric_families(observer.render().decode()):
        for sample in family.samples:
            result[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return result


def value(observer: MetricsObserver, name: str, **labels: str) -> float:
    return samples(observer)[(name, frozenset(labels.items()))]


def instance_names(observer: MetricsObserver, metric_name: str) -> set[str]:
    return {
        dict(labels).get("vrrp_instance", "?")
        for name, labels in samples(observer)
        if name.startswith(metric_name)
    }


# --- the golden scrape ----------------------------------------------------------------------


def test_scenario_renders_exactly_the_golden_metrics_file() -> None:
    observer = MetricsObserver(lambda: 7.0, process_metrics=False)
    run_scenario(observer)
    text = render(observer)
    if os.environ.get("HAVIP_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_scenario_counts_what_happened() -> None:
    observer = MetricsObserver(lambda: 7.0, process_metrics=False)
    run_scenario(observer)
    assert value(observer, names.VRRP_ADVERTS_RECEIVED.name, vrrp_instance="VI_1") == 3
    # sent: the takeover advert, the answer to the lower-priority master, the priority-0 one
    assert value(observer, names.VRRP_ADVERTS_SENT.name, vrrp_instance="VI_1") == 3
    assert value(observer, names.VRRP_PRIORITY_ZERO_SENT.name, vrrp_instance="VI_1") == 1
    assert value(observer, names.VRRP_PRIORITY_ZERO_RECEIVED.name, vrrp_instance="VI_6") == 1
    assert value(observer, names.VRRP_MASTER_CONFLICTS.name, vrrp_instance="VI_1") == 1
    assert value(observer, names.VRRP_MASTER_CONFLICTS.name, vrrp_instance="VI_6") == 1
    rejected = names.VRRP_PACKETS_REJECTED.name
    assert value(observer, rejected, vrrp_instance="VI_1", interface="eth0", reason="ttl") == 1
    assert value(observer, rejected, vrrp_instance="VI_1", interface="eth0", reason="version") == 1
    assert (
        value(observer, rejected, vrrp_instance="VI_1", interface="eth0", reason="address_list")
        == 0
    )
    anomalies = names.VRRP_ADVERT_ANOMALIES.name
    assert value(observer, anomalies, vrrp_instance="VI_1", anomaly="address_list") == 1
    assert value(observer, anomalies, vrrp_instance="VI_1", anomaly="trailing_bytes") == 1
    assert value(observer, anomalies, vrrp_instance="VI_6", anomaly="address_list") == 0
    assert value(observer, rejected, vrrp_instance="", interface="eth0", reason="vrid") == 1
    auth = names.VRRP_AUTH_FAILURES.name
    assert value(observer, auth, vrrp_instance="VI_1", reason="invalid_type") == 1
    assert value(observer, auth, vrrp_instance="VI_1", reason="password") == 0
    transitions = names.VRRP_TRANSITIONS.name
    assert (
        value(
            observer,
            transitions,
            vrrp_instance="VI_6",
            from_state="backup",
            to_state="master",
            reason="priority_zero",
        )
        == 1
    )
    assert value(observer, names.VIP_CHANGES.name, vrrp_instance="VI_1", op="add") == 2
    assert value(observer, names.VIP_CHANGE_FAILURES.name, vrrp_instance="VI_6", op="remove") == 1
    assert value(observer, names.VIP_CHANGES.name, vrrp_instance="VI_6", op="remove") == 0
    assert value(observer, names.ANNOUNCEMENTS_SENT.name, vrrp_instance="VI_1", kind="garp") == 10
    assert value(observer, names.ANNOUNCEMENTS_SENT.name, vrrp_instance="VI_6", kind="na") == 10
    assert value(observer, names.VRRP_STATE.name, vrrp_instance="VI_1", state="stop") == 1
    assert value(observer, names.VRRP_STATE.name, vrrp_instance="VI_6", state="master") == 1
    # peers: at t=7 VI_6 heard fe80::20 at t=5, within its master-down interval
    assert value(observer, names.VRRP_PEERS.name, vrrp_instance="VI_6") == 1


def test_failover_histogram_measures_last_advert_heard_to_takeover_done() -> None:
    observer = MetricsObserver(lambda: 7.0, process_metrics=False)
    v1, v6 = run_scenario(observer)
    failover = names.VRRP_FAILOVER_DURATION.name
    # VI_1 last heard its master at 1.5 and finished the takeover (2 VIP steps) after the
    # master-down interval; VI_6 heard priority 0 at 5.0. VI_6's first takeover lost no master.
    assert value(observer, failover + "_count", vrrp_instance="VI_1") == 1
    assert value(observer, failover + "_count", vrrp_instance="VI_6") == 1
    down_v1 = 3 + (256 - 100) / 256
    expected_v1 = down_v1 + 2 * VIP_WORK
    assert value(observer, failover + "_sum", vrrp_instance="VI_1") == pytest.approx(expected_v1)
    # The takeover histogram is the router's: VI_1 once (2 VIP steps), VI_6 twice (2 each).
    takeover = names.VRRP_TAKEOVER_DURATION.name
    assert value(observer, takeover + "_count") == 3
    assert value(observer, takeover + "_sum") == pytest.approx(6 * VIP_WORK)
    assert v1.machine.state is State.STOP and v6.machine.state is State.MASTER


def test_last_transition_timestamp_is_unix_time_and_zero_before_any() -> None:
    v1, v6 = two_instances()
    observer = MetricsObserver(lambda: 0.0, process_metrics=False)
    observer.observe(Started([v1, v6], WALL_OFFSET))
    name = names.VRRP_LAST_TRANSITION_TIMESTAMP.name
    assert value(observer, name, vrrp_instance="VI_1") == 0
    ScriptedReports(observer).event(v1, Start(), 12.5)
    assert value(observer, name, vrrp_instance="VI_1") == WALL_OFFSET + 12.5


def test_instance_info_labels_describe_the_group() -> None:
    v1, v6 = two_instances()
    observer = MetricsObserver(lambda: 0.0, process_metrics=False)
    observer.observe(Started([v1, v6], WALL_OFFSET))
    info = {
        dict(labels)["vrrp_instance"]: dict(labels)
        for name, labels in samples(observer)
        if name == names.VRRP_INSTANCE_INFO.name
    }
    assert info["VI_1"] == {
        "vrrp_instance": "VI_1",
        "vrid": "51",
        "interface": "eth0",
        "family": "ipv4",
        "version": "3",
        "vips": "192.0.2.100,192.0.2.101",
    }
    assert info["VI_6"]["family"] == "ipv6"


def test_vips_label_sorts_addresses_numerically() -> None:
    assert sorted_vips(["192.0.2.10", "192.0.2.9", "2001:db8::1"]) == [
        "192.0.2.9",
        "192.0.2.10",
        "2001:db8::1",
    ]


# --- series present from start-up ---------------------------------------------------------------

PER_INSTANCE_METRICS = [
    metric
    for metric in names.HAVIP_METRICS
    if "vrrp_instance" in metric.labels
    and metric not in (names.VRRP_TRANSITIONS, names.NOTIFY_RUNS)
]
"""Every per-instance metric this observer exports; transitions appear on first occurrence and
notify-script runs are counted by the notify subscriber, not here."""


def expected_series(runtime: InstanceRuntime) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """The label sets every configured instance must export from start-up, zero or not."""
    name = runtime.name
    series: set[tuple[str, frozenset[tuple[str, str]]]] = set()

    def add(metric_name: str, **labels: str) -> None:
        series.add((metric_name, frozenset({"vrrp_instance": name, **labels}.items())))

    for state in State:
        add(names.VRRP_STATE.name, state=state.value)
    for reason in ("invalid_type", "type_mismatch", "password"):
        add(names.VRRP_AUTH_FAILURES.name, reason=reason)
    for reject in RejectReason:
        never_an_instances = (RejectReason.VRID, RejectReason.RECEIVE_ERROR, RejectReason.OVERFLOW)
        if reject not in never_an_instances:
            add(names.VRRP_PACKETS_REJECTED.name, interface=runtime.interface, reason=reject.value)
    for op in ("add", "remove"):
        add(names.VIP_CHANGES.name, op=op)
        add(names.VIP_CHANGE_FAILURES.name, op=op)
    for kind in ("garp", "na"):
        add(names.ANNOUNCEMENTS_SENT.name, kind=kind)
    return series


def test_every_series_of_every_instance_exists_at_start_up() -> None:
    v1, v6 = two_instances()
    observer = MetricsObserver(lambda: 0.0, process_metrics=False)
    observer.observe(Started([v1, v6], WALL_OFFSET))
    scraped = samples(observer)
    for runtime in (v1, v6):
        assert expected_series(runtime) <= scraped.keys()
        for metric in PER_INSTANCE_METRICS:
            for series_name in metric.series_names:
                assert any(
                    name == series_name and ("vrrp_instance", runtime.name) in labels
                    for name, labels in scraped
                ), f"{series_name} missing for {runtime.name}"
    assert all(
        count == 0
        for (name, _labels), count in scraped.items()
        if name.endswith(("_total", "_count", "_sum", "_bucket"))
    )
    assert not any(name == names.VRRP_TRANSITIONS.name for name, _ in scraped)


def test_unmatched_rejections_exist_for_each_configured_interface() -> None:
    v1, v6 = two_instances()
    observer = MetricsObserver(lambda: 0.0, process_metrics=False)
    observer.observe(Started([v1, v6], WALL_OFFSET))
    scraped = samples(observer)
    for interface in ("eth0", "eth1"):
        for reject in RejectReason:
            labels = {"vrrp_instance": "", "interface": interface, "reason": reject.value}
            assert scraped[(names.VRRP_PACKETS_REJECTED.name, frozenset(labels.items()))] == 0


def test_an_overflow_counts_every_packet_the_kernel_dropped() -> None:
    v1, v6 = two_instances()
    observer = MetricsObserver(lambda: 0.0, process_metrics=False)
    observer.observe(Started([v1, v6], WALL_OFFSET))
    observer.observe(PacketDropped("eth0", RejectReason.OVERFLOW, None, None, "ring full", 37))
    observer.observe(PacketDropped("eth0", RejectReason.OVERFLOW, None, None, "ring full", 5))
    labels = {"vrrp_instance": "", "interface": "eth0", "reason": "overflow"}
    key = (names.VRRP_PACKETS_REJECTED.name, frozenset(labels.items()))
    assert samples(observer)[key] == 42


def test_no_instance_or_job_label_anywhere() -> None:
    observer = MetricsObserver(lambda: 7.0)
    run_scenario(observer)
    for _name, labels in samples(observer):
        assert not {"instance", "job"} & {key for key, _ in labels}


def test_process_and_build_metrics_are_exported_on_a_private_registry() -> None:
    first = MetricsObserver(lambda: 0.0)
    second = MetricsObserver(lambda: 0.0)
    text = first.render().decode()
    assert "process_cpu_seconds_total" in text
    assert "python_info" in text
    assert re.search(r'^havip_build_info\{version="[^"]+"\} 1\.0$', text, re.MULTILINE)
    assert first.registry is not second.registry


# --- reload -------------------------------------------------------------------------------------


def test_reload_removes_the_series_of_removed_instances_and_creates_the_added() -> None:
    observer = MetricsObserver(lambda: 7.0, process_metrics=False)
    _v1, v6 = run_scenario(observer)
    added = make_runtime("VI_7", 53, "eth2", (IPv4Address("198.51.100.7"),), V1_ME)
    observer.observe(InstancesChanged([added], [v6], []))
    scraped = samples(observer)
    assert not any(("vrrp_instance", "VI_6") in labels for _name, labels in scraped)
    assert expected_series(added) <= scraped.keys()
    assert ("vrrp_instance", "VI_7") in next(
        labels
        for name, labels in scraped
        if name == names.VRRP_FAILOVER_DURATION.name + "_count"
        and ("vrrp_instance", "VI_7") in labels
    )
    assert value(observer, names.VRRP_ADVERTS_RECEIVED.name, vrrp_instance="VI_1") == 3


# --- exemplars ----------------------------------------------------------------------------------


def test_openmetrics_failover_bucket_carries_the_transition_trace_id() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = TracingObserver(provider)
    metrics = MetricsObserver(lambda: 7.0, process_metrics=False)
    run_scenario(FanoutObserver([metrics, tracing]))
    takeover_span = next(
        span
        for span in exporter.get_finished_spans()
        if span.name == "vrrp.transition"
        and span.attributes is not None
        and span.attributes["vrrp.instance"] == "VI_1"
        and span.attributes["vrrp.to"] == "master"
    )
    assert takeover_span.context is not None
    trace_id = f"{takeover_span.context.trace_id:032x}"
    text = render_openmetrics(metrics)
    exemplar_lines = [
        line
        for line in text.splitlines()
        if line.startswith(names.VRRP_FAILOVER_DURATION.name + "_bucket")
        and 'vrrp_instance="VI_1"' in line
        and " # {" in line
    ]
    assert len(exemplar_lines) == 1
    assert f'trace_id="{trace_id}"' in exemplar_lines[0]


def test_without_tracing_no_exemplar_is_attached() -> None:
    observer = MetricsObserver(lambda: 7.0, process_metrics=False)
    run_scenario(observer)
    assert " # {" not in render_openmetrics(observer)


# --- fan-out ------------------------------------------------------------------------------------


class Exploding:
    """A subscriber with a bug for two kinds of report the scenario uses."""

    def observe(self, report: Report) -> None:
        if isinstance(report, Stepped):
            raise RuntimeError("bug in a subscriber")
        if isinstance(report, TookOver):
            raise KeyError("another bug")


def test_fanout_survives_a_raising_observer_and_still_feeds_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    healthy = MetricsObserver(lambda: 7.0, process_metrics=False)
    reference = MetricsObserver(lambda: 7.0, process_metrics=False)
    fanout = FanoutObserver([Exploding(), healthy])
    run_scenario(fanout)
    run_scenario(reference)
    assert render(healthy) == render(reference)
    assert fanout.failures[("Exploding", "Stepped")] > 2
    assert fanout.failures[("Exploding", "TookOver")] == 3
    logged = [r for r in caplog.records if "Exploding raised on Stepped" in r.getMessage()]
    # logged at the 1st, 2nd, 4th, 8th... failure only
    counts = fanout.failures[("Exploding", "Stepped")]
    assert len(logged) == counts.bit_length()
    assert all(record.exc_info for record in logged)


def test_fanout_calls_tracing_before_the_others() -> None:
    tracing = TracingObserver(TracerProvider())
    metrics = MetricsObserver(lambda: 0.0, process_metrics=False)
    fanout = FanoutObserver([metrics, tracing])
    assert fanout.observers == (tracing, metrics)
