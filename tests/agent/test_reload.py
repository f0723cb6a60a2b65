"""SIGHUP reload through the real agent loop over a fake Net (MockClock, no root).

keepalived's behaviour is the bar: a reload that changes a priority, the VIPs, the interval or
the password leaves a master master, with no VIP gap; a removed instance hands over and its
STOP notification is delivered; a new one starts and is announced; a bad file changes nothing.
"""

from __future__ import annotations

import os
from ipaddress import ip_address
from pathlib import Path

import trio
import trio.testing

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.model import State

from .fakenet import FakeNet
from .harness import Running, adverts, settled_agent

VIP = "192.0.2.100"
SECOND_VIP = "192.0.2.101"


def spec(**changes: object) -> RouterSpec:
    fields: dict[str, object] = {"priority": 150, "password": "right", "vips": (f"{VIP}/24",)}
    fields.update(changes)
    return RouterSpec(**fields)  # type: ignore[arg-type]


def with_fifo(fifo: Path, *specs: RouterSpec) -> str:
    first = RouterSpec(**{**specs[0].__dict__, "global_extra": (f"notify_fifo {fifo}",)})
    return keepalived_conf(first, *specs[1:])


async def reload(run: Running, text: str) -> None:
    run.rewrite(text)
    await run.agent.reload()
    await trio.sleep(0.01)


def removals(net: FakeNet) -> list[tuple[str, ...]]:
    return [vips for _at, op, vips in net.vip_changes if op == "remove"]


async def test_priority_change_keeps_the_master_and_its_vips(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, keepalived_conf(spec()), tmp_path) as run:
        net = run.net
        machine = run.agent.runtimes[0].machine
        assert machine.state is State.MASTER
        await reload(run, keepalived_conf(spec(priority=120)))
        assert run.agent.runtimes[0].machine is machine
        assert machine.state is State.MASTER and machine.effective_priority == 120
        assert removals(net) == []
        assert adverts(net.endpoint("eth0").sent)[-1][1].priority == 120
        assert net.holds("eth0") == {VIP}


async def test_adding_and_removing_a_vip_changes_only_that_vip(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, keepalived_conf(spec()), tmp_path) as run:
        net = run.net
        await reload(run, keepalived_conf(spec(vips=(f"{VIP}/24", f"{SECOND_VIP}/24"))))
        assert net.holds("eth0") == {VIP, SECOND_VIP}
        assert removals(net) == []
        assert any(ip_address(SECOND_VIP) in addresses for _device, addresses in net.announced)
        assert run.sample("havip_vrrp_instance_info", vips=f"{VIP},{SECOND_VIP}") == 1
        await reload(run, keepalived_conf(spec(vips=(f"{SECOND_VIP}/24",))))
        assert net.holds("eth0") == {SECOND_VIP}
        assert removals(net) == [(VIP,)]
        assert run.agent.runtimes[0].machine.state is State.MASTER


async def test_interval_and_password_change_in_place(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, keepalived_conf(spec()), tmp_path) as run:
        net = run.net
        await reload(run, keepalived_conf(spec(advert_int=2.0, password="newer")))
        endpoint = net.endpoint("eth0")
        before = len(endpoint.sent)
        await trio.sleep(4.05)
        recent = adverts(endpoint.sent[before - 1 :])
        assert recent[-1][1].auth_data == b"newer\0\0\0"
        assert recent[-1][1].interval_cs == 200
        assert 2 <= len(recent) - 1 <= 3  # one advert every 2 s now
        assert run.agent.runtimes[0].machine.state is State.MASTER
        assert removals(net) == []


