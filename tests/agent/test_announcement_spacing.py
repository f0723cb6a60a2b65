"""vrrp_garp_interval through the real loop on a fake Net: frames spaced, adverts on time."""

from __future__ import annotations

import itertools
from pathlib import Path

import trio
import trio.testing

from havip.lab.configs import RouterSpec, keepalived_conf

from .fakenet import FakeNet
from .harness import adverts, running_agent

VIPS = ("192.0.2.100/24", "192.0.2.101/24", "192.0.2.102/24")


async def test_garp_interval_spaces_frames_and_never_delays_an_advert(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    spec = RouterSpec(
        priority=150,
        vips=VIPS,
        advert_int=0.5,
        version=3,
        garp_master_delay=1.0,
        global_extra=("vrrp_garp_interval 0.4", "vrrp_garp_master_repeat 3"),
    )
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    async with running_agent(keepalived_conf(spec), net, tmp_path):
        await trio.sleep(12.0)
        frames = net.frames
        endpoint = net.endpoint("eth0")
    times = [at for at, _device, _address in frames]
    assert all(later - earlier >= 0.4 - 1e-9 for earlier, later in itertools.pairwise(times)), times
    # 3 VIPs x 3 rounds in the first burst; the second burst, 1 s later, finds every VIP still
    # queued and tops each up to 3 to go (keepalived's rule): 12 frames in all, not 18.
    assert sorted(str(a) for _at, _d, a in frames) == sorted([v.split("/")[0] for v in VIPS] * 4)
    master_adverts = [at for at, advert in adverts(endpoint.sent) if advert.priority == 150]
    gaps = [b - a for a, b in itertools.pairwise(master_adverts)]
    assert gaps and max(gaps) <= 0.5 + 0.001, gaps
