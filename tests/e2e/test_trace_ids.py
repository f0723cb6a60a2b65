"""Trace ids without a collector: a real failover, no OTEL_* variable anywhere.

The backup that takes over must name the same trace id in its JSON log lines, in /status and
in the exemplar of its failover histogram, although nothing is exported.
"""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import METRICS_PORT, Router, wait_for

from .conftest import Routers, wait_single_holder

VIP = "192.0.2.100"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"
_FETCH_OPENMETRICS = (
    "import sys, urllib.request; "
    "request = urllib.request.Request(sys.argv[1], headers={'Accept': sys.argv[2]}); "
    "sys.stdout.write(urllib.request.urlopen(request, timeout=5).read().decode())"
)


def openmetrics(router: Router) -> str:
    """/metrics as Prometheus scrapes it (OpenMetrics, the format that carries exemplars)."""
    url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
    return router.host.exec(sys.executable, "-c", _FETCH_OPENMETRICS, url, OPENMETRICS).stdout


def failover_exemplar_trace_ids(text: str) -> set[str]:
    return set(
        re.findall(
            r'^havip_vrrp_failover_duration_seconds_bucket\{[^}]*vrrp_instance="VI_1"[^}]*\}'
            r' \S+ # \{trace_id="([0-9a-f]{32})"\}',
            text,
            re.MULTILINE,
        )
    )


def test_a_failover_has_one_trace_id_in_logs_status_and_exemplar_without_otel(
    lab: Lab, routers: Routers, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):  # the routers inherit this process' environment
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    names = ["r1", "r2"]
    lab.add_host("r1", "192.0.2.1/24")
    lab.add_host("r2", "192.0.2.2/24")
    master = routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(priority=150)))
    wait_single_holder(lab, VIP, names, "r1", timeout=10)
    backup = routers.havip(
        lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100)), "--log-format", "json"
    )
    wait_for(lambda: "Entering BACKUP STATE" in backup.log_text(), 10, "r2 to start as backup")
    wait_for(
        lambda: backup.status()["instances"][0]["master"]["address"] == "192.0.2.1",
        10,
        "r2 to hear r1's adverts",  # a takeover before that is an election, not a failover
    )

    master.kill()  # no priority-0 advert: r2 waits for Master_Down_Interval, a real failover
    wait_for(lambda: VIP in lab.hosts["r2"].addresses_on(), 10, "r2 to take over")
    wait_for(lambda: bool(failover_exemplar_trace_ids(openmetrics(backup))), 10, "an exemplar")

    (exemplar,) = failover_exemplar_trace_ids(openmetrics(backup))
    assert int(exemplar, 16) != 0
    (status,) = backup.status()["instances"]
    assert status["state"] == "master"
    assert status["trace_id"] == exemplar
    entries = [json.loads(line) for line in backup.log_text().splitlines() if line.startswith("{")]
    entering = [e for e in entries if e["message"] == "VRRP_Instance(VI_1) Entering MASTER STATE"]
    assert [e.get("trace_id") for e in entering] == [exemplar]
