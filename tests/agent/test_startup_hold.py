"""vrrp_startup_delay through the real loop on a fake Net: silent and deaf, then elected."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import trio
import trio.testing

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.model import VRRP_MCAST_GROUP4, Advertisement, State
from havip.proto.timers import master_down_interval

from .fakenet import FakeNet, advert_datagram
from .harness import adverts, running_agent

VIP = IPv4Address("192.0.2.100")


async def test_startup_delay_keeps_the_instance_silent_and_deaf_until_it_ends(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    spec = RouterSpec(priority=150, version=3, global_extra=("vrrp_startup_delay 4",))
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    async with running_agent(keepalived_conf(spec), net, tmp_path) as run:
        began = trio.current_time()
        endpoint = net.endpoint("eth0")
        # A higher master heard during the delay is ignored (keepalived discards it too).
        higher = Advertisement(3, 51, 200, 100, (VIP,))
        endpoint.deliver(advert_datagram(higher, IPv4Address("192.0.2.9"), VRRP_MCAST_GROUP4))
        await trio.sleep(3.9)
        runtime = run.agent.runtimes[0]
        assert runtime.machine.state is State.INIT
        assert runtime.peers == {}
        assert endpoint.sent == [] and net.holds("eth0") == set()
        await trio.sleep(0.2)
        assert runtime.machine.state is State.BACKUP
        await trio.sleep(master_down_interval(3, 150, 100))
        assert runtime.machine.state is State.MASTER
        first_advert = adverts(endpoint.sent)[0][0]
        assert first_advert - began >= 4.0 + master_down_interval(3, 150, 100)
