"""`havip monitor` in its own namespace on a segment where keepalived and havip run groups.

The monitor sits on the same bridge as the routers, captures what they send, and must report
each group as the routers themselves would: who is master with which priority and interval, a
failover and how long it took, a split brain the routers cannot see, and a misconfigured pair.
"""

from __future__ import annotations

from typing import Any

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab, LabError
from havip.lab.processes import Router, wait_for

from .conftest import Routers, wait_single_holder
from .metrics import metric_value

KEEPALIVED_VRID = 51
HAVIP_VRID = 52
HAVIP6_VRID = 53
KEEPALIVED_VIP = "192.0.2.100"
HAVIP_VIP = "192.0.2.200"


def group(status: dict[str, Any], vrid: int, family: str = "ipv4") -> dict[str, Any] | None:
    for found in status["groups"]:
        if found["vrid"] == vrid and found["family"] == family:
            return found  # type: ignore[no-any-return]
    return None


def wait_group(
    monitor: Router,
    vrid: int,
    check: Any,
    what: str,
    family: str = "ipv4",
    timeout: float = 15,
) -> dict[str, Any]:
    """Poll the monitor's /status until group `vrid` passes `check`; return that group."""
    seen: dict[str, Any] = {}

    def ready() -> bool:
        try:
            status = monitor.status()
        except LabError:  # not listening yet
            return False
        found = group(status, vrid, family)
        seen["group"] = found
        return found is not None and bool(check(found))

    wait_for(ready, timeout, f"{what} (group {vrid} now: {seen.get('group')})", interval=0.2)
    return seen["group"]  # type: ignore[no-any-return]


def keepalived_pair(lab: Lab, routers: Routers, second: dict[str, Any] | None = None) -> None:
    """k1 (150) and k2 (100): keepalived, VRRPv2 with PASS auth, VRID 51."""
    spec = {"version": 2, "password": "s3cret", "vrid": KEEPALIVED_VRID}
    routers.keepalived(lab.hosts["k1"], keepalived_conf(RouterSpec(priority=150, **spec)))
    changed = {**spec, **(second or {})}
    routers.keepalived(lab.hosts["k2"], keepalived_conf(RouterSpec(priority=100, **changed)))


def havip_pair(lab: Lab, routers: Routers) -> None:
    """h1 (150) and h2 (100): havip, VRRPv3 at 1 s, VRID 52 over IPv4 and 53 over IPv6."""
    for name, priority in (("h1", 150), ("h2", 100)):
        config = keepalived_conf(
            RouterSpec(priority=priority, version=3, vrid=HAVIP_VRID, vips=(HAVIP_VIP + "/24",)),
            RouterSpec(
                priority=priority,
                version=3,
                vrid=HAVIP6_VRID,
                instance="VI_6",
                vips=("2001:db8::200/64",),
            ),
        )
        routers.havip(lab.hosts[name], config, "--metrics-listen", "[::]:9650")


def build(lab: Lab, *names: str) -> None:
    addresses = {
        "k1": ("192.0.2.1/24",),
        "k2": ("192.0.2.2/24",),
        "h1": ("192.0.2.3/24", "2001:db8::3/64"),
        "h2": ("192.0.2.4/24", "2001:db8::4/64"),
    }
    for name in names:
        lab.add_host(name, *addresses[name])
    lab.add_host("mon", "192.0.2.9/24")
    lab.wait_link_local()


