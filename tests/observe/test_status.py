"""/status contents, the `havip status` table, and the command against a live server."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest
import trio

from havip.commands import status as status_command
from havip.observe.http import HttpApp, serve_http
from havip.observe.metrics import MetricsObserver
from havip.observe.status import build_status, format_status_table

from .test_metrics import (
    V1_LOWER,
    V1_MASTER,
    WALL_OFFSET,
    ScriptedReports,
    run_scenario,
    two_instances,
)


@pytest.fixture
def scenario() -> tuple[MetricsObserver, dict[str, Any]]:
    metrics = MetricsObserver(lambda: 7.0, process_metrics=False)
    instances = run_scenario(metrics)
    return metrics, build_status(instances, 7.0, WALL_OFFSET, counters=metrics.counters)


def test_status_describes_each_instance(
    scenario: tuple[MetricsObserver, dict[str, Any]],
) -> None:
    _metrics, document = scenario
    assert document["time"] == WALL_OFFSET + 7.0
    v1, v6 = document["instances"]
    down_v6 = 3 + (256 - 150) / 256
    skew_v6 = (256 - 150) / 256
    assert v6 == {
        "name": "VI_6",
        "vrid": 52,
        "interface": "eth1",
        "family": "ipv6",
        "version": 3,
        "vips": ["2001:db8::100"],
        "sync_group": None,
        "state": "master",
        "since": WALL_OFFSET + 5.0 + skew_v6,
        "trace_id": None,  # no TracingObserver given
        "priority": {"base": 150, "effective": 150},
        "master": {"address": "fe80::10", "priority": 150},
        "faults": [],
        "timers": {
            "advert_interval": 1.0,
            "master_advert_interval": 1.0,
            "master_down_interval": down_v6,
            # its next advert was due at 5.0 + skew + 1 s, before 7.0: overdue shows as 0
            "next_deadline_in": 0.0,
        },
        "peers": [{"address": "fe80::20", "priority": 0, "last_seen": WALL_OFFSET + 5.0}],
        "counters": {
            "adverts_sent": 2,
            "adverts_received": 2,
            "priority_zero_sent": 0,
            "priority_zero_received": 1,
            "master_conflicts": 1,
            "transitions": 4,
            "packets_rejected": 0,
            "packets_rejected_by_reason": {},
            "advert_anomalies": {},
        },
    }
    assert v1["state"] == "stop"
    assert v1["timers"]["next_deadline_in"] is None
    assert [peer["address"] for peer in v1["peers"]] == [str(V1_LOWER), str(V1_MASTER)]
    assert v1["counters"]["packets_rejected_by_reason"] == {
        "ttl": 1,
        "auth_type": 1,
        "version": 1,
    }
    assert v1["counters"]["advert_anomalies"] == {"address_list": 1, "trailing_bytes": 1}
    json.dumps(document)  # serialisable as is


def test_next_deadline_is_seconds_from_now() -> None:
    v1, v6 = two_instances()
    ScriptedReports(MetricsObserver(lambda: 0.0, process_metrics=False)).start([v1, v6], 0.0)
    document = build_status([v1], 1.25, WALL_OFFSET)
    down_v1 = 3 + (256 - 100) / 256
    assert document["instances"][0]["timers"]["next_deadline_in"] == down_v1 - 1.25
    assert document["instances"][0]["since"] == WALL_OFFSET


def test_status_without_counters_has_empty_counters(
    scenario: tuple[MetricsObserver, dict[str, Any]],
) -> None:
    metrics, _document = scenario
    runtimes = list(metrics.instances)
    document = build_status(runtimes, 7.0, WALL_OFFSET)
    assert all(instance["counters"] == {} for instance in document["instances"])


def test_table_has_one_aligned_row_per_instance(
    scenario: tuple[MetricsObserver, dict[str, Any]],
) -> None:
    _metrics, document = scenario
    assert format_status_table(document).splitlines() == [
        "INSTANCE  VRID  INTERFACE  STATE   PRIO BASE/EFF  MASTER      MASTER PRIO  SINCE"
        "  ADVERTS SENT/RCVD  REJECTED",
        "VI_1      51    eth0       STOP    100/100        192.0.2.10  100          0s"
        "     3/3                3",
        "VI_6      52    eth1       MASTER  150/150        fe80::10    150          1s"
        "     2/2                0",
    ]


def test_table_shows_dashes_for_unknowns_and_long_ages() -> None:
    document = {
        "time": 1_000_000.0,
        "instances": [
            {
                "name": "VI_9",
                "vrid": 9,
                "interface": "eth9",
                "state": "backup",
                "since": 1_000_000.0 - (3 * 86400 + 4 * 3600 + 5),
                "priority": {"base": 90, "effective": 80},
                "master": {"address": None, "priority": 0},
                "counters": {},
            },
            {
                "name": "VI_10",
                "vrid": 10,
                "interface": "eth9",
                "state": "init",
                "since": None,
                "priority": {"base": 90, "effective": 90},
                "master": {"address": None, "priority": 0},
                "counters": {},
            },
        ],
    }
    rows = format_status_table(document).splitlines()
    assert rows[1].split() == [
        "VI_9",
        "9",
        "eth9",
        "BACKUP",
        "90/80",
        "-",
        "-",
        "3d04h",
        "0/0",
        "0",
    ]
    assert rows[2].split()[7] == "-"


# --- the command --------------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="havip")
    status_command.add_parser(parser.add_subparsers())
    return parser.parse_args(["status", *argv])


def test_command_defaults_to_the_local_agent() -> None:
    args = parse()
    assert args.url == "http://127.0.0.1:10112"
    assert args.json is False
    assert args.func is status_command.run


async def test_command_prints_the_table_and_the_json_of_a_live_agent(
    nursery: trio.Nursery,
    scenario: tuple[MetricsObserver, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics, document = scenario
    app = HttpApp(metrics=metrics.scrape, status=lambda: lambda: document, alive=lambda: True)
    port = await nursery.start(serve_http, "127.0.0.1:0", app)
    url = f"http://127.0.0.1:{port}/"

    assert await trio.to_thread.run_sync(status_command.run, parse("--url", url)) == 0
    assert capsys.readouterr().out == format_status_table(document)

    assert await trio.to_thread.run_sync(status_command.run, parse("--url", url, "--json")) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(document))


def test_command_reports_an_unreachable_agent(capsys: pytest.CaptureFixture[str]) -> None:
    assert status_command.run(parse("--url", "http://127.0.0.1:9")) == 1
    assert "havip status: cannot read http://127.0.0.1:9/status" in capsys.readouterr().err
