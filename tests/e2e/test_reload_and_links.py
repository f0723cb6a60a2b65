"""SIGHUP reloads and interfaces that come and go, on real namespaces."""

from __future__ import annotations

import signal
import subprocess
import time

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab, LabError
from havip.lab.processes import Router, wait_for

from .conftest import Routers
from .metrics import metric_value

VIP = "192.0.2.100"
SECOND_VIP = "198.51.100.100"


def state_of(router: Router, instance: str) -> str | None:
    """The instance's state from /status, or None while the router is not serving yet."""
    try:
        status = router.status()
    except LabError:
        return None
    for entry in status["instances"]:
        if entry["name"] == instance:
            return str(entry["state"])
    return None


def transitions(router: Router, instance: str) -> float:
    total = 0.0
    for to_state in ("backup", "master", "fault", "stop"):
        labels = {"vrrp_instance": instance, "to_state": to_state}
        value = metric_value(router.metrics(), "havip_vrrp_transitions_total", labels)
        total += 0.0 if value != value else value  # NaN: no such series yet
    return total


def two_instances(second_priority: int) -> str:
    return keepalived_conf(
        RouterSpec(priority=150),
        RouterSpec(priority=second_priority, instance="VI_2", vrid=52, vips=(f"{SECOND_VIP}/24",)),
    )


def test_reload_keeps_unchanged_instances_and_refuses_a_bad_file(
    lab: Lab, routers: Routers
) -> None:
    host = lab.add_host("r1", "192.0.2.1/24")
    router = routers.havip(host, two_instances(second_priority=150))
    wait_for(lambda: {VIP, SECOND_VIP} <= host.addresses_on(), 10, "both instances master")
    config = router.workdir / "keepalived.conf"
    before = transitions(router, "VI_1")

    config.write_text(two_instances(second_priority=120))  # VI_2 changes, VI_1 does not
    router.signal(signal.SIGHUP)
    wait_for(lambda: "Reloaded configuration" in router.log_text(), 10, "the reload")
    wait_for(lambda: state_of(router, "VI_2") == "master", 10, "VI_2 master again")
    assert transitions(router, "VI_1") == before  # untouched: no transition at all
    assert state_of(router, "VI_1") == "master" and VIP in host.addresses_on()

    config.write_text(two_instances(second_priority=120).replace("priority 150", "priority 300"))
    router.signal(signal.SIGHUP)
    wait_for(lambda: "Reload refused" in router.log_text(), 10, "the refusal")
    assert "keepalived.conf:" in router.log_text().split("Reload refused", 1)[1]
    assert state_of(router, "VI_1") == "master" and VIP in host.addresses_on()
    assert router.process.poll() is None


def test_missing_interface_means_fault_until_it_appears(lab: Lab, routers: Routers) -> None:
    host = lab.add_host("r1", "192.0.2.1/24")
    spec = RouterSpec(priority=150, interface="vrrp0", vips=(f"{SECOND_VIP}/24",))
    router = routers.havip(host, keepalived_conf(spec))
    wait_for(lambda: state_of(router, "VI_1") == "fault", 10, "FAULT for a missing interface")
    assert "vrrp0" in router.log_text()

    host.exec("ip", "link", "add", "vrrp0", "type", "veth", "peer", "name", "vrrp0p")
    host.exec("ip", "addr", "add", "198.51.100.1/24", "dev", "vrrp0")
    host.exec("ip", "link", "set", "vrrp0p", "up")
    host.exec("ip", "link", "set", "vrrp0", "up")
    wait_for(lambda: state_of(router, "VI_1") == "master", 10, "master once vrrp0 exists")
    assert SECOND_VIP in host.addresses_on("vrrp0")

    host.exec("ip", "link", "set", "vrrp0", "down")
    wait_for(lambda: state_of(router, "VI_1") == "fault", 10, "FAULT when vrrp0 goes down")
    assert SECOND_VIP not in host.addresses_on("vrrp0")


def test_reload_changes_a_masters_priority_and_vips_in_place(lab: Lab, routers: Routers) -> None:
    """An operator's reload (lower priority, one VIP more) is no failover: the client pinging
    the VIP every 10 ms throughout loses nothing, and neither router changes state."""
    r1 = lab.add_host("r1", "192.0.2.1/24")
    r2 = lab.add_host("r2", "192.0.2.2/24")
    client = lab.add_host("client", "192.0.2.50/24")
    master = routers.havip(r1, keepalived_conf(RouterSpec(priority=150)))
    backup = routers.havip(r2, keepalived_conf(RouterSpec(priority=100)))
    wait_for(lambda: VIP in r1.addresses_on() and state_of(backup, "VI_1") == "backup", 15, "r1")
    before = (transitions(master, "VI_1"), transitions(backup, "VI_1"))
    ping = client.popen(
        ["ping", "-n", "-q", "-i", "0.01", "-w", "6", VIP],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    config = master.workdir / "keepalived.conf"
    config.write_text(
        keepalived_conf(RouterSpec(priority=120, vips=(f"{VIP}/24", f"{SECOND_VIP}/24")))
    )
    master.signal(signal.SIGHUP)
    wait_for(lambda: SECOND_VIP in r1.addresses_on(), 10, "the added VIP on r1")
    wait_for(lambda: "changed in place" in master.log_text(), 5, "the in-place reload")
    output, _ = ping.communicate(timeout=15)
    summary = output.decode()
    assert " 0% packet loss" in summary, summary
    assert VIP in r1.addresses_on() and VIP not in r2.addresses_on()
    assert (transitions(master, "VI_1"), transitions(backup, "VI_1")) == before
    status = master.status()["instances"][0]
    assert status["state"] == "master" and status["priority"]["effective"] == 120
