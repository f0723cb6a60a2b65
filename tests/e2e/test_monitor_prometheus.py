"""The segment alerts in a real Prometheus scraping a real `havip monitor`.

A keepalived pair (VRID 51) and a monitor on one bridge; the Debian Prometheus runs in the
monitor's namespace, scrapes it every second and evaluates alerts/havip.rules.yml with the
`for:` durations shortened (as tests/e2e/test_prometheus.py does for the router rules). The
split-brain alert must fire while bridge port isolation separates the routers (the monitor
still hears both) and clear once they hear each other again; the silent-group alert must fire
when both routers stop and clear when one comes back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf, prometheus_config
from havip.lab.netns import Lab
from havip.lab.processes import METRICS_PORT, wait_for

from .conftest import Routers, wait_single_holder
from .prometheus import Prometheus, instant_values, prometheus_binary

pytestmark = [pytest.mark.netns, pytest.mark.prometheus]

RULES = Path(__file__).resolve().parents[2] / "alerts" / "havip.rules.yml"
ALERT_FOR = "3s"
JOB = "havip-monitor"
VIP = "192.0.2.100"


def rules_with_short_for(path: Path) -> Path:
    text = RULES.read_text()
    shortened, count = re.subn(
        r"^(\s+for:\s*)\S+[ \t]*$", rf"\g<1>{ALERT_FOR}", text, flags=re.MULTILINE
    )
    assert count == len(re.findall(r"^\s+- alert:", text, flags=re.MULTILINE))
    path.write_text(shortened)
    return path


def alert_states(prometheus: Prometheus, name: str) -> list[str]:
    return [
        alert["state"]
        for alert in prometheus.alerts()
        if alert["labels"]["alertname"] == name and alert["labels"].get("vrid") == "51"
    ]


def wait_alert(prometheus: Prometheus, name: str, states: list[str], what: str) -> None:
    wait_for(
        lambda: alert_states(prometheus, name) == states,
        30,
        f"{name} {what} (now {alert_states(prometheus, name)})",
        interval=0.2,
    )


def test_segment_alerts_fire_and_clear_in_a_live_prometheus(
    lab: Lab, routers: Routers, keepalived_binary: str, tmp_path: Path
) -> None:
    if prometheus_binary() is None:
        pytest.skip("prometheus is not installed here: run scripts/setup (Debian package)")
    for name, address in (("k1", "192.0.2.1/24"), ("k2", "192.0.2.2/24")):
        lab.add_host(name, address)
    monitor_host = lab.add_host("mon", "192.0.2.9/24")
    routers.monitor(monitor_host)
    config = {"version": 2, "password": "s3cret"}
    k1 = routers.keepalived(lab.hosts["k1"], keepalived_conf(RouterSpec(150, **config)))  # type: ignore[arg-type]
    k2 = routers.keepalived(lab.hosts["k2"], keepalived_conf(RouterSpec(100, **config)))  # type: ignore[arg-type]
    wait_single_holder(lab, VIP, ["k1", "k2"], "k1", timeout=15)
    rules = rules_with_short_for(tmp_path / "havip.rules.yml")
    scrape = prometheus_config([f"127.0.0.1:{METRICS_PORT}"], [str(rules)], job=JOB)
    prometheus = Prometheus(monitor_host, tmp_path / "prometheus", scrape)
    try:
        prometheus.wait_ready()
        masters = 'havip_monitor_masters{vrid="51"}'
        wait_for(
            lambda: instant_values(prometheus.query(masters)) == [1.0],
            20,
            "Prometheus to see one master",
            interval=0.2,
        )
        assert alert_states(prometheus, "HavipSegmentSplitBrain") == []
        assert alert_states(prometheus, "HavipSegmentSilent") == []

        lab.isolate("k1")
        lab.isolate("k2")
        wait_alert(prometheus, "HavipSegmentSplitBrain", ["firing"], "firing")
        lab.isolate("k1", False)
        lab.isolate("k2", False)
        wait_alert(prometheus, "HavipSegmentSplitBrain", [], "cleared")

        k1.stop()
        k2.stop()
        wait_alert(prometheus, "HavipSegmentSilent", ["firing"], "firing")
        routers.keepalived(lab.hosts["k1"], keepalived_conf(RouterSpec(150, **config)))  # type: ignore[arg-type]
        wait_alert(prometheus, "HavipSegmentSilent", [], "cleared")
        assert alert_states(prometheus, "HavipSegmentSplitBrain") == []
    finally:
        prometheus.close()