def test_monitor_reports_every_groups_master_priority_and_interval(
    lab: Lab, routers: Routers, keepalived_binary: str
) -> None:
    build(lab, "k1", "k2", "h1", "h2")
    monitor = routers.monitor(lab.hosts["mon"])
    keepalived_pair(lab, routers)
    havip_pair(lab, routers)
    wait_single_holder(lab, KEEPALIVED_VIP, ["k1", "k2"], "k1", timeout=15)
    wait_single_holder(lab, HAVIP_VIP, ["h1", "h2"], "h1", timeout=15)
    expected = {
        (KEEPALIVED_VRID, "ipv4"): ("192.0.2.1", 2, 1, "message_only", ["192.0.2.100"]),
        (HAVIP_VRID, "ipv4"): ("192.0.2.3", 3, 0, "pseudo_header", ["192.0.2.200"]),
        (HAVIP6_VRID, "ipv6"): (None, 3, 0, "pseudo_header", ["2001:db8::200"]),
    }
    for (vrid, family), (master, version, auth, checksum, vips) in expected.items():
        found = wait_group(
            monitor,
            vrid,
            lambda g: g["master"] is not None and g["last_master"]["priority"] == 150,
            "the priority-150 router as master",
            family,
        )
        shown = found["last_master"]
        if master is not None:
            assert found["master"] == master
        else:
            assert found["master"].startswith("fe80::")  # VRRPv3 over IPv6: link-local source
        assert (shown["priority"], shown["interval"], shown["version"]) == (150, 1.0, version)
        assert (shown["auth_type"], shown["checksum"], shown["addresses"]) == (auth, checksum, vips)
        assert found["conditions"] == []
        assert found["advertising"] == 1
    metrics = monitor.metrics()
    for (vrid, family), (_master, version, auth, _checksum, vips) in expected.items():
        labels = {"interface": "eth0", "family": family, "vrid": str(vrid)}
        assert metric_value(metrics, "havip_monitor_master_priority", labels) == 150
        assert metric_value(metrics, "havip_monitor_master_advert_interval_seconds", labels) == 1
        assert metric_value(metrics, "havip_monitor_master_version", labels) == version
        assert metric_value(metrics, "havip_monitor_master_auth_type", labels) == auth
        assert metric_value(metrics, "havip_monitor_master_addresses", labels) == len(vips)
        assert metric_value(metrics, "havip_monitor_masters", labels) == 1
        assert metric_value(metrics, "havip_monitor_silent", labels) == 0
    wait_for(lambda: len(last_table(monitor)) == 3, 5, "a table of three groups", 0.2)
    rows = {tuple(row[:10]) for row in last_table(monitor)}
    head = ("eth0", "ipv4")
    assert (*head, "51", "192.0.2.1", "150", "1s", "2", "PASS", "v2", KEEPALIVED_VIP) in rows
    assert (*head, "52", "192.0.2.3", "150", "1s", "3", "none", "pseudo", HAVIP_VIP) in rows
    # Receive only: the monitor never took an address and no router counted it as a peer.
    assert lab.hosts["mon"].addresses_on() & {KEEPALIVED_VIP, HAVIP_VIP} == set()
    for name in ("h1", "h2"):
        assert "192.0.2.9" not in str(routers_status(routers, name))


def last_table(monitor: Router) -> list[list[str]]:
    """The group rows of the last table `havip monitor --table` wrote to its log, split."""
    blocks = monitor.log_text().split("\n--- ")
    lines = blocks[-1].splitlines()[2:] if len(blocks) > 1 else []
    return [line.split() for line in lines if line.startswith("eth0")]


def routers_status(routers: Routers, name: str) -> dict[str, Any]:
    router = next(r for r in routers.started if r.host.name == name)
    return router.status()


