"""virtual_routes through the real agent loop over a fake Net (MockClock, no root).

keepalived's order is the bar: a new master adds its routes after its VIPs (a route's `src`
may be a VIP), a leaving master removes them before its VIPs, a reload of a master changes
only the routes that changed, and a start removes what a crashed run may have left.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import trio
import trio.testing

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.model import VRRP_MCAST_GROUP4, Advertisement, State

from .fakenet import FakeNet, advert_datagram
from .harness import running_agent, settled_agent

VIP = "192.0.2.100"
HIGHER = "192.0.2.200"
TO_SITE = "198.51.100.0/24 via 192.0.2.254 src 192.0.2.100"
BLACKHOLE = "blackhole 203.0.113.0/24"


def with_routes(*routes: str) -> str:
    lines = ("virtual_routes {", *(f"    {route}" for route in routes), "}")
    return keepalived_conf(RouterSpec(priority=150, vips=(f"{VIP}/24",), extra=lines))


def route_calls(net: FakeNet) -> list[str]:
    return [call for call in net.calls if call in ("add", "release", "add_routes", "remove_routes")]


async def test_a_master_adds_its_routes_after_its_vips(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, with_routes(TO_SITE, BLACKHOLE), tmp_path) as run:
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert run.net.routes == {TO_SITE, BLACKHOLE}
        calls = route_calls(run.net)
        assert calls.index("add") < calls.index("add_routes")


async def test_a_master_overthrown_removes_its_routes_before_its_vips(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, with_routes(TO_SITE), tmp_path) as run:
        higher = Advertisement(2, 51, 200, 100, (ip_address(VIP),))
        datagram = advert_datagram(higher, ip_address(HIGHER), VRRP_MCAST_GROUP4)
        run.net.endpoint("eth0").deliver(datagram)
        await trio.sleep(0.1)
        assert run.agent.runtimes[0].machine.state is State.BACKUP
        assert run.net.routes == set()
        calls = route_calls(run.net)
        assert calls[-2:] == ["remove_routes", "release"]


async def test_a_reload_changes_only_the_routes_that_changed(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, with_routes(TO_SITE), tmp_path) as run:
        run.rewrite(with_routes(TO_SITE, BLACKHOLE))
        await run.agent.reload()
        await trio.sleep(0.01)
        assert run.net.routes == {TO_SITE, BLACKHOLE}
        run.rewrite(with_routes(BLACKHOLE))
        await run.agent.reload()
        await trio.sleep(0.01)
        assert run.net.routes == {BLACKHOLE}
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert "release" not in run.net.calls


async def test_start_up_removes_routes_a_crashed_run_left(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    net.routes.add(TO_SITE)  # as a crashed havip left it
    async with running_agent(with_routes(TO_SITE), net, tmp_path) as run:
        assert run.agent.runtimes[0].machine.state is not State.MASTER
        assert net.routes == set()
