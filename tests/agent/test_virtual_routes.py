"""virtual_routes and virtual_rules through the real agent loop over a fake Net (MockClock,
no root).

keepalived's order is the bar: a new master adds its routes after its VIPs (a route's `src`
may be a VIP) and its rules after its routes, a leaving master removes them in the opposite
order before its VIPs, a reload of a master changes only the routes and rules that changed,
and a start removes what a crashed run may have left.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import trio
import trio.testing

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.model import VRRP_MCAST_GROUP4, Advertisement, State

from .fakenet import FakeNet, advert_datagram
from .harness import adverts, running_agent, settled_agent

VIP = "192.0.2.100"
HIGHER = "192.0.2.200"
TO_SITE = "198.51.100.0/24 via 192.0.2.254 src 192.0.2.100"
BLACKHOLE = "blackhole 203.0.113.0/24"
RULE = "from 198.51.100.0/24 lookup 100"
ROUTING_CALLS = ("add", "release", "add_routes", "remove_routes", "add_rules", "remove_rules")


def with_routes(*routes: str, rules: tuple[str, ...] = ()) -> str:
    lines = ["virtual_routes {", *(f"    {route}" for route in routes), "}"]
    if rules:
        lines += ["virtual_rules {", *(f"    {rule}" for rule in rules), "}"]
    return keepalived_conf(RouterSpec(priority=150, vips=(f"{VIP}/24",), extra=lines))


def route_calls(net: FakeNet) -> list[str]:
    return [call for call in net.calls if call in ROUTING_CALLS]


async def test_a_master_adds_its_routes_after_its_vips_and_its_rules_last(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    conf = with_routes(TO_SITE, BLACKHOLE, rules=(RULE,))
    async with settled_agent(autojump_clock, conf, tmp_path) as run:
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert run.net.routes == {TO_SITE, BLACKHOLE, RULE}
        calls = route_calls(run.net)
        assert calls.index("add") < calls.index("add_routes") < calls.index("add_rules")


async def test_a_master_overthrown_removes_its_rules_then_routes_before_its_vips(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, with_routes(TO_SITE, rules=(RULE,)), tmp_path) as run:
        higher = Advertisement(2, 51, 200, 100, (ip_address(VIP),))
        datagram = advert_datagram(higher, ip_address(HIGHER), VRRP_MCAST_GROUP4)
        run.net.endpoint("eth0").deliver(datagram)
        await trio.sleep(0.1)
        assert run.agent.runtimes[0].machine.state is State.BACKUP
        assert run.net.routes == set()
        calls = route_calls(run.net)
        assert calls[-3:] == ["remove_rules", "remove_routes", "release"]


async def test_a_reload_changes_only_the_routes_that_changed(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, with_routes(TO_SITE), tmp_path) as run:
        run.rewrite(with_routes(TO_SITE, BLACKHOLE))
        await run.agent.reload()
        await trio.sleep(0.01)
        assert run.net.routes == {TO_SITE, BLACKHOLE}
        run.rewrite(with_routes(BLACKHOLE, rules=(RULE,)))
        await run.agent.reload()
        await trio.sleep(0.01)
        assert run.net.routes == {BLACKHOLE, RULE}
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert "release" not in run.net.calls


async def test_start_up_removes_routes_a_crashed_run_left(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    net.routes.update({TO_SITE, RULE})  # as a crashed havip left them
    async with running_agent(with_routes(TO_SITE, rules=(RULE,)), net, tmp_path) as run:
        assert run.agent.runtimes[0].machine.state is not State.MASTER
        assert net.routes == set()


async def test_an_instance_without_vips_is_master_with_empty_adverts(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """no_virtual_ipaddress: routes (or a notify script) are all such a master moves."""
    spec = RouterSpec(
        priority=150,
        version=3,
        vips=(),
        extra=("no_virtual_ipaddress", "virtual_routes {", f"    {BLACKHOLE}", "}"),
    )
    async with settled_agent(autojump_clock, keepalived_conf(spec), tmp_path) as run:
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert run.net.routes == {BLACKHOLE}
        [(_at, advert), *_] = adverts(run.net.endpoint("eth0").sent)
        assert advert.addresses == ()
