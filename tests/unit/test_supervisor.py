"""The supervisor is pure: fed values with `now`, it answers with effects (no loop, no OS)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from havip import effects as fx
from havip.config import load_config
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.net.netlink import LinkInfo
from havip.net.vrrpsock import Datagram
from havip.observer import PacketDropped
from havip.proto.model import (
    VRRP_MCAST_GROUP4,
    Advertisement,
    DecodeError,
    Family,
    RejectReason,
    State,
)
from havip.proto.packet import encode
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


def test_the_masters_advert_again_takes_the_fast_path_and_counts(tmp_path: Path) -> None:
    built = started(tmp_path, priority=100)
    driven = built.driven["VI_1"]
    built.datagram(KEY, datagram(200), 1.0)
    assert kinds(built.take()) == ["Stepped", "Rearm"]
    built.datagram(KEY, datagram(200), 2.0)
    assert kinds(built.take()) == ["Rearm"]  # no decode, no step report
    machine = driven.machine
    assert machine.get_timer() == 2.0 + machine.master_down_interval
    assert driven.runtime.adverts_received == 2
    assert driven.runtime.peers[PEER] == (200, 2.0)


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
