"""The receive window: adverts wait a little to be read together, and that changes no decision.

A backup's master-down deadline counts from each advert's arrival (the kernel's timestamp),
not from when the loop read it; and an advert still waiting out its window when the deadline
comes is read before the backup would take over.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import trio
import trio.testing

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.model import AUTH_PASS, VRRP_MCAST_GROUP4, Advertisement, State
from havip.supervisor import RECEIVE_WINDOW_MAX

from .fakenet import FakeNet, advert_datagram
from .harness import Running, running_agent

VIP = IPv4Address("192.0.2.100")
MASTER = IPv4Address("192.0.2.9")
MASTER_ADVERT = Advertisement(2, 51, 200, 100, (VIP,), AUTH_PASS, b"right\0\0\0")
MASTER_DOWN_INTERVAL = 3 + (256 - 100) / 256
"""VRRPv2 at 1 s, priority 100: three intervals plus the skew."""


def backup_conf() -> str:
    return keepalived_conf(RouterSpec(priority=100, password="right"))


@asynccontextmanager
async def backup(clock: trio.testing.MockClock, directory: Path) -> AsyncIterator[Running]:
    """The agent at priority 100 on a fake eth0, just started (backup, hearing nobody)."""
    net = FakeNet(clock)
    net.add_link("eth0")
    async with running_agent(backup_conf(), net, directory) as run:
        yield run


async def follow_master(run: Running, adverts: int) -> float:
    """Deliver the master's advert once a second; return the last one's arrival time."""
    endpoint = run.net.endpoint("eth0")
    datagram = advert_datagram(MASTER_ADVERT, MASTER, VRRP_MCAST_GROUP4)
    last = trio.current_time()
    for _ in range(adverts):
        last = trio.current_time()
        endpoint.deliver(datagram)
        await trio.sleep(1.0)
    return last


async def test_a_backup_takes_over_one_master_down_interval_after_the_last_arrival(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with backup(autojump_clock, tmp_path) as run:
        machine = run.agent.runtimes[0].machine
        last = await follow_master(run, 10)
        assert machine.state is State.BACKUP
        assert run.agent.runtimes[0].adverts_received == 10
        await trio.sleep(MASTER_DOWN_INTERVAL + 1.0)
        assert machine.state is State.MASTER
        assert machine.state_since is not None
        # From the arrival, not from the read up to one window later.
        assert machine.state_since - last == pytest.approx(MASTER_DOWN_INTERVAL, abs=1e-6)


async def test_an_advert_waiting_out_its_window_is_read_before_a_takeover(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with backup(autojump_clock, tmp_path) as run:
        machine = run.agent.runtimes[0].machine
        last = await follow_master(run, 5)
        late = last + MASTER_DOWN_INTERVAL - 0.001  # the master is late, but not dead
        endpoint = run.net.endpoint("eth0")
        endpoint.deliver(advert_datagram(MASTER_ADVERT, MASTER, VRRP_MCAST_GROUP4), at=late)
        await trio.sleep_until(late + RECEIVE_WINDOW_MAX / 2)  # inside the window
        assert machine.state is State.BACKUP
        assert run.agent.runtimes[0].adverts_received == 6
        assert machine.get_timer() == pytest.approx(late + MASTER_DOWN_INTERVAL)


async def test_an_advert_queued_behind_other_instances_adverts_is_read_before_a_takeover(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """A busy loop lets a backlog build: the master's advert behind 40 packets (more than a
    receive batch) for another VRID still keeps the backup a backup."""
    async with backup(autojump_clock, tmp_path) as run:
        machine = run.agent.runtimes[0].machine
        last = await follow_master(run, 5)
        late = last + MASTER_DOWN_INTERVAL - 0.001
        endpoint = run.net.endpoint("eth0")
        other = Advertisement(2, 99, 200, 100, (VIP,), AUTH_PASS, b"right\0\0\0")
        for _ in range(40):
            endpoint.deliver(advert_datagram(other, MASTER, VRRP_MCAST_GROUP4), at=late)
        endpoint.deliver(advert_datagram(MASTER_ADVERT, MASTER, VRRP_MCAST_GROUP4), at=late)
        await trio.sleep_until(late + RECEIVE_WINDOW_MAX / 2)  # the deadline passed in the window
        assert machine.state is State.BACKUP
        assert run.agent.runtimes[0].adverts_received == 6


async def test_following_a_master_fires_no_timer(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each advert moves the master-down deadline, and the armed one is moved before it comes
    due: the scheduler never fires a deadline that has moved (that would wake the loop per
    instance per interval)."""
    async with backup(autojump_clock, tmp_path) as run:
        fired: list[float] = []
        supervisor = run.agent.supervisor
        timer = supervisor.timer
        monkeypatch.setattr(supervisor, "timer", lambda d, now: (fired.append(now), timer(d, now)))
        await follow_master(run, 20)
        assert fired == []
        assert run.agent.runtimes[0].machine.state is State.BACKUP


async def test_no_garbage_is_collected_between_the_deadline_and_the_takeover(
    autojump_clock: trio.testing.MockClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain before a takeover reads the socket but leaves its effects to the timer's
    batch: the loop's collection (due here, a second after the last) comes after the VIPs."""
    collected: list[tuple[float, bool]] = []
    async with backup(autojump_clock, tmp_path) as run:

        def collect(generation: int = 2) -> int:
            collected.append((trio.current_time(), bool(run.net.holds("eth0"))))
            return 0

        monkeypatch.setattr(gc, "collect", collect)
        await follow_master(run, 5)
        await trio.sleep(MASTER_DOWN_INTERVAL + 1.0)
        machine = run.agent.runtimes[0].machine
        assert machine.state is State.MASTER
        at_takeover = [held for at, held in collected if at == machine.state_since]
        assert at_takeover == [True]  # one collection, with the VIPs already in place