def test_monitor_times_a_link_cut_failover_within_one_advert_interval(
    lab: Lab, routers: Routers
) -> None:
    build(lab, "h1", "h2")
    monitor = routers.monitor(lab.hosts["mon"])
    havip_pair(lab, routers)
    wait_single_holder(lab, HAVIP_VIP, ["h1", "h2"], "h1", timeout=15)
    wait_group(monitor, HAVIP_VRID, lambda g: g["master"] == "192.0.2.3", "h1 as master")
    lab.cut("h1")
    wait_single_holder(lab, HAVIP_VIP, ["h2"], "h2", timeout=15)
    found = wait_group(monitor, HAVIP_VRID, lambda g: g["failovers"] == 1, "one failover")
    assert found["master"] == "192.0.2.4"
    assert found["last_failover"]["from"] == "192.0.2.3"
    assert found["last_failover"]["to"] == "192.0.2.4"
    measured = found["last_failover"]["duration"]
    # The truth as h2 lived it: from h1's last advert h2 heard to h2's VIPs being up.
    h2 = next(r for r in routers.started if r.host.name == "h2")
    truth = metric_value(
        h2.metrics(), "havip_vrrp_failover_duration_seconds_sum", {"vrrp_instance": "VI_1"}
    )
    assert abs(measured - truth) <= 1.0, (measured, truth)
    assert 3.0 <= measured <= 4.7  # Master_Down_Interval of h2, 3 x 1 s + 0.61 s skew
    labels = {"interface": "eth0", "family": "ipv4", "vrid": str(HAVIP_VRID)}
    metrics = monitor.metrics()
    assert metric_value(metrics, "havip_monitor_failover_duration_seconds_count", labels) == 1
    assert metric_value(metrics, "havip_monitor_failover_duration_seconds_sum", labels) == (
        pytest.approx(measured)
    )


def test_monitor_sees_a_split_brain_made_by_bridge_port_isolation(
    lab: Lab, routers: Routers, keepalived_binary: str
) -> None:
    build(lab, "k1", "k2")
    monitor = routers.monitor(lab.hosts["mon"])
    keepalived_pair(lab, routers)
    wait_single_holder(lab, KEEPALIVED_VIP, ["k1", "k2"], "k1", timeout=15)
    wait_group(monitor, KEEPALIVED_VRID, lambda g: g["master"] == "192.0.2.1", "k1 as master")
    # Isolated ports cannot reach each other, but both still reach the monitor's port.
    lab.isolate("k1")
    lab.isolate("k2")
    found = wait_group(
        monitor, KEEPALIVED_VRID, lambda g: "split_brain" in g["conditions"], "a split brain"
    )
    assert found["advertising"] == 2
    assert found["master"] == "192.0.2.1"  # the highest priority still ranks first
    labels = {"interface": "eth0", "family": "ipv4", "vrid": str(KEEPALIVED_VRID)}
    assert metric_value(monitor.metrics(), "havip_monitor_masters", labels) == 2
    lab.isolate("k1", False)
    lab.isolate("k2", False)
    found = wait_group(
        monitor, KEEPALIVED_VRID, lambda g: g["advertising"] == 1, "the split brain to heal"
    )
    assert found["conditions"] == []
    assert found["master"] == "192.0.2.1"


@pytest.mark.parametrize(
    ("second", "field"),
    [
        pytest.param({"password": "other"}, "password", id="password"),
        pytest.param({"advert_int": 2.0}, "interval", id="interval"),
    ],
)
def test_monitor_sees_a_misconfigured_keepalived_pair(
    lab: Lab, routers: Routers, keepalived_binary: str, second: dict[str, Any], field: str
) -> None:
    build(lab, "k1", "k2")
    monitor = routers.monitor(lab.hosts["mon"])
    keepalived_pair(lab, routers, second)
    found = wait_group(
        monitor,
        KEEPALIVED_VRID,
        lambda g: f"mismatch:{field}" in g["conditions"],
        f"a {field} mismatch",
    )
    assert {s["address"] for s in found["speakers"]} == {"192.0.2.1", "192.0.2.2"}
    labels = {"interface": "eth0", "family": "ipv4", "vrid": str(KEEPALIVED_VRID)}
    metrics = monitor.metrics()
    assert metric_value(metrics, "havip_monitor_disagreement", {**labels, "field": field}) == 1
    others = {"interval", "version", "auth_type", "password", "address_list", "checksum_form"}
    for other in others - {field}:
        assert metric_value(metrics, "havip_monitor_disagreement", {**labels, "field": other}) == 0
