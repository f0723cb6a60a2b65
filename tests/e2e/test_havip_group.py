"""Two and three havip routers on a bridge: election, failover, preemption and hand-over.

After every step the VIP must be on exactly one router and a client must reach it.
"""

from __future__ import annotations

import signal
import time

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import wait_for

from .conftest import Routers, client_reaches, holders, wait_single_holder

VIP = "192.0.2.100"
NAMES = ["r1", "r2", "r3"]


def build(lab: Lab, count: int) -> list[str]:
    names = NAMES[:count]
    for i, name in enumerate(names):
        lab.add_host(name, f"192.0.2.{i + 1}/24")
    lab.add_host("client", "192.0.2.50/24")
    return names


def assert_vip_on(lab: Lab, names: list[str], expected: str) -> None:
    assert holders(lab, VIP, names) == [expected]
    assert client_reaches(lab, "client", VIP)


def test_election_by_priority_failover_and_preemption(lab: Lab, routers: Routers) -> None:
    names = build(lab, 3)
    for name, priority in zip(names, (150, 100, 120), strict=True):
        routers.havip(lab.hosts[name], keepalived_conf(RouterSpec(priority=priority)))
    wait_single_holder(lab, VIP, names, "r1", timeout=10)
    assert_vip_on(lab, names, "r1")

    lab.cut("r1")
    wait_single_holder(lab, VIP, ["r2", "r3"], "r3", timeout=10)
    assert_vip_on(lab, ["r2", "r3"], "r3")

    lab.restore("r1")
    wait_single_holder(lab, VIP, names, "r1", timeout=10)
    assert_vip_on(lab, names, "r1")


def test_nopreempt_keeps_the_current_master(lab: Lab, routers: Routers) -> None:
    names = build(lab, 2)
    # r1 first: with nopreempt, an r2 that won a startup race would rightly stay master.
    routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(priority=150, nopreempt=True)))
    wait_single_holder(lab, VIP, names, "r1", timeout=10)
    routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, nopreempt=True)))
    lab.cut("r1")
    wait_single_holder(lab, VIP, ["r2"], "r2", timeout=10)
    lab.restore("r1")
    # r1 comes back with the higher priority but must not take the VIP back. It first
    # sees the link (FAULT -> BACKUP) and then hears r2's adverts, which keep it backup.
    time.sleep(5)
    assert_vip_on(lab, names, "r2")


def test_equal_priority_masters_resolve_to_the_higher_address(lab: Lab, routers: Routers) -> None:
    names = build(lab, 3)
    for name in names:
        lab.isolate(name)  # a split brain: every router is master
        routers.havip(lab.hosts[name], keepalived_conf(RouterSpec(priority=100)))
    wait_for(lambda: holders(lab, VIP, names) == names, 10, "every isolated router to be master")
    for name in names:
        lab.isolate(name, False)
    wait_single_holder(lab, VIP, names, "r3", timeout=10)
    assert_vip_on(lab, names, "r3")


def test_sigterm_hands_over_within_skew_time(lab: Lab, routers: Routers) -> None:
    names = build(lab, 2)
    slow = {"advert_int": 3.0}  # Master_Down_Interval ~9.6 s, Skew_Time ~0.6 s
    master = routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(priority=150, **slow)))
    routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, **slow)))
    wait_single_holder(lab, VIP, names, "r1", timeout=15)

    master.signal(signal.SIGTERM)
    took = wait_single_holder(lab, VIP, names, "r2", timeout=15)
    assert took < 3.0, f"hand-over took {took:.2f}s: the backup waited for Master_Down_Interval"
    assert master.process.wait(5) == 0
    assert_vip_on(lab, names, "r2")


def test_sigkill_then_restart_leaves_no_stale_vip(lab: Lab, routers: Routers) -> None:
    names = build(lab, 2)
    config = keepalived_conf(RouterSpec(priority=150, preempt_delay=30))
    master = routers.havip(lab.hosts["r1"], config)
    # r1 must be master before r2 starts: with preempt_delay, a master r2 that won a
    # startup race would legitimately keep the VIP for 30 s.
    wait_single_holder(lab, VIP, names, "r1", timeout=10)
    backup = routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100)))
    wait_for(lambda: "Entering BACKUP STATE" in backup.log_text(), 10, "r2 to start as backup")

    master.kill()  # no chance to release: the VIP stays behind on r1
    wait_for(lambda: VIP in lab.hosts["r2"].addresses_on(), 10, "r2 to take over")
    assert VIP in lab.hosts["r1"].addresses_on()

    routers.havip(lab.hosts["r1"], config)  # preempt_delay keeps it backup for 30 s
    wait_single_holder(lab, VIP, names, "r2", timeout=10)
    assert_vip_on(lab, names, "r2")


def test_release_never_removes_an_address_the_operator_configured(
    lab: Lab, routers: Routers
) -> None:
    build(lab, 1)
    host = lab.hosts["r1"]
    host.exec("ip", "addr", "add", "192.0.2.200/24", "dev", "eth0")
    spec = RouterSpec(priority=150, vips=("192.0.2.100/24", "192.0.2.200/24"))
    master = routers.havip(host, keepalived_conf(spec))
    wait_for(lambda: VIP in host.addresses_on(), 10, "r1 to become master")
    assert master.stop() == 0
    assert VIP not in host.addresses_on()
    assert "192.0.2.200" in host.addresses_on()
