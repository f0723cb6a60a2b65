"""Log lines in keepalived's wording, JSON correlation with spans, and rejected-packet limiting."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from havip.observe.fanout import FanoutObserver
from havip.observe.logs import JsonFormatter, LogObserver, make_formatter, setup_logging
from havip.observe.tracing import TracingObserver
from havip.observer import PacketDropped, Started, Stepped
from havip.proto.events import (
    AdvertAnomaly,
    AdvertReceived,
    PacketRejected,
    Shutdown,
    TrackerChanged,
    WantsMaster,
)
from havip.proto.model import Anomaly, RejectReason

from .test_metrics import V1_MASTER, ScriptedReports, advert_for, run_scenario, two_instances


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A private logger at DEBUG whose records the test reads (nothing reaches the root)."""
    log = logging.getLogger("havip.test_logs")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.INFO) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def records(logger: logging.Logger) -> Records:
    handler = Records()
    logger.addHandler(handler)
    return handler


def _about_one_packet(message: str) -> bool:
    """A rejected or anomalous packet's line (tested on their own below)."""
    return "ignoring VRRP packet" in message or "advert accepted" in message


def test_takeover_and_shutdown_read_like_keepalived(
    logger: logging.Logger, records: Records
) -> None:
    run_scenario(LogObserver(FakeClock(), logger=logger))
    v1_lines = [
        m
        for m in records.messages()
        if m.startswith("VRRP_Instance(VI_1)") and not _about_one_packet(m)
    ]
    assert v1_lines == [
        "VRRP_Instance(VI_1) Entering BACKUP STATE (reason=startup)",
        "VRRP_Instance(VI_1) Transition to MASTER STATE (reason=master_down)",
        "VRRP_Instance(VI_1) Entering MASTER STATE",
        "VRRP_Instance(VI_1) setting protocol VIPs.",
        "VRRP_Instance(VI_1) Sending gratuitous ARP on eth0 for 192.0.2.100",
        "VRRP_Instance(VI_1) Sending gratuitous ARP on eth0 for 192.0.2.101",
        "VRRP_Instance(VI_1) Received lower prio advert, forcing new election "
        "(from=192.0.2.5, priority=50)",
        "VRRP_Instance(VI_1) Stopped (reason=shutdown)",
        "VRRP_Instance(VI_1) sending 0 priority",
        "VRRP_Instance(VI_1) removing protocol VIPs.",
    ]


def test_yielding_to_a_higher_priority_and_priority_zero_read_like_keepalived(
    logger: logging.Logger, records: Records
) -> None:
    run_scenario(LogObserver(FakeClock(), logger=logger))
    v6_lines = [m for m in records.messages() if m.startswith("VRRP_Instance(VI_6)")]
    assert v6_lines == [
        "VRRP_Instance(VI_6) Entering BACKUP STATE (reason=startup)",
        "VRRP_Instance(VI_6) Transition to MASTER STATE (reason=master_down)",
        "VRRP_Instance(VI_6) Entering MASTER STATE",
        "VRRP_Instance(VI_6) setting protocol VIPs.",
        "VRRP_Instance(VI_6) Sending unsolicited Neighbour Advertisement on eth1 for 2001:db8::100",
        "VRRP_Instance(VI_6) Received higher prio advert",
        "VRRP_Instance(VI_6) Entering BACKUP STATE (reason=higher_priority)",
        "VRRP_Instance(VI_6) removing protocol VIPs.",
        "VRRP_Instance(VI_6) cannot remove VIP: 2001:db8::100: Cannot assign requested address",
        "VRRP_Instance(VI_6) Backup received priority 0 advertisement",
        "VRRP_Instance(VI_6) Transition to MASTER STATE (reason=priority_zero)",
        "VRRP_Instance(VI_6) Entering MASTER STATE",
        "VRRP_Instance(VI_6) setting protocol VIPs.",
        "VRRP_Instance(VI_6) Sending unsolicited Neighbour Advertisement on eth1 for 2001:db8::100",
    ]


