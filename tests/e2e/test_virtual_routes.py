"""virtual_routes and virtual_rules on real routers: the master holds them, they move with
the VIP.

r1 (priority 150) and r2 (100) run havip with the same two routes, one whose source is the
VIP, and one rule. Only the master has them (with havip's protocol, 118); when r1 stops, r2
takes over and adds them, and r1 has removed its own; a restarted r1 preempts and they move
back. An operator's route on r2 to a third destination stays through all of it.
"""

from __future__ import annotations

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab
from havip.lab.processes import wait_for

from .conftest import Routers, wait_single_holder

VIP = "192.0.2.100"
ROUTES = ("198.51.100.0/24 via 192.0.2.254 src 192.0.2.100", "blackhole 203.0.113.0/24")
HELD = ["198.51.100.0/24 via 192.0.2.254 dev eth0 src 192.0.2.100", "blackhole 203.0.113.0/24"]
RULE = "from 198.51.100.0/24 lookup 100 priority 1000"
HELD_RULE = "1000: from 198.51.100.0/24 lookup 100 proto 118"
OPERATORS = "198.51.100.128/25 via 192.0.2.254 dev eth0"


def conf(priority: int) -> str:
    extra = (
        "virtual_routes {",
        *(f"    {route}" for route in ROUTES),
        "}",
        "virtual_rules {",
        f"    {RULE}",
        "}",
    )
    return keepalived_conf(RouterSpec(priority=priority, version=3, advert_int=0.1, extra=extra))


def havip_routes(host: Host) -> list[str]:
    """havip's routes and rules, as `ip route` and `ip rule` print them."""
    out = host.exec("ip", "route", "show", "proto", "118").stdout.splitlines()
    out += [line for line in host.exec("ip", "rule").stdout.splitlines() if "proto 118" in line]
    return sorted(" ".join(line.split()) for line in out)


def wait_routes(host: Host, expected: list[str]) -> None:
    wait_for(
        lambda: havip_routes(host) == sorted(expected),
        5.0,
        f"{host.name}'s havip routes to be {expected}",
        observed=lambda: havip_routes(host),
    )


@pytest.mark.netns
def test_the_routes_follow_the_master(lab: Lab, routers: Routers) -> None:
    r1 = lab.add_host("r1", "192.0.2.1/24")
    r2 = lab.add_host("r2", "192.0.2.2/24")
    r2.exec("ip", "route", "add", *OPERATORS.split())
    first = routers.havip(r1, conf(150))
    routers.havip(r2, conf(100))
    wait_single_holder(lab, VIP, ["r1", "r2"], "r1", timeout=15)
    wait_routes(r1, [*HELD, HELD_RULE])
    assert havip_routes(r2) == []

    first.stop()
    wait_single_holder(lab, VIP, ["r1", "r2"], "r2", timeout=15)
    wait_routes(r2, [*HELD, HELD_RULE])
    assert havip_routes(r1) == []

    routers.havip(r1, conf(150))
    wait_single_holder(lab, VIP, ["r1", "r2"], "r1", timeout=15)
    wait_routes(r1, [*HELD, HELD_RULE])
    wait_routes(r2, [])
    assert OPERATORS in r2.exec("ip", "route", "show").stdout
