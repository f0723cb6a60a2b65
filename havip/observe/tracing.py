"""OpenTelemetry spans: one `vrrp.transition` span per state change, VIP and ARP work as children.

A transition span starts at the decision (StateChanged.at) and, for a move to MASTER, ends when
the agent reports the takeover done (VIPs installed, first announcement sent), so its duration
is havip's own share of a failover. Other transitions end at once. VIP changes and announcement
rounds become child spans of the instance's current transition span; a transition stays current
until its takeover is done or the next transition, so the periodic gratuitous-ARP refresh of a
settled master does not create a trace every few seconds.

Spans are always created, so every transition has a trace id for the JSON logs, /status and
the failover exemplar, with or without a collector; a transition is rare, so this costs little
(bench/tracing.py measures it). Only exporting is opt-in, through the standard OTEL_* variables.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Span, Status, StatusCode

from havip import __version__
from havip.observer import (
    Announced,
    InstanceRuntime,
    InstancesChanged,
    Notified,
    Report,
    SpanIds,
    Started,
    Stepped,
    TookOver,
    VipsChanged,
)
from havip.proto.events import StateChanged
from havip.proto.model import State

TRANSITION_SPAN = "vrrp.transition"
ANNOUNCE_SPAN = "vrrp.announce"
NOTIFY_SPAN = "vrrp.notify"
VIPS_SPAN_PREFIX = "vrrp.vips."
NANOSECONDS = 1_000_000_000
EXPORTERS_THAT_TRACE = frozenset({"otlp", "console"})


def export_requested(environ: Mapping[str, str]) -> bool:
    """Whether the OTEL_* variables ask to export spans: an OTLP endpoint, or an exporter."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporter_names(environ)
    if "none" in exporters:
        return False
    if exporters & EXPORTERS_THAT_TRACE:
        return True
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def setup_tracing(environ: Mapping[str, str]) -> TracerProvider:
    """A TracerProvider that exports as the OTEL_* variables say, and only then.

    Without an exporter the provider has no span processor: spans get their ids and end, and
    nothing is queued or sent. Exported spans leave through a BatchSpanProcessor: exporting
    happens in its own thread, so a slow or absent collector never delays the agent. The OTLP
    exporter reads its remaining settings (headers, timeout, certificates, compression) from
    the process environment, as the SDK does; the SDK itself reads OTEL_SDK_DISABLED and
    OTEL_TRACES_SAMPLER there. The caller shuts the provider down on exit to flush the last spans.
    """
    resource = Resource.create({SERVICE_VERSION: __version__})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "havip"}))
    provider = TracerProvider(resource=resource)
    if not export_requested(environ):
        return provider
    for exporter in _exporters(environ):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _exporter_names(environ: Mapping[str, str]) -> set[str]:
    value = environ.get("OTEL_TRACES_EXPORTER", "")
    return {name.strip().lower() for name in value.split(",") if name.strip()}


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    names = _exporter_names(environ) or {"otlp"}
    exporters: list[SpanExporter] = []
    if "console" in names:
        exporters.append(ConsoleSpanExporter(out=sys.stdout))  # today's stdout, not import time's
    if "otlp" in names:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter(endpoint=_traces_endpoint(environ)))
    return exporters