def test_fault_reads_like_keepalived(logger: logging.Logger, records: Records) -> None:
    v1, v6 = two_instances()
    agent = ScriptedReports(LogObserver(FakeClock(), logger=logger))
    agent.start([v1, v6], 0.0)
    agent.timer(v1)
    records.records.clear()
    agent.event(v1, TrackerChanged("chk_haproxy", up=False, weight=0), 5.0)
    assert records.messages() == [
        "VRRP_Instance(VI_1) Entering FAULT STATE (reason=fault: chk_haproxy)",
        "VRRP_Instance(VI_1) sending 0 priority",
        "VRRP_Instance(VI_1) removing protocol VIPs.",
        "VRRP_Instance(VI_1) Now in FAULT state",
    ]


def test_json_lines_of_a_transition_carry_its_trace_and_span_ids(
    logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = TracingObserver(provider)
    logs = LogObserver(FakeClock(), logger=logger)
    v1, v6 = two_instances()
    agent = ScriptedReports(FanoutObserver([logs, tracing]))
    agent.start([v1, v6], 0.0)
    stream.truncate(0)
    stream.seek(0)
    agent.timer(v1)
    agent.event(v1, AdvertReceived(advert_for(v1, 100, version=2), V1_MASTER), 6.0)

    takeover = next(
        span
        for span in exporter.get_finished_spans()
        if (span.attributes or {}).get("vrrp.to") == "master"
    )
    assert takeover.context is not None
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    transition_lines = [
        e for e in entries if e["level"] == "info" and "VRRP packet" not in e["message"]
    ]
    assert [e["message"] for e in transition_lines][:2] == [
        "VRRP_Instance(VI_1) Transition to MASTER STATE (reason=master_down)",
        "VRRP_Instance(VI_1) Entering MASTER STATE",
    ]
    for entry in transition_lines:
        assert entry["trace_id"] == f"{takeover.context.trace_id:032x}"
        assert entry["span_id"] == f"{takeover.context.span_id:016x}"
        assert entry["vrrp_instance"] == "VI_1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"])
    rejected = [e for e in entries if "VRRP packet" in e["message"]]
    assert len(rejected) == 1
    assert rejected[0]["level"] == "info"
    assert "trace_id" not in rejected[0]


def test_rejected_packets_log_once_per_reason_and_instance_every_ten_seconds(
    logger: logging.Logger, records: Records
) -> None:
    clock = FakeClock()
    observer = LogObserver(clock, logger=logger)
    v1, v6 = two_instances()
    observer.observe(Started([v1, v6], 0.0))
    flood = [PacketRejected(RejectReason.ADDRESS_LIST, V1_MASTER, "addresses differ")]
    for step in range(100):
        clock.now = step * 0.05  # 100 packets in 5 s
        observer.observe(Stepped(v1, flood, clock.now))
        observer.observe(PacketDropped("eth0", RejectReason.TTL, V1_MASTER, None, "TTL 1"))
    observer.observe(
        Stepped(v6, [PacketRejected(RejectReason.ADDRESS_LIST, V1_MASTER, "x")], clock.now)
    )
    clock.now = 10.0
    observer.observe(Stepped(v1, flood, clock.now))
    lines = records.messages(logging.DEBUG)
    assert lines == [
        "VRRP_Instance(VI_1) ignoring VRRP packet from 192.0.2.20: addresses differ "
        "(reason=address_list)",
        "Interface(eth0) ignoring VRRP packet from 192.0.2.20: TTL 1 (reason=ttl)",
        "VRRP_Instance(VI_6) ignoring VRRP packet from 192.0.2.20: x (reason=address_list)",
        "VRRP_Instance(VI_1) ignoring VRRP packet from 192.0.2.20: addresses differ "
        "(reason=address_list, 99 similar suppressed)",
    ]


def test_rejections_cost_nothing_when_info_is_off(logger: logging.Logger, records: Records) -> None:
    logger.setLevel(logging.WARNING)
    clock = FakeClock()
    observer = LogObserver(clock, logger=logger)
    v1, _v6 = two_instances()
    observer.observe(PacketDropped("eth0", RejectReason.TTL, IPv4Address("192.0.2.1"), v1, "TTL 1"))
    logger.setLevel(logging.INFO)
    observer.observe(PacketDropped("eth0", RejectReason.TTL, IPv4Address("192.0.2.1"), v1, "TTL 1"))
    # the line skipped while info was off did not use up the 10 s allowance
    assert len(records.messages(logging.DEBUG)) == 1


