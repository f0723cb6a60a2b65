"""promote_secondaries on a real interface: removing a subnet's first VIP keeps the others.

Two VIPs in a subnet the interface has no address of its own in: the first added is the
subnet's primary address, and without promote_secondaries the kernel deletes the second
with it when a reload removes the first. havip sets the flag while it runs and puts the
interface's own value back when it stops.
"""

from __future__ import annotations

import signal

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab
from havip.lab.processes import wait_for

from .conftest import Routers

FIRST, SECOND = "198.51.100.1", "198.51.100.2"


def conf(*vips: str) -> str:
    spec = RouterSpec(
        priority=150, vips=tuple(f"{v}/24" for v in vips), extra=("promote_secondaries",)
    )
    return keepalived_conf(spec)


def promote_secondaries(host: Host) -> str:
    return host.exec("cat", "/proc/sys/net/ipv4/conf/eth0/promote_secondaries").stdout.strip()


@pytest.mark.netns
def test_a_reload_removing_the_first_vip_keeps_the_second(lab: Lab, routers: Routers) -> None:
    host = lab.add_host("r1", "192.0.2.1/24")
    assert promote_secondaries(host) == "0"
    router = routers.havip(host, conf(FIRST, SECOND))
    wait_for(lambda: {FIRST, SECOND} <= host.addresses_on(), 10, "both VIPs on r1")
    assert promote_secondaries(host) == "1"

    (router.workdir / "keepalived.conf").write_text(conf(SECOND))
    router.signal(signal.SIGHUP)
    wait_for(lambda: FIRST not in host.addresses_on(), 10, f"{FIRST} removed by the reload")
    assert SECOND in host.addresses_on()

    router.stop()
    assert promote_secondaries(host) == "0"
