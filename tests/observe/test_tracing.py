"""Transition spans and their children, recorded by the SDK's in-memory exporter."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from havip import __version__
from havip.notify.runner import NotifyRun
from havip.observe import names
from havip.observe.fanout import FanoutObserver
from havip.observe.logs import JsonFormatter, LogObserver
from havip.observe.metrics import MetricsObserver
from havip.observe.status import build_status
from havip.observe.tracing import TracingObserver, export_requested, setup_tracing
from havip.observer import (
    Announced,
    InstancesChanged,
    Notified,
    Started,
    Stepped,
    VipsChanged,
)
from havip.proto.events import AdvertReceived, Start

from .test_metrics import (
    V1_MASTER,
    VIP_WORK,
    WALL_OFFSET,
    ScriptedReports,
    advert_for,
    render_openmetrics,
    run_scenario,
    two_instances,
)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> TracingObserver:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return TracingObserver(provider)


def ns(agent_time: float) -> int:
    return round((agent_time + WALL_OFFSET) * 1_000_000_000)


def transitions(spans: Sequence[ReadableSpan], instance: str) -> list[ReadableSpan]:
    return [
        span
        for span in spans
        if span.name == "vrrp.transition"
        and span.attributes is not None
        and span.attributes["vrrp.instance"] == instance
    ]


def children_of(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


def test_one_span_per_transition_with_the_contract_attributes(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    run_scenario(tracing)
    spans = exporter.get_finished_spans()
    v1 = transitions(spans, "VI_1")
    assert [(s.attributes or {}).get("vrrp.to") for s in v1] == ["backup", "master", "stop"]
    takeover = v1[1]
    assert dict(takeover.attributes or {}) == {
        "vrrp.instance": "VI_1",
        "vrrp.vrid": 51,
        "vrrp.interface": "eth0",
        "vrrp.from": "backup",
        "vrrp.to": "master",
        "vrrp.reason": "master_down",
        "vrrp.effective_priority": 100,
        "vrrp.previous_master": str(V1_MASTER),
    }
    assert (v1[0].attributes or {})["vrrp.previous_master"] == ""
    assert len(transitions(spans, "VI_6")) == 4
    assert all(span.parent is None for span in transitions(spans, "VI_1"))


def test_master_span_runs_from_decision_to_takeover_done(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    run_scenario(tracing)
    spans = exporter.get_finished_spans()
    takeover = transitions(spans, "VI_1")[1]
    decided = 1.5 + 3 + (256 - 100) / 256  # last advert heard + master-down interval
    assert takeover.start_time == ns(decided)
    assert takeover.end_time == ns(decided + 2 * VIP_WORK)
    to_backup = transitions(spans, "VI_1")[0]
    assert to_backup.start_time == to_backup.end_time == ns(0.0)


def test_vip_and_announce_spans_are_children_of_the_transition(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    run_scenario(tracing)
    spans = exporter.get_finished_spans()
    takeover = transitions(spans, "VI_1")[1]
    children = children_of(spans, takeover)
    assert [span.name for span in children] == ["vrrp.vips.add", "vrrp.announce"]
    vips, announce = children
    assert takeover.context is not None and vips.context is not None
    assert vips.context.trace_id == takeover.context.trace_id
    assert dict(vips.attributes or {}) == {
        "count": 2,
        "failures": 0,
        "addresses": ("192.0.2.100", "192.0.2.101"),
    }
    assert dict(announce.attributes or {}) == {"kind": "garp", "count": 10}
    assert announce.start_time == vips.end_time


def test_failed_vip_removal_marks_its_span_as_an_error(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    run_scenario(tracing)
    spans = exporter.get_finished_spans()
    to_backup = transitions(spans, "VI_6")[2]
    assert (to_backup.attributes or {})["vrrp.reason"] == "higher_priority"
    (removal,) = children_of(spans, to_backup)
    assert removal.name == "vrrp.vips.remove"
    assert (removal.attributes or {})["failures"] == 1
    assert removal.status.status_code is StatusCode.ERROR
    assert "Cannot assign requested address" in (removal.status.description or "")


def test_takeover_done_ends_the_current_span_but_keeps_its_trace_id(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    v1, v6 = two_instances()
    agent = ScriptedReports(tracing)
    agent.start([v1, v6], 0.0)
    assert tracing.current_span_ids(v1) is not None  # INIT -> BACKUP stays current
    agent.timer(v1)
    takeover = transitions(exporter.get_finished_spans(), "VI_1")[-1]
    assert takeover.context is not None
    assert tracing.current_span_ids(v1) is None
    assert tracing.latest_trace_id(v1) == f"{takeover.context.trace_id:032x}"
    # an announcement round after the takeover (a garp refresh) is not traced
    recorded = len(exporter.get_finished_spans())
    tracing.observe(Announced(v1, "garp", 2, 10.0, 10.1))
    assert len(exporter.get_finished_spans()) == recorded


def test_a_superseded_takeover_span_is_ended_as_an_error(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    v1, v6 = two_instances()
    tracing.observe(Started([v1, v6], WALL_OFFSET))
    for output in v1.machine.handle(Start(), 0.0):
        tracing.observe(Stepped(v1, [output], 0.0))
    deadline = v1.machine.get_timer()
    assert deadline is not None
    tracing.observe(
        Stepped(v1, v1.machine.handle_timer(deadline), deadline)
    )  # to MASTER, no took_over
    higher = v1.machine.handle(AdvertReceived(advert_for(v1, 250), V1_MASTER), deadline + 0.5)
    tracing.observe(Stepped(v1, higher, deadline + 0.5))
    unfinished = transitions(exporter.get_finished_spans(), "VI_1")[1]
    assert (unfinished.attributes or {})["vrrp.to"] == "master"
    assert unfinished.end_time == ns(deadline + 0.5)
    assert unfinished.status.status_code is StatusCode.ERROR


def test_removed_instances_forget_their_spans(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    v1, v6 = two_instances()
    ScriptedReports(tracing).start([v1, v6], 0.0)
    tracing.observe(InstancesChanged([], [v6], []))
    assert tracing.latest_trace_id(v6) is None
    assert tracing.current_span_ids(v6) is None
    assert tracing.latest_trace_id(v1) is not None


# --- setup from OTEL_* variables ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "router-a"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, False),
    ],
)
def test_spans_are_exported_only_when_the_environment_asks(
    environ: dict[str, str], wanted: bool
) -> None:
    assert export_requested(environ) is wanted


@pytest.fixture
def no_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process environment without any OTEL_* variable (the SDK reads some itself)."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_otel_variables")
def test_without_otel_variables_trace_ids_reach_exemplars_logs_and_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    provider = setup_tracing({})
    tracing = TracingObserver(provider)
    metrics = MetricsObserver(lambda: 7.0, process_metrics=False)
    stream = io.StringIO()
    logger = logging.getLogger("havip.test_tracing")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        v1, _v6 = run_scenario(
            FanoutObserver([metrics, LogObserver(lambda: 7.0, logger=logger), tracing])
        )
    finally:
        logger.removeHandler(handler)
    provider.shutdown()

    exemplars = [
        line
        for line in render_openmetrics(metrics).splitlines()
        if line.startswith(names.VRRP_FAILOVER_DURATION.name + "_bucket")
        and 'vrrp_instance="VI_1"' in line
        and " # {" in line
    ]
    (exemplar,) = exemplars
    trace_id = re.search(r'trace_id="([0-9a-f]{32})"', exemplar)
    assert trace_id is not None and int(trace_id.group(1), 16) != 0
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    (entering_master,) = [
        e for e in entries if e["message"] == "VRRP_Instance(VI_1) Entering MASTER STATE"
    ]
    assert entering_master["trace_id"] == trace_id.group(1)
    status = build_status([v1], 7.0, WALL_OFFSET, trace_id=tracing.latest_trace_id)
    (v1_status,) = status["instances"]
    assert re.fullmatch("[0-9a-f]{32}", v1_status["trace_id"])  # its latest transition: stop
    assert v1_status["trace_id"] == tracing.latest_trace_id(v1)
    assert capsys.readouterr().out == ""  # nothing exported, not even to the console


@pytest.mark.usefixtures("no_otel_variables")
def test_the_console_exporter_exports_the_transition_spans(
    capsys: pytest.CaptureFixture[str],
) -> None:
    provider = setup_tracing({"OTEL_TRACES_EXPORTER": "console"})
    run_scenario(TracingObserver(provider))
    provider.shutdown()
    assert '"name": "vrrp.transition"' in capsys.readouterr().out


def test_with_the_sdk_disabled_no_report_carries_a_trace_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tracing = TracingObserver(setup_tracing(dict(os.environ)))
    metrics = MetricsObserver(lambda: 7.0, process_metrics=False)
    v1, _v6 = run_scenario(FanoutObserver([metrics, tracing]))
    assert tracing.latest_trace_id(v1) is None
    assert " # {" not in render_openmetrics(metrics)  # no all-zero trace id as an exemplar


@pytest.mark.parametrize(("service_name", "expected"), [(None, "havip"), ("router-a", "router-a")])
def test_setup_tracing_names_the_service_havip_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch, service_name: str | None, expected: str
) -> None:
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    if service_name is None:
        monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    else:
        monkeypatch.setenv("OTEL_SERVICE_NAME", service_name)
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == expected
        assert provider.resource.attributes["service.version"] == __version__
    finally:
        provider.shutdown()


def test_a_notify_run_is_a_child_span_of_the_transition_it_reported(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    v1, _ = run_scenario(tracing)
    master_at = transitions(exporter.get_finished_spans(), "VI_1")[1]
    run = NotifyRun(
        "INSTANCE",
        "VI_1",
        "MASTER",
        100,
        "/etc/keepalived/master.sh",
        "timeout",
        20.0,
        21.0,
        "killed after 1 s",
    )
    tracing.observe(Notified(run, v1))
    spans = exporter.get_finished_spans()
    (notify,) = [s for s in children_of(spans, master_at) if s.name == "vrrp.notify"]
    assert dict(notify.attributes or {}) == {
        "command": "/etc/keepalived/master.sh",
        "state": "MASTER",
        "result": "timeout",
    }
    assert (notify.start_time, notify.end_time) == (ns(20.0), ns(21.0))
    assert notify.status.status_code is StatusCode.ERROR


def test_a_stamped_report_carries_the_ids_of_its_transition_span(
    tracing: TracingObserver, exporter: InMemorySpanExporter
) -> None:
    v1, _v6 = two_instances()
    tracing.observe(Started([v1], WALL_OFFSET))
    step = Stepped(v1, v1.machine.handle(Start(), 0.0), 0.0)
    stamped = tracing.stamp(step)
    assert isinstance(stamped, Stepped) and stamped.trace is not None
    assert stamped.trace == tracing.current_span_ids(v1)
    quiet = Stepped(v1, [], 1.0)
    assert tracing.stamp(quiet) is quiet  # no transition, no ids, no copy
    vips = tracing.stamp(VipsChanged(v1, "add", ["192.0.2.100"], [], 1.0, 1.1))
    assert isinstance(vips, VipsChanged) and vips.trace == stamped.trace