def _traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL from the given variables (None: the exporter's default)."""
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if endpoint:
        return endpoint
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if base:
        return base.rstrip("/") + "/v1/traces"
    return None


class TracingObserver:
    """Turns transitions, VIP changes and announcements into spans.

    `stamp` gives a report the ids of the span it belongs to, opening a transition span when
    the report carries a state change; the fan-out stamps every report before any observer
    sees it, so metrics and logs read trace ids from reports, never from this observer.
    """

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._tracer = provider.get_tracer("havip", __version__)
        self._wall_offset = 0.0
        self._current: dict[InstanceRuntime, Span] = {}
        self._latest_trace_id: dict[InstanceRuntime, str] = {}
        self._latest_into: dict[InstanceRuntime, dict[str, Span]] = {}
        """Each instance's latest transition span into each state: a notify run's parent."""

    def latest_trace_id(self, runtime: InstanceRuntime) -> str | None:
        """Trace id of the instance's most recent transition span, even after it ended."""
        return self._latest_trace_id.get(runtime)

    def current_span_ids(self, runtime: InstanceRuntime) -> SpanIds | None:
        """Ids of the instance's current transition span, None once its takeover is done."""
        span = self._current.get(runtime)
        if span is None:
            return None
        context = span.get_span_context()
        if not context.is_valid:  # OTEL_SDK_DISABLED=true: the SDK's spans have no ids
            return None
        return SpanIds(
            trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)
        )

    # --- Observer -----------------------------------------------------------------------------

    def stamp(self, report: Report) -> Report:
        """`report` with the ids of its transition span (itself when there are none)."""
        match report:
            case Stepped(trace=None):
                ids = None
                for output in report.outputs:
                    if isinstance(output, StateChanged):
                        self._transition(report.runtime, output, report.now)
                        ids = self.current_span_ids(report.runtime)
                return report if ids is None else replace(report, trace=ids)
            case VipsChanged(trace=None) | Announced(trace=None) | TookOver(trace=None):
                ids = self.current_span_ids(report.runtime)
                return report if ids is None else replace(report, trace=ids)
            case _:
                return report

    def observe(self, report: Report) -> None:
        match report:
            case Started():
                self._on_started(report)
            case Stepped(trace=None):
                self.stamp(report)  # not stamped by a fan-out: open the span now
            case VipsChanged():
                self._on_vips_changed(report)
            case Announced():
                self._on_announced(report)
            case TookOver():
                self._on_took_over(report)
            case InstancesChanged():
                self._on_instances_changed(report)
            case Notified():
                self._on_notified(report)
            case _:
                pass

    def _on_started(self, report: Started) -> None:
        wall_offset = report.wall_offset
        self._wall_offset = wall_offset

    def _on_vips_changed(self, report: VipsChanged) -> None:
        runtime, op, changed, failures, began, ended = (
            report.runtime,
            report.op,
            report.changed,
            report.failures,
            report.began,
            report.ended,
        )
        parent = self._current.get(runtime)
        if parent is None:
            return
        span = self._child(
            parent,
            VIPS_SPAN_PREFIX + op,
            began,
            {"count": len(changed), "failures": len(failures), "addresses": list(changed)},
        )
        if failures:
            span.set_status(Status(StatusCode.ERROR, "; ".join(failures)))
        span.end(end_time=self._ns(ended))

    def _on_announced(self, report: Announced) -> None:
        runtime, kind, count, began, ended = (
            report.runtime,
            report.kind,
            report.count,
            report.began,
            report.ended,
        )
        parent = self._current.get(runtime)
        if parent is None:
            return
        span = self._child(parent, ANNOUNCE_SPAN, began, {"kind": kind, "count": count})
        span.end(end_time=self._ns(ended))

    def _on_took_over(self, report: TookOver) -> None:
        runtime, done_at = report.runtime, report.done_at
        span = self._current.pop(runtime, None)
        if span is not None:
            span.end(end_time=self._ns(done_at))

    def _on_instances_changed(self, report: InstancesChanged) -> None:
        removed = report.removed
        for runtime in removed:
            span = self._current.pop(runtime, None)
            if span is not None and span.is_recording():
                span.end()
            self._latest_trace_id.pop(runtime, None)
            self._latest_into.pop(runtime, None)

    def _on_notified(self, report: Notified) -> None:
        """A child span of the transition whose notification the script delivered."""
        runtime, run = report.runtime, report.run
        if runtime is None:
            return
        parent = self._latest_into.get(runtime, {}).get(run.state.lower())
        if parent is None or run.began is None or run.ended is None:
            return
        attributes: dict[str, str | int | list[str]] = {
            "command": run.command,
            "state": run.state,
            "result": run.result,
        }
        span = self._child(parent, NOTIFY_SPAN, run.began, attributes)
        if run.result != "ok":
            span.set_status(Status(StatusCode.ERROR, run.detail or run.result))
        span.end(end_time=self._ns(run.ended))

    # --- helpers ------------------------------------------------------------------------------

    def _transition(self, runtime: InstanceRuntime, change: StateChanged, now: float) -> None:
        start = self._ns(change.at)
        unfinished = self._current.pop(runtime, None)
        if unfinished is not None and unfinished.is_recording():
            unfinished.set_status(Status(StatusCode.ERROR, "superseded before the takeover ended"))
            unfinished.end(end_time=start)
        attributes: dict[str, str | int] = {
            "vrrp.instance": runtime.name,
            "vrrp.vrid": runtime.vrid,
            "vrrp.interface": runtime.interface,
            "vrrp.from": change.old.value,
            "vrrp.to": change.new.value,
            "vrrp.reason": change.reason.value,
            "vrrp.effective_priority": change.priority,
            "vrrp.previous_master": "" if change.master is None else str(change.master),
        }
        if change.detail:
            attributes["vrrp.detail"] = change.detail
        span = self._tracer.start_span(
            TRANSITION_SPAN, context=Context(), start_time=start, attributes=attributes
        )
        if change.new is not State.MASTER:
            span.end(end_time=self._ns(now))
        self._current[runtime] = span
        self._latest_into.setdefault(runtime, {})[change.new.value] = span
        context = span.get_span_context()
        if context.is_valid:
            self._latest_trace_id[runtime] = trace.format_trace_id(context.trace_id)

    def _child(
        self,
        parent: Span,
        name: str,
        began: float,
        attributes: dict[str, str | int | list[str]],
    ) -> Span:
        return self._tracer.start_span(
            name,
            context=trace.set_span_in_context(parent),
            start_time=self._ns(began),
            attributes=attributes,
        )

    def _ns(self, agent_time: float) -> int:
        """Agent clock seconds -> Unix nanoseconds, the timestamps OpenTelemetry wants."""
        return round((agent_time + self._wall_offset) * NANOSECONDS)
