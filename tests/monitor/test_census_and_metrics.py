"""What the monitor exports: metric families from the segment, the /status census, the table."""

from __future__ import annotations

import argparse
from ipaddress import IPv4Address

import pytest
import trio
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from havip.commands import status as status_command
from havip.monitor.segment import Field, Limits, Segment
from havip.observe import names
from havip.observe.census import build_census, format_census_table, table_rows
from havip.observe.http import HttpApp, serve_http
from havip.observe.segment_metrics import SegmentMetrics
from havip.proto.timers import master_down_interval
from tests.monitor.test_segment import packet

A = IPv4Address("192.0.2.1")
B = IPv4Address("192.0.2.2")
WALL = 1_700_000_000.0
GROUP = {"interface": "eth0", "family": "ipv4", "vrid": "51"}


def scrape(metrics: SegmentMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset({**GROUP, **labels}.items()))]


def split_brain_then_failover() -> tuple[Segment, SegmentMetrics]:
    """A (v3, 150) and B (v3 at 2 s, 100) both advertise; then A falls silent and B stays."""
    segment = Segment(("eth0",), Limits())
    metrics = SegmentMetrics(segment, lambda: WALL, process_metrics=False)
    for now in (0.0, 1.0, 2.0):
        metrics.observe(segment.receive(packet(A, 150), now))
        metrics.observe(segment.receive(packet(B, 100, interval_cs=200), now + 0.5))
    return segment, metrics


def test_every_group_series_exists_with_the_census_values() -> None:
    _segment, metrics = split_brain_then_failover()
    samples = scrape(metrics)
    assert value(samples, names.MONITOR_MASTER_PRIORITY.name) == 150
    assert value(samples, names.MONITOR_MASTER_ADVERT_INTERVAL.name) == 1.0
    assert value(samples, names.MONITOR_MASTER_VERSION.name) == 3
    assert value(samples, names.MONITOR_MASTER_CHECKSUM_PSEUDO_HEADER.name) == 1
    assert value(samples, names.MONITOR_MASTER_ADDRESSES.name) == 1
    assert value(samples, names.MONITOR_MASTERS.name) == 2
    assert value(samples, names.MONITOR_SPEAKERS.name) == 2
    assert value(samples, names.MONITOR_SILENT.name) == 0
    assert value(samples, names.MONITOR_LAST_ADVERT.name) == WALL + 2.5
    for field in Field:
        expected = 1 if field is Field.INTERVAL else 0
        assert value(samples, names.MONITOR_DISAGREEMENT.name, field=field.value) == expected
    assert value(samples, names.MONITOR_ADVERTS.name, priority_class="other") == 6
    assert value(samples, names.MONITOR_ADVERTS.name, priority_class="zero") == 0
    assert value(samples, names.MONITOR_PRIORITY_ZERO_HANDOFFS.name) == 0
    assert value(samples, "havip_monitor_failover_duration_seconds_count") == 0
    assert value(samples, "havip_monitor_failover_duration_seconds_bucket", le="+Inf") == 0
    malformed = names.MONITOR_PACKETS_MALFORMED.name
    assert samples[(malformed, frozenset({"interface": "eth0", "reason": "ttl"}.items()))] == 0


def test_every_exported_name_is_declared_in_names() -> None:
    _segment, metrics = split_brain_then_failover()
    declared = {n for metric in names.MONITOR_METRICS for n in metric.series_names}
    exported = {name for name, _labels in scrape(metrics)}
    assert exported - {"havip_build_info"} <= declared | {
        "havip_monitor_failover_duration_seconds_created"
    }
    assert {n for m in names.MONITOR_METRICS for n in m.series_names} <= exported


def test_a_failover_lands_in_the_histogram_and_silence_zeroes_the_master_priority() -> None:
    segment, metrics = split_brain_then_failover()
    metrics.observe(segment.expire(2.0 + master_down_interval(3, 150, 100)))
    samples = scrape(metrics)
    assert value(samples, names.MONITOR_MASTER_PRIORITY.name) == 100
    # B was advertising all along: the master changed when A fell silent, and B's run began
    # at 0.5, before A's last advert, so the recorded duration is zero.
    assert value(samples, "havip_monitor_failover_duration_seconds_count") == 1
    assert value(samples, "havip_monitor_failover_duration_seconds_bucket", le="0.025") == 1
    metrics.observe(segment.receive(packet(B, 100, interval_cs=200), 6.5))
    metrics.observe(segment.expire(6.5 + master_down_interval(3, 100, 200)))
    samples = scrape(metrics)
    assert value(samples, names.MONITOR_SILENT.name) == 1
    assert value(samples, names.MONITOR_MASTER_PRIORITY.name) == 0
    assert value(samples, names.MONITOR_MASTER_ADVERT_INTERVAL.name) == 2.0  # the last master


def test_census_names_speakers_and_conditions_and_the_table_shows_them() -> None:
    segment, _metrics = split_brain_then_failover()
    census = build_census(segment, 2.6, WALL)
    (group,) = census["groups"]
    assert group["master"] == "192.0.2.1"
    assert group["conditions"] == ["split_brain", "mismatch:interval"]
    assert [s["address"] for s in group["speakers"]] == ["192.0.2.1", "192.0.2.2"]
    assert group["speakers"][1]["interval"] == 2.0
    assert "password" not in str(census)
    rows = table_rows(census)
    assert rows[0][:5] == ["eth0", "ipv4", "51", "192.0.2.1", "150"]
    assert rows[0][-1] == "split_brain,mismatch:interval"
    assert rows[1][3:6] == ["  192.0.2.2", "100", "2s"]
    text = format_census_table(census)
    assert text.splitlines()[0].startswith("INTERFACE  FAMILY  VRID  MASTER")
    assert "0.1s ago" in text


def test_an_empty_census_says_nothing_was_heard() -> None:
    census = build_census(Segment(("eth0",)), 0.0, WALL)
    assert census["groups"] == []
    assert "no VRRP advertisement heard yet" in format_census_table(census)


async def test_havip_status_prints_a_monitors_census_table(
    nursery: trio.Nursery, capsys: pytest.CaptureFixture[str]
) -> None:
    segment, metrics = split_brain_then_failover()
    census = build_census(segment, 2.6, WALL)
    app = HttpApp(metrics=metrics.scrape, status=lambda: lambda: census, alive=lambda: True)
    port = await nursery.start(serve_http, "127.0.0.1:0", app)
    parser = argparse.ArgumentParser(prog="havip")
    status_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["status", "--url", f"http://127.0.0.1:{port}"])
    assert await trio.to_thread.run_sync(status_command.run, args) == 0
    assert capsys.readouterr().out == format_census_table(census)
