"""Log lines in keepalived's wording, and the text/syslog/JSON formats they are written in.

keepalived users grep for `VRRP_Instance(VI_1) Entering MASTER STATE` and alert on
`Received higher prio advert`; havip writes the same sentences (keepalived 1.x wording, the one
with the `VRRP_Instance(...)` prefix) so those habits keep working, and only appends what it
knows beyond keepalived as a trailing `(reason=...)`. Lines about a transition carry the
transition span's trace and span ids in JSON output. Rejected packets, and adverts accepted
with an anomaly, are logged at info level as keepalived does, rate-limited as RFC 9568 section 8
asks: at most one line per reason and instance every 10 s, so a flood cannot flood the log.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from havip.observer import (
    Announced,
    InstanceRuntime,
    InstancesChanged,
    PacketDropped,
    Report,
    SpanIds,
    Stepped,
    TookOver,
    VipsChanged,
)
from havip.proto.events import (
    AdvertAnomaly,
    InstallVips,
    MasterConflict,
    PacketRejected,
    PeerHeard,
    PriorityChanged,
    ReleaseVips,
    SendAdvert,
    StateChanged,
    WantsMaster,
)
from havip.proto.model import PRIORITY_RELEASE, Anomaly, IPAddress, Reason, RejectReason, State

LOG_FORMATS = ("text", "json", "syslog")
TEXT_FORMAT = "%(asctime)s havip[%(process)d]: %(message)s"
SYSLOG_FORMAT = "havip[%(process)d]: %(message)s"
REJECT_LOG_INTERVAL = 10.0
"""Seconds between two lines for the same rejected-packet reason (or anomaly) and instance."""

LimitKey = tuple[str, str, RejectReason | Anomaly]
"""(instance name or "", interface, reason): a bounded set, so the limiter's table is too."""


_ENTERING = {
    State.BACKUP: "Entering BACKUP STATE",
    State.FAULT: "Entering FAULT STATE",
    State.INIT: "Entering INIT STATE",
    State.STOP: "Stopped",
}
_ANNOUNCING = {
    "garp": "Sending gratuitous ARP on {interface} for {address}",
    "na": "Sending unsolicited Neighbour Advertisement on {interface} for {address}",
}


class RejectLogLimiter:
    """Lets one line per key through every `interval` seconds and counts the rest."""

    def __init__(self, clock: Callable[[], float], interval: float = REJECT_LOG_INTERVAL) -> None:
        self._clock = clock
        self._interval = interval
        self._windows: dict[LimitKey, tuple[float, int]] = {}

    def admit(self, key: LimitKey) -> int | None:
        """None if the line must be suppressed, else how many were suppressed since the last."""
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window[0] < self._interval:
            self._windows[key] = (window[0], window[1] + 1)
            return None
        self._windows[key] = (now, 0)
        return 0 if window is None else window[1]