def test_accepted_anomalies_log_once_per_kind_and_instance_every_ten_seconds(
    logger: logging.Logger, records: Records
) -> None:
    clock = FakeClock()
    observer = LogObserver(clock, logger=logger)
    v1, v6 = two_instances()
    observer.observe(Started([v1, v6], 0.0))
    mismatch = AdvertAnomaly(Anomaly.ADDRESS_LIST, V1_MASTER, "expected 2 VIPs but received 1")
    trailer = AdvertAnomaly(Anomaly.TRAILING_BYTES, V1_MASTER, "28 bytes after the VRRP message")
    for step in range(50):
        clock.now = step * 0.1
        observer.observe(Stepped(v1, [mismatch, trailer], clock.now))
    clock.now = 10.0
    observer.observe(Stepped(v1, [mismatch], clock.now))
    assert records.messages() == [
        "VRRP_Instance(VI_1) expected 2 VIPs but received 1 from 192.0.2.20, advert accepted "
        "(anomaly=address_list)",
        "VRRP_Instance(VI_1) 28 bytes after the VRRP message from 192.0.2.20, advert accepted "
        "(anomaly=trailing_bytes)",
        "VRRP_Instance(VI_1) expected 2 VIPs but received 1 from 192.0.2.20, advert accepted "
        "(anomaly=address_list, 49 similar suppressed)",
    ]


def test_shutdown_during_backup_only_says_stopped(logger: logging.Logger, records: Records) -> None:
    v1, v6 = two_instances()
    agent = ScriptedReports(LogObserver(FakeClock(), logger=logger))
    agent.start([v1, v6], 0.0)
    records.records.clear()
    agent.event(v6, Shutdown(), 1.0)
    assert records.messages() == ["VRRP_Instance(VI_6) Stopped (reason=shutdown)"]


# --- formats ------------------------------------------------------------------------------------


def make_record(message: str, **extra: str) -> logging.LogRecord:
    record = logging.LogRecord("havip", logging.WARNING, __file__, 1, message, None, None)
    record.created = 1_700_000_000.25
    record.__dict__.update(extra)
    return record


def test_text_format_has_a_timestamp_and_the_syslog_tag() -> None:
    line = make_formatter("text").format(make_record("VRRP_Instance(VI_1) Entering MASTER STATE"))
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} havip\[\d+\]: "
        r"VRRP_Instance\(VI_1\) Entering MASTER STATE",
        line,
    )


def test_syslog_format_leaves_the_timestamp_to_journald() -> None:
    line = make_formatter("syslog").format(make_record("hello"))
    assert re.fullmatch(r"havip\[\d+\]: hello", line)


def test_json_format_is_one_object_with_the_known_fields() -> None:
    line = make_formatter("json").format(make_record("hello", vrrp_instance="VI_1"))
    assert json.loads(line) == {
        "time": "2023-11-14T22:13:20.250+00:00",
        "level": "warning",
        "message": "hello",
        "vrrp_instance": "VI_1",
    }


def test_unknown_format_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log format"):
        make_formatter("xml")
    with pytest.raises(ValueError, match="log level"):
        setup_logging("text", "chatty")


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_setup_logging_writes_json_to_stderr_once_even_when_called_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("text", "info")
    setup_logging("json", "debug")
    logging.getLogger("havip").debug("VRRP_Instance(VI_1) debug line")
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["VRRP_Instance(VI_1) debug line"]


def test_a_member_held_by_its_sync_group_says_why_once(
    logger: logging.Logger, records: Records
) -> None:
    observer = LogObserver(FakeClock(), logger=logger)
    runtime, _other = two_instances()
    runtime.sync_group = "G1"
    observer.observe(Stepped(runtime, [WantsMaster(True)], 1.0))
    observer.observe(Stepped(runtime, [WantsMaster(False)], 2.0))
    assert records.messages() == [
        "VRRP_Instance(VI_1) would become MASTER; waiting for every member of sync group G1 "
        "to want it too"
    ]
