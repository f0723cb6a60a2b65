"""The real agent loop over a fake Net, on trio's MockClock: no root, no namespaces, no sleeping.

What an operator relies on and only the loop can break: a master keeps advertising on time
whatever arrives, a receive error is counted and survived, peer state stays bounded, IPv6 is
exported as IPv6, SIGTERM hands over, and a link going down is FAULT.
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import stat
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
import trio
import trio.testing

from havip.collector import FALLBACK
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.observer import Report, Stepped
from havip.proto.events import StateChanged
from havip.proto.model import AUTH_PASS, VRRP_MCAST_GROUP4, Advertisement, Family, State
from havip.receiving import RECEIVE_BATCH
from havip.supervisor import PEERS_PER_INSTANCE

from .fakenet import FakeEndpoint, FakeNet, Flood, advert_datagram
from .harness import adverts, running_agent, settled_agent

VIP = IPv4Address("192.0.2.100")
OTHER = IPv4Address("192.0.2.9")
RECEIVE_COST = 20e-6
"""Clock time each received packet costs the fake agent (a modest CPU's decode and reject)."""


def master_conf(**spec: object) -> str:
    return keepalived_conf(RouterSpec(**{"priority": 150, "password": "right", **spec}))  # type: ignore[arg-type]


def wrong_password_advert() -> Advertisement:
    return Advertisement(2, 51, 200, 100, (VIP,), AUTH_PASS, b"wrong\0\0\0")


async def test_master_advertises_on_time_through_a_saturating_flood(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = FakeNet(autojump_clock, receive_cost=RECEIVE_COST)
    net.add_link("eth0")
    async with running_agent(master_conf(), net, tmp_path) as run:
        await trio.sleep(5.0)  # alone on the link: master after the master-down interval
        endpoint = net.endpoint("eth0")
        start = trio.current_time()
        datagram = advert_datagram(wrong_password_advert(), OTHER, VRRP_MCAST_GROUP4)
        # 200 k/s at 20 us each is four times what the agent can handle: it never catches up
        endpoint.add_flood(Flood(datagram, rate=200_000, start=start, end=start + 2.0))
        await trio.sleep(3.0)
        times = [at for at, advert in adverts(endpoint.sent) if advert.priority == 150]
        during = [t for t in times if start - 1.0 <= t <= start + 2.5]
        assert len(during) >= 3
        gaps = [later - earlier for earlier, later in itertools.pairwise(during)]
        assert max(gaps) <= 1.0 + 0.001, gaps
        assert endpoint.received > 100_000  # the flood really reached the agent
        assert (
            run.sample("havip_vrrp_auth_failures_total", vrrp_instance="VI_1", reason="password")
            == endpoint.received
        )
        assert net.holds("eth0") == {str(VIP)}


async def test_a_receive_batch_is_bounded(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    async with running_agent(master_conf(), net, tmp_path):
        endpoint = net.endpoint("eth0")
        steps = PacketsPerTaskStep(endpoint)
        trio.lowlevel.add_instrument(steps)
        datagram = advert_datagram(wrong_password_advert(), OTHER, VRRP_MCAST_GROUP4)
        for _ in range(RECEIVE_BATCH * 3):
            endpoint.deliver(datagram)
        await trio.sleep(0.2)  # past the receive window
        trio.lowlevel.remove_instrument(steps)
        assert steps.batches == [RECEIVE_BATCH] * 3  # the task yields after each batch


class PacketsPerTaskStep(trio.abc.Instrument):
    """Packets an endpoint handed over during each step of a task: a step ends where the
    task yields, so these are the batches the loop handles without yielding."""

    def __init__(self, endpoint: FakeEndpoint) -> None:
        self.endpoint = endpoint
        self.batches: list[int] = []
        self._before = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._before = self.endpoint.received

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        taken = self.endpoint.received - self._before
        if taken:
            self.batches.append(taken)


async def test_a_receive_error_is_counted_and_receiving_goes_on(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    async with running_agent(master_conf(), net, tmp_path) as run:
        endpoint = net.endpoint("eth0")
        endpoint.deliver(OSError(100, "Network is down"))
        endpoint.deliver(advert_datagram(wrong_password_advert(), OTHER, VRRP_MCAST_GROUP4))
        await trio.sleep(0.5)  # two receive windows and the retry pause
        dropped = "havip_vrrp_packets_rejected_total"
        assert run.sample(dropped, vrrp_instance="", reason="receive_error") == 1
        assert (
            run.sample(dropped, vrrp_instance="VI_1", interface="eth0", reason="auth_password") == 1
        )


async def test_peer_table_stays_bounded_under_forged_sources(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, master_conf(), tmp_path) as run:
        net = run.net
        endpoint = net.endpoint("eth0")
        lower = Advertisement(2, 51, 50, 100, (VIP,), AUTH_PASS, b"right\0\0\0")
        forged_sources = [
            IPv4Address(f"{net_prefix}.{host}")
            for net_prefix in ("198.51.100", "203.0.113")
            for host in range(1, 255)
        ]
        for forged in forged_sources:
            endpoint.deliver(advert_datagram(lower, forged, VRRP_MCAST_GROUP4))
        await trio.sleep(0.5)
        runtime = run.agent.runtimes[0]
        assert endpoint.received == len(forged_sources)
        assert len(runtime.peers) <= PEERS_PER_INSTANCE


async def test_ipv6_instance_is_exported_as_ipv6(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    config = keepalived_conf(RouterSpec(priority=150, version=3, vips=("2001:db8::100/64",)))
    async with running_agent(config, net, tmp_path) as run:
        await trio.sleep(5.0)
        assert run.agent.runtimes[0].family is Family.IPV6
        info = run.sample("havip_vrrp_instance_info", vrrp_instance="VI_1")
        assert info == 1
        assert run.sample("havip_vrrp_instance_info", family="ipv6") == 1
        sent = adverts(net.endpoint("eth0", Family.IPV6).sent)
        assert sent and sent[0][1].addresses == (IPv6Address("2001:db8::100"),)
        assert net.holds("eth0") == {"2001:db8::100"}


async def test_sigterm_hands_over_with_priority_zero_and_releases_the_vips(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, master_conf(), tmp_path) as run:
        net = run.net
        assert net.holds("eth0") == {str(VIP)}
        os.kill(os.getpid(), signal.SIGTERM)
        with trio.fail_after(2):
            await run.agent.stopped.wait()
        await trio.sleep(0.1)
    last = adverts(net.endpoint("eth0").sent)[-1][1]
    assert last.priority == 0
    assert net.holds("eth0") == set()
    assert net.closed


async def test_link_down_is_fault_and_link_up_is_backup_again(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, master_conf(), tmp_path) as run:
        net = run.net
        machine = run.agent.runtimes[0].machine
        assert machine.state is State.MASTER
        net.set_link("eth0", up=False)
        await trio.sleep(0.1)
        assert machine.state is State.FAULT
        assert net.holds("eth0") == set()
        net.set_link("eth0", up=True)
        await trio.sleep(0.1)
        assert machine.state is State.BACKUP
        await trio.sleep(5.0)
        assert machine.state is State.MASTER


async def test_the_notify_fifo_havip_created_is_removed_when_it_stops(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """A reader looping on `while read line < FIFO` must not find a stale FIFO after havip."""
    fifo = tmp_path / "notify.fifo"
    config = keepalived_conf(RouterSpec(priority=150, global_extra=(f"notify_fifo {fifo}",)))
    async with settled_agent(autojump_clock, config, tmp_path):
        assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert not fifo.exists()


async def test_a_notify_fifo_that_existed_before_havip_is_left_in_place(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    fifo = tmp_path / "notify.fifo"
    os.mkfifo(fifo)
    config = keepalived_conf(RouterSpec(priority=150, global_extra=(f"notify_fifo {fifo}",)))
    async with settled_agent(autojump_clock, config, tmp_path):
        pass
    assert stat.S_ISFIFO(fifo.stat().st_mode)


async def test_the_loop_collects_garbage_in_the_wakes_its_adverts_already_cost(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Automatic collection is off while the agent runs (it could land inside a takeover).
    A master's loop wakes every second for its advert anyway: it collects then, after the
    advert is sent (generation 0 each time, 1 every 10th, 2 every 100th), and the fallback
    task never has to wake for it."""
    collected: list[tuple[int, float]] = []
    sent_at: list[float] = []

    def collect(generation: int = 2) -> int:
        collected.append((generation, trio.current_time()))
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    async with running_agent(master_conf(), net, tmp_path) as run:
        assert not gc.isenabled()
        endpoint = run.net.endpoint("eth0")
        send = endpoint.send
        monkeypatch.setattr(
            endpoint, "send", lambda *a: (sent_at.append(trio.current_time()), send(*a))
        )
        await trio.sleep(120.0)
    assert gc.isenabled()
    generations = [generation for generation, _ in collected]
    assert 110 <= len(generations) <= 121  # about once a second
    assert generations[9] == 1 and generations[99] == 2 and generations.count(2) == 1
    steady = [at for _, at in collected if at > 10.0]
    assert steady and all(at in sent_at for at in steady)  # in the advert's own wake-up


async def test_a_loop_with_no_inputs_still_collects_from_its_fallback(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected: list[float] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(trio.current_time()))
    async with settled_agent(autojump_clock, master_conf(), tmp_path) as run:
        run.net.set_link("eth0", up=False)  # FAULT: no adverts, no timers, no packets
        await trio.sleep(1.0)
        assert run.agent.runtimes[0].machine.state is State.FAULT
        before = len(collected)
        await trio.sleep(FALLBACK * 3 + 0.5)
        assert len(collected) - before == 3


async def test_observers_run_after_the_takeover_so_they_cannot_delay_the_vips(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """An observer that takes 10 ms over the takeover's step report (logging, spans) does
    not lengthen the takeover: the VIPs are moved and announced before reports are made."""
    net = FakeNet(autojump_clock)
    net.add_link("eth0")
    async with running_agent(master_conf(), net, tmp_path) as run:
        metrics = run.agent.observer

        class SlowObserver:
            def observe(self, report: Report) -> None:
                if isinstance(report, Stepped) and any(
                    isinstance(o, StateChanged) and o.new is State.MASTER for o in report.outputs
                ):
                    autojump_clock.jump(0.010)
                metrics.observe(report)

        run.agent.observer = SlowObserver()
        await trio.sleep(5.0)  # alone on the link: master after the master-down interval
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert run.sample("havip_vrrp_takeover_duration_seconds_count") == 1
        assert run.sample("havip_vrrp_takeover_duration_seconds_sum") < 0.001


async def test_the_vip_record_is_written_after_the_takeover_is_announced(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """Writing the record of held VIPs takes a file write: it follows the announcements."""
    async with settled_agent(autojump_clock, master_conf(), tmp_path) as run:
        assert run.net.calls == ["add", "announce", "record"]