async def test_removed_instance_hands_over_and_its_stop_is_notified(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    fifo = tmp_path / "notify.fifo"
    fifo.write_text("")  # a regular file collects the lines, as keepalived allows
    second = spec(instance="VI_2", vrid=52, vips=(f"{SECOND_VIP}/24",))
    async with settled_agent(autojump_clock, with_fifo(fifo, spec(), second), tmp_path) as run:
        net = run.net
        await reload(run, with_fifo(fifo, spec()))
        assert net.holds("eth0") == {VIP}
        lines = fifo.read_text().splitlines()
        assert lines[-1] == 'INSTANCE "VI_2" STOP 150'
        sent = adverts(net.endpoint("eth0").sent)
        assert [a.priority for _at, a in sent if a.vrid == 52][-1] == 0


async def test_added_instance_starts_and_is_notified(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    fifo = tmp_path / "notify.fifo"
    fifo.write_text("")
    second = spec(instance="VI_2", vrid=52, vips=(f"{SECOND_VIP}/24",))
    async with settled_agent(autojump_clock, with_fifo(fifo, spec()), tmp_path) as run:
        net = run.net
        await reload(run, with_fifo(fifo, spec(), second))
        await trio.sleep(5.0)
        lines = fifo.read_text().splitlines()
        assert 'INSTANCE "VI_2" BACKUP 150' in lines
        assert lines[-1] == 'INSTANCE "VI_2" MASTER 150'
        assert net.holds("eth0") == {VIP, SECOND_VIP}
        assert run.sample("havip_vrrp_state", vrrp_instance="VI_2", state="master") == 1


async def test_a_bad_file_changes_nothing(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    async with settled_agent(autojump_clock, keepalived_conf(spec()), tmp_path) as run:
        net = run.net
        machine = run.agent.runtimes[0].machine
        await reload(run, keepalived_conf(spec(priority=120)).replace("priority 120", "prio 120"))
        assert run.agent.runtimes[0].machine is machine
        assert machine.effective_priority == 150 and machine.state is State.MASTER
        assert net.vip_changes[-1][1] == "add"


async def test_a_hundred_reloads_leave_no_descriptor_behind(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    fifo = tmp_path / "notify.fifo"
    fifo.write_text("")
    async with settled_agent(autojump_clock, with_fifo(fifo, spec()), tmp_path) as run:
        await reload(run, with_fifo(fifo, spec(priority=140)))
        before = len(os.listdir("/proc/self/fd"))
        for round_ in range(100):
            await reload(run, with_fifo(fifo, spec(priority=140 - round_ % 2)))
        assert len(os.listdir("/proc/self/fd")) <= before
        assert run.agent.runtimes[0].machine.state is State.MASTER


async def test_a_priority_change_is_a_fifo_line_with_notify_priority_changes(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    fifo = tmp_path / "notify.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)

    def text(priority: int) -> str:
        extra = (f"notify_fifo {fifo}", "vrrp_notify_priority_changes")
        return keepalived_conf(spec(priority=priority, global_extra=extra))

    try:
        async with settled_agent(autojump_clock, text(150), tmp_path) as run:
            await reload(run, text(120))
            lines = os.read(reader, 4096).decode().splitlines()
    finally:
        os.close(reader)
    assert lines[-1] == 'INSTANCE "VI_1" MASTER_PRIORITY 120'


async def test_promote_secondaries_is_set_at_start_and_by_the_reload_that_adds_it(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    second = spec(instance="VI_2", vrid=52, vips=(f"{SECOND_VIP}/24",))
    async with settled_agent(autojump_clock, keepalived_conf(spec()), tmp_path) as run:
        assert "promote_secondaries eth0" not in run.net.calls
        await reload(run, keepalived_conf(spec(extra=("promote_secondaries",)), second))
        assert run.net.calls.count("promote_secondaries eth0") == 1
    async with settled_agent(
        autojump_clock, keepalived_conf(spec(extra=("promote_secondaries",))), tmp_path
    ) as run:
        assert run.net.calls.count("promote_secondaries eth0") == 1


async def test_unicast_fault_no_peer_holds_the_instance_in_fault_until_a_peer_is_given(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    faulty = keepalived_conf(spec(extra=("unicast_fault_no_peer",)))
    async with settled_agent(autojump_clock, faulty, tmp_path) as run:
        machine = run.agent.runtimes[0].machine
        assert machine.state is State.FAULT and run.net.holds("eth0") == set()
        assert run.net.endpoint("eth0").sent == []
        await reload(run, keepalived_conf(spec()))
        await trio.sleep(5.0)
        assert machine.state is State.MASTER
