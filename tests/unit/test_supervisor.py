"""The supervisor is pure: fed values with `now`, it answers with effects (no loop, no OS)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from havip import effects as fx
from havip.config import load_config
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.net.firewall import FirewallTable
from havip.net.netlink import LinkInfo
from havip.net.vrrpsock import Datagram
from havip.observer import PacketDropped, Stepped
from havip.proto.events import StateChanged, TrackerChanged
from havip.proto.model import (
    VRRP_MCAST_GROUP4,
    Advertisement,
    DecodeError,
    Family,
    Reason,
    RejectReason,
    State,
)
from havip.proto.packet import decode, encode
from havip.supervisor import Supervisor

ETH0 = LinkInfo(2, "eth0", True, bytes(6), IPv4Address("192.0.2.1"), None)
KEY = ("eth0", Family.IPV4)
PEER = IPv4Address("192.0.2.9")


def supervisor(tmp_path: Path, **spec: object) -> Supervisor:
    path = tmp_path / "keepalived.conf"
    path.write_text(keepalived_conf(RouterSpec(**{"priority": 150, **spec})))  # type: ignore[arg-type]
    built = Supervisor(load_config(path))
    built.create_all()
    built.links = {"eth0": ETH0}
    return built


def started(tmp_path: Path, **spec: object) -> Supervisor:
    built = supervisor(tmp_path, **spec)
    built.bring_up(now=0.0)
    built.take()
    return built


def kinds(effects: list[fx.Effect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def datagram(priority: int, ttl: int = 255) -> Datagram:
    advert = Advertisement(2, 51, priority, 100, (IPv4Address("192.0.2.100"),))
    payload = encode(advert, source=PEER, destination=VRRP_MCAST_GROUP4)
    return Datagram(payload, PEER, VRRP_MCAST_GROUP4, ttl)


def test_bring_up_opens_one_endpoint_and_enters_backup(tmp_path: Path) -> None:
    built = supervisor(tmp_path)
    built.bring_up(now=0.0)
    effects = built.take()
    assert [e for e in effects if isinstance(e, fx.OpenEndpoint)] == [
        fx.OpenEndpoint(KEY, ETH0, VRRP_MCAST_GROUP4)
    ]
    assert built.runtimes[0].machine.state is State.BACKUP


def test_takeover_effects_come_in_order(tmp_path: Path) -> None:
    built = started(tmp_path)
    driven = built.driven["VI_1"]
    deadline = driven.machine.get_timer()
    assert deadline is not None
    built.timer(driven, deadline)
    assert kinds(built.take()) == [
        "Stepped", "ChangeVips", "Transmit", "Announce", "TakeoverDone", "Rearm"
    ]  # fmt: skip


def test_a_packet_with_a_low_ttl_is_dropped_and_reported(tmp_path: Path) -> None:
    built = started(tmp_path)
    built.datagram(KEY, datagram(200, ttl=64), 1.0)
    (dropped,) = built.take()
    assert isinstance(dropped, PacketDropped) and dropped.reason is RejectReason.TTL
    assert dropped.runtime is built.runtimes[0]


def test_a_malformed_header_is_reported_without_an_instance(tmp_path: Path) -> None:
    built = started(tmp_path)
    built.datagram(KEY, DecodeError(RejectReason.LENGTH, "short"), 1.0)
    assert built.take() == [PacketDropped("eth0", RejectReason.LENGTH, None, None, "short")]


def test_a_higher_master_is_followed(tmp_path: Path) -> None:
    built = started(tmp_path)
    built.datagram(KEY, datagram(200), 1.0)
    assert kinds(built.take()) == ["Stepped", "Rearm"]
    assert built.runtimes[0].machine.master_address == PEER


def test_a_vanished_link_is_fault_and_closes_the_endpoint(tmp_path: Path) -> None:
    built = started(tmp_path)
    built.links_changed({"eth0": None}, 1.0)
    effects = built.take()
    assert fx.CloseEndpoint(KEY) in effects
    assert built.runtimes[0].machine.state is State.FAULT


def paced(tmp_path: Path) -> Supervisor:
    """Three VIPs, two rounds, and 0.5 s between two gratuitous ARPs on an interface."""
    return started(
        tmp_path,
        vips=("192.0.2.100/24", "192.0.2.101/24", "192.0.2.102/24"),
        global_extra=("vrrp_garp_interval 0.5", "vrrp_garp_master_repeat 2"),
    )


def take_over(built: Supervisor) -> tuple[float, list[fx.Effect]]:
    driven = built.driven["VI_1"]
    deadline = driven.machine.get_timer()
    assert deadline is not None
    built.timer(driven, deadline)
    return deadline, built.take()


def test_garp_interval_sends_one_frame_at_takeover_and_queues_the_rest(tmp_path: Path) -> None:
    built = paced(tmp_path)
    now, effects = take_over(built)
    assert kinds(effects) == [
        "Stepped", "ChangeVips", "Transmit", "Announce", "RearmPacer", "TakeoverDone", "Rearm"
    ]  # fmt: skip
    (announce,) = [e for e in effects if isinstance(e, fx.Announce)]
    assert (announce.addresses, announce.count) == ((IPv4Address("192.0.2.100"),), 1)
    assert fx.RearmPacer(("eth0", "garp"), now + 0.5) in effects


def test_queued_frames_go_one_per_interval_when_the_loop_calls_back(tmp_path: Path) -> None:
    built = paced(tmp_path)
    now, _effects = take_over(built)
    sent: list[IPv4Address | IPv6Address] = []
    deadline: float | None = now + 0.5
    while deadline is not None:
        built.announce_due(("eth0", "garp"), deadline)
        effects = built.take()
        for effect in effects:
            if isinstance(effect, fx.Announce):
                assert effect.paced and effect.count == 1
                sent += effect.addresses
        (rearm,) = [e for e in effects if isinstance(e, fx.RearmPacer)]
        assert rearm.deadline is None or rearm.deadline == deadline + 0.5
        deadline = rearm.deadline
    assert sorted(sent) == sorted([IPv4Address(f"192.0.2.{h}") for h in (100, 101, 101, 102, 102)])


def test_queued_frames_are_dropped_when_the_vips_are_released(tmp_path: Path) -> None:
    built = paced(tmp_path)
    now, _effects = take_over(built)
    built.datagram(KEY, datagram(200), now + 0.1)  # a higher master: back to BACKUP
    assert any(isinstance(e, fx.ChangeVips) and e.op == "remove" for e in built.take())
    built.announce_due(("eth0", "garp"), now + 0.5)
    assert built.take() == [fx.RearmPacer(("eth0", "garp"), None)]


CHECK_SCRIPT = """vrrp_script chk {
    script "/bin/true"
    interval 1
    weight 0
}"""


def scripted(tmp_path: Path, tracked: str) -> Supervisor:
    """VI_1 at priority 150 tracking script chk as `tracked` says, brought up at 0."""
    path = tmp_path / "keepalived.conf"
    spec = RouterSpec(priority=150, extra=("track_script {", f"    {tracked}", "}"))
    path.write_text(keepalived_conf(spec, before=(CHECK_SCRIPT,)))
    built = Supervisor(load_config(path))
    built.create_all()
    built.links = {"eth0": ETH0}
    built.bring_up(now=0.0)
    return built


def test_a_weight_0_script_holds_its_instance_in_init_until_its_first_result(
    tmp_path: Path,
) -> None:
    built = scripted(tmp_path, "chk")
    machine = built.driven["VI_1"].machine
    assert machine.state is State.INIT and machine.awaiting == ("script chk",)
    built.feed("VI_1", TrackerChanged("script chk", True, 0), 1.0)
    assert machine.state is State.BACKUP


def test_a_weighted_script_does_not_hold_its_instance(tmp_path: Path) -> None:
    built = scripted(tmp_path, "chk weight 10")
    assert built.driven["VI_1"].machine.state is State.BACKUP


def test_startup_delay_holds_every_instance_and_arms_its_timer(tmp_path: Path) -> None:
    built = supervisor(tmp_path, global_extra=("vrrp_startup_delay 2.5",))
    built.bring_up(now=10.0)
    driven = built.driven["VI_1"]
    assert driven.machine.state is State.INIT
    assert fx.Rearm(driven) in built.take()
    assert driven.machine.get_timer() == 12.5
    built.timer(driven, 12.5)
    assert driven.machine.state is State.BACKUP


def grouped(tmp_path: Path) -> Supervisor:
    """VI_1 (VRID 51) and VI_2 (VRID 52) in one sync group, both BACKUP at priority 100."""
    path = tmp_path / "keepalived.conf"
    first = RouterSpec(priority=100)
    second = RouterSpec(priority=100, instance="VI_2", vrid=52, vips=("192.0.2.101/24",))
    group = "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}"
    path.write_text(keepalived_conf(first, second, after=(group,)))
    built = Supervisor(load_config(path))
    built.create_all()
    built.links = {"eth0": ETH0}
    built.bring_up(now=0.0)
    built.take()
    return built


def master_of_vrid_52(priority: int = 200) -> Datagram:
    advert = Advertisement(2, 52, priority, 100, (IPv4Address("192.0.2.101"),))
    payload = encode(advert, source=PEER, destination=VRRP_MCAST_GROUP4)
    return Datagram(payload, PEER, VRRP_MCAST_GROUP4, 255)


def fire(built: Supervisor, name: str) -> float:
    driven = built.driven[name]
    deadline = driven.machine.get_timer()
    assert deadline is not None
    built.timer(driven, deadline)
    return deadline


def test_a_sync_group_member_waits_while_another_member_still_hears_its_master(
    tmp_path: Path,
) -> None:
    built = grouped(tmp_path)
    vi_1, vi_2 = (built.driven[n].machine for n in ("VI_1", "VI_2"))
    built.datagram(KEY, master_of_vrid_52(), 1.0)
    now = fire(built, "VI_1")  # VI_1's master is gone, VI_2's is not: keepalived holds VI_1
    assert vi_1.state is State.BACKUP and vi_1.wants_master
    assert vi_2.state is State.BACKUP
    assert vi_1.get_timer() == now + vi_1.master_down_interval  # it asks again later
    assert not any(isinstance(e, fx.ChangeVips) for e in built.take())


def test_the_group_takes_over_when_the_last_member_wants_to(tmp_path: Path) -> None:
    built = grouped(tmp_path)
    vi_1, vi_2 = (built.driven[n].machine for n in ("VI_1", "VI_2"))
    built.datagram(KEY, master_of_vrid_52(), 1.0)
    fire(built, "VI_1")
    fire(built, "VI_2")  # VI_2's master has gone silent too
    assert (vi_1.state, vi_2.state) == (State.MASTER, State.MASTER)
    changes = [o for e in built.take() if isinstance(e, Stepped) for o in e.outputs]
    reasons = {o.reason for o in changes if isinstance(o, StateChanged)}
    assert reasons == {Reason.MASTER_DOWN}  # each wanted it for its own reason


def test_a_member_that_hears_its_master_again_stops_wanting_and_holds_the_group(
    tmp_path: Path,
) -> None:
    built = grouped(tmp_path)
    vi_1, vi_2 = (built.driven[n].machine for n in ("VI_1", "VI_2"))
    fire(built, "VI_2")  # VI_2 wants MASTER, VI_1 does not yet
    now = vi_2.get_timer()
    assert now is not None and vi_2.wants_master
    built.datagram(KEY, master_of_vrid_52(), now - 0.5)  # VI_2's master is back
    assert not vi_2.wants_master
    fire(built, "VI_1")
    assert (vi_1.state, vi_2.state) == (State.BACKUP, State.BACKUP)


def test_a_non_owner_master_without_accept_blocks_its_vips_before_adding_them(
    tmp_path: Path,
) -> None:
    built = started(
        tmp_path, extra=("no_accept",), global_extra=("nftables hv", "nftables_counters")
    )
    _now, effects = take_over(built)
    assert kinds(effects)[:3] == ["Stepped", "Firewall", "ChangeVips"]
    (block,) = [e for e in effects if isinstance(e, fx.Firewall)]
    assert (block.op, block.addresses) == ("block", (IPv4Address("192.0.2.100"),))
    assert block.table == FirewallTable("hv", -1, True)
    built.datagram(KEY, datagram(200), 10.0)  # a higher master: release, then unblock
    released = [e for e in built.take() if isinstance(e, fx.ChangeVips | fx.Firewall)]
    assert [type(e).__name__ for e in released] == ["ChangeVips", "Firewall"]
    assert isinstance(released[1], fx.Firewall) and released[1].op == "unblock"


def test_accept_mode_needs_no_firewall(tmp_path: Path) -> None:
    built = started(tmp_path, extra=("accept",))
    _now, effects = take_over(built)
    assert fx.ChangeVips in {type(e) for e in effects}
    assert not any(isinstance(e, fx.Firewall) for e in effects)


def test_the_address_owner_needs_no_firewall_even_with_no_accept(tmp_path: Path) -> None:
    built = supervisor(tmp_path, priority=255, extra=("no_accept",))
    built.bring_up(now=0.0)  # an owner is master at once
    effects = built.take()
    assert fx.ChangeVips in {type(e) for e in effects}
    assert not any(isinstance(e, fx.Firewall) for e in effects)


def test_delay_after_boot_holds_until_that_long_after_boot(tmp_path: Path) -> None:
    extra = ("vrrp_delay_after_boot 100", "vrrp_startup_delay 10")
    young = supervisor(tmp_path, global_extra=extra)
    young.bring_up(now=5.0, uptime=40.0)  # booted 40 s ago: 60 s to go, more than 10
    assert young.start_delay(5.0) == 60.0
    assert young.driven["VI_1"].machine.get_timer() == 65.0
    old = supervisor(tmp_path, global_extra=extra)
    old.bring_up(now=5.0, uptime=4000.0)  # long up: only vrrp_startup_delay holds
    assert old.start_delay(5.0) == 10.0


def test_the_masters_advert_again_takes_the_fast_path_and_counts(tmp_path: Path) -> None:
    built = started(tmp_path, priority=100)
    driven = built.driven["VI_1"]
    built.datagram(KEY, datagram(200), 1.0)
    assert kinds(built.take()) == ["Stepped", "Rearm"]
    built.datagram(KEY, datagram(200), 2.0)
    assert kinds(built.take()) == []  # no decode, no step report, and the armed one holds
    machine = driven.machine
    assert machine.get_timer() == 2.0 + machine.master_down_interval
    assert driven.runtime.adverts_received == 2
    assert driven.runtime.peers[PEER] == (200, 2.0)


def test_the_fast_path_rearms_only_when_the_armed_deadline_comes_near(tmp_path: Path) -> None:
    """The armed deadline may lag the real one but is re-armed before it is due: each advert
    re-arms when the armed deadline is under 1.5 intervals away (1 s adverts here)."""
    built = started(tmp_path, priority=100)
    driven = built.driven["VI_1"]
    built.datagram(KEY, datagram(200), 0.0)
    built.take()
    armed = driven.armed
    assert armed == driven.machine.master_down_interval
    rearmed = []
    for second in range(1, 10):
        built.datagram(KEY, datagram(200), float(second))
        if kinds(built.take()) == ["Rearm"]:
            assert armed is not None and armed - second < 1.5  # it was coming near
            armed = driven.armed
            rearmed.append(second)
        else:
            assert armed is not None and armed - second >= 1.5  # the next advert comes first
    assert driven.armed == driven.machine.get_timer() - (9 - rearmed[-1])
    assert 2 <= len(rearmed) <= 4  # about one re-arm per three adverts, not one per advert


def test_a_changed_advert_or_a_low_ttl_leaves_the_fast_path(tmp_path: Path) -> None:
    built = started(tmp_path, priority=100)
    built.datagram(KEY, datagram(200), 1.0)
    built.take()
    built.datagram(KEY, datagram(200, ttl=64), 1.5)
    assert kinds(built.take()) == ["PacketDropped"]
    built.datagram(KEY, datagram(180), 2.0)
    assert kinds(built.take()) == ["Stepped", "Rearm"]
    assert built.driven["VI_1"].machine.master_priority == 180


def test_a_timer_that_finds_its_deadline_moved_only_rearms(tmp_path: Path) -> None:
    built = started(tmp_path, priority=100)
    driven = built.driven["VI_1"]
    built.datagram(KEY, datagram(200), 1.0)
    first = driven.machine.get_timer()
    built.datagram(KEY, datagram(200), 2.0)
    built.take()
    assert first is not None
    built.timer(driven, first)  # a drain before the takeover moved the deadline
    assert kinds(built.take()) == ["Rearm"]
    assert driven.machine.state is State.BACKUP


def test_a_masters_routine_advert_is_sent_and_counted_without_a_step_report(
    tmp_path: Path,
) -> None:
    built = started(tmp_path)
    driven = built.driven["VI_1"]
    deadline = driven.machine.get_timer()
    assert deadline is not None
    built.timer(driven, deadline)  # takeover: the full path
    built.take()
    advert_due = driven.machine.get_timer()
    assert advert_due is not None
    built.timer(driven, advert_due)
    assert kinds(built.take()) == ["Transmit", "Rearm"]
    assert driven.runtime.adverts_sent == 2


def test_a_masters_adverts_reuse_one_transmit_until_the_advert_changes(tmp_path: Path) -> None:
    built = scripted(tmp_path, "chk weight 10")
    now, _effects = take_over(built)

    def next_transmit() -> fx.Transmit:
        deadline = driven.machine.get_timer()
        assert deadline is not None
        built.timer(driven, deadline)
        [transmit] = [e for e in built.take() if isinstance(e, fx.Transmit)]
        return transmit

    driven = built.driven["VI_1"]
    first = next_transmit()
    assert next_transmit() is first
    built.feed("VI_1", TrackerChanged("script chk", True, 10), now + 2.5)  # priority 160
    built.take()
    changed = next_transmit()
    assert changed is not first
    [(group, payload)] = changed.packets
    assert decode(payload, source=changed.source, destination=group).priority == 160
    assert next_transmit() is changed