class LogObserver:
    """Writes the agent's story to the `havip` logger, the way keepalived tells it."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self._log = logger or logging.getLogger("havip")
        self._rejects = RejectLogLimiter(clock)

    # --- Observer -----------------------------------------------------------------------------

    def observe(self, report: Report) -> None:
        match report:
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

    def _on_outputs(self, report: Stepped) -> None:
        """Runs for every advert: nothing is formatted unless a line is actually written."""
        runtime, outputs = report.runtime, report.outputs
        change: StateChanged | None = None
        for output in outputs:
            if isinstance(output, StateChanged):
                change = output
        traced = report.trace
        if change is not None:
            self._transition_head(runtime, change, traced)
        for output in outputs:
            if isinstance(output, PeerHeard):
                if output.priority == PRIORITY_RELEASE and runtime.machine.state is State.BACKUP:
                    self._say(runtime, "Backup received priority 0 advertisement", traced)
            elif isinstance(output, PacketRejected):
                self._rejected(
                    runtime.name, runtime.interface, output.reason, output.source, output.detail
                )
            elif isinstance(output, AdvertAnomaly):
                self._anomaly(runtime, output)
            elif isinstance(output, SendAdvert):
                if output.advert.priority == PRIORITY_RELEASE:
                    self._say(runtime, "sending 0 priority", traced)
            elif isinstance(output, InstallVips):
                self._say(runtime, "Entering MASTER STATE", traced)
                self._say(runtime, "setting protocol VIPs.", traced)
            elif isinstance(output, ReleaseVips):
                self._say(runtime, "removing protocol VIPs.", traced)
            elif isinstance(output, MasterConflict):
                if output.won:
                    self._say(
                        runtime,
                        "Received lower prio advert, forcing new election "
                        f"(from={output.source}, priority={output.priority})",
                        traced,
                    )
            elif isinstance(output, PriorityChanged):
                self._say(
                    runtime, f"Effective priority = {output.new} (tracker={output.tracker})", traced
                )
            elif isinstance(output, WantsMaster) and output.wanted:
                self._say(
                    runtime,
                    f"would become MASTER; waiting for every member of sync group "
                    f"{runtime.sync_group} to want it too",
                    traced,
                )
        if change is not None and change.new is State.FAULT:
            self._say(runtime, "Now in FAULT state", traced)

    def _on_packet_dropped(self, report: PacketDropped) -> None:
        interface, reason, source, runtime, detail = (
            report.interface,
            report.reason,
            report.source,
            report.runtime,
            report.detail,
        )
        name = None if runtime is None else runtime.name
        self._rejected(name, interface, reason, source, detail)

    def _on_vips_changed(self, report: VipsChanged) -> None:
        runtime, op, failures = report.runtime, report.op, report.failures
        for failure in failures:
            self._log.warning(
                "VRRP_Instance(%s) cannot %s VIP: %s",
                runtime.name,
                op,
                failure,
                extra=self._extra(runtime, report.trace),
            )

    def _on_announced(self, report: Announced) -> None:
        """One line per VIP of the announced family, as keepalived does (not one per packet).

        The callback does not say which addresses went out, so the line lists the instance's
        VIPs of that family on its interface.
        """
        runtime, kind = report.runtime, report.kind
        if report.paced or not self._log.isEnabledFor(logging.INFO):
            return
        template = _ANNOUNCING[kind]
        ipv6 = kind == "na"
        for vip in runtime.vips:
            address = vip.split("/", 1)[0]
            if (":" in address) is ipv6:
                self._say(
                    runtime,
                    template.format(interface=report.device or runtime.interface, address=address),
                    report.trace,
                )

    def _on_took_over(self, report: TookOver) -> None:
        runtime, change, done_at = report.runtime, report.change, report.done_at
        self._log.debug(
            "VRRP_Instance(%s) takeover done in %.6f s (reason=%s)",
            runtime.name,
            done_at - change.at,
            change.reason.value,
            extra=self._extra(runtime, report.trace),
        )

    def _on_instances_changed(self, report: InstancesChanged) -> None:
        added, removed = report.added, report.removed
        for runtime in removed:
            self._say(runtime, "removed by reload", None)
        for runtime in added:
            self._say(runtime, "added by reload", None)

    # --- helpers ------------------------------------------------------------------------------

    def _transition_head(
        self, runtime: InstanceRuntime, change: StateChanged, trace: SpanIds | None
    ) -> None:
        detail = f": {change.detail}" if change.detail else ""
        suffix = f" (reason={change.reason.value}{detail})"
        if change.new is State.MASTER:
            self._say(runtime, f"Transition to MASTER STATE{suffix}", trace)
            return
        if change.reason is Reason.HIGHER_PRIORITY:
            self._say(runtime, "Received higher prio advert", trace)
        self._say(runtime, f"{_ENTERING[change.new]}{suffix}", trace)

    def _rejected(
        self,
        instance_name: str | None,
        interface: str,
        reason: RejectReason,
        source: IPAddress | None,
        detail: str,
    ) -> None:
        """An info line, unless one for this instance (or interface) and reason was written in
        the last 10 s; nothing is formatted for the lines dropped."""
        if not self._log.isEnabledFor(logging.INFO):
            return
        suppressed = self._rejects.admit((instance_name or "", interface, reason))
        if suppressed is None:
            return
        where = (
            f"Interface({interface})"
            if instance_name is None
            else f"VRRP_Instance({instance_name})"
        )
        tail = f", {suppressed} similar suppressed" if suppressed else ""
        self._log.info(
            "%s ignoring VRRP packet from %s: %s (reason=%s%s)",
            where,
            "unknown source" if source is None else source,
            detail,
            reason.value,
            tail,
            extra={"vrrp_instance": instance_name or ""},
        )

    def _anomaly(self, runtime: InstanceRuntime, anomaly: AdvertAnomaly) -> None:
        """Like `_rejected`, for an advert that was accepted all the same."""
        if not self._log.isEnabledFor(logging.INFO):
            return
        suppressed = self._rejects.admit((runtime.name, runtime.interface, anomaly.anomaly))
        if suppressed is None:
            return
        tail = f", {suppressed} similar suppressed" if suppressed else ""
        self._log.info(
            "VRRP_Instance(%s) %s from %s, advert accepted (anomaly=%s%s)",
            runtime.name,
            anomaly.detail,
            anomaly.source,
            anomaly.anomaly.value,
            tail,
            extra={"vrrp_instance": runtime.name},
        )

    def _say(self, runtime: InstanceRuntime, text: str, trace: SpanIds | None) -> None:
        """Log `VRRP_Instance(name) text` at info; `trace`: the transition the line belongs to."""
        self._log.info(
            "VRRP_Instance(%s) %s", runtime.name, text, extra=self._extra(runtime, trace)
        )

    @staticmethod
    def _extra(runtime: InstanceRuntime, trace: SpanIds | None) -> dict[str, str]:
        extra = {"vrrp_instance": runtime.name}
        if trace is not None:
            extra["trace_id"] = trace.trace_id
            extra["span_id"] = trace.span_id
        return extra


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, message, and the instance and span ids if known."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        for key in ("vrrp_instance", "trace_id", "span_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def make_formatter(fmt: str) -> logging.Formatter:
    """The formatter for `--log-format`: text (timestamped), syslog (journald adds the time)
    or json."""
    if fmt == "json":
        return JsonFormatter()
    if fmt == "syslog":
        return logging.Formatter(SYSLOG_FORMAT)
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"unknown log format {fmt!r}, expected one of {', '.join(LOG_FORMATS)}")


def setup_logging(fmt: str, level: str) -> None:
    """Send every log line to stderr in format `fmt` at `level` (debug, info, warning, error).

    Replaces the root logger's handlers, so calling it again (a reload) does not duplicate lines.
    """
    levels = logging.getLevelNamesMapping()
    numeric = levels.get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
