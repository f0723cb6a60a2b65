"""use_vmac in the pure supervisor: the VMAC is asked for once its base exists, VIPs and
announcements go to it, and adverts go out of it (or stay on the base with vmac_xmit_base);
an IPv6 instance's VMAC has the IPv6 virtual MAC and its adverts the base's link-local source."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from havip import effects as fx
from havip.config import load_config
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.net.netlink import LinkInfo
from havip.proto.events import AdvertReceived
from havip.proto.model import Advertisement
from havip.supervisor import Supervisor

ETH0 = LinkInfo(2, "eth0", True, bytes(6), IPv4Address("192.0.2.1"), None)
VIRTUAL_MAC = bytes([0, 0, 0x5E, 0, 1, 51])
VMAC = LinkInfo(3, "vrrp.51", True, VIRTUAL_MAC, None, None)
VIRTUAL_MAC_6 = bytes([0, 0, 0x5E, 0, 2, 51])


def supervisor(
    tmp_path: Path, *extra: str, vip: str = "192.0.2.100/24", use_vmac: str = "use_vmac"
) -> Supervisor:
    path = tmp_path / "keepalived.conf"
    spec = RouterSpec(priority=150, version=3, vips=(vip,), extra=(use_vmac, *extra))
    path.write_text(keepalived_conf(spec))
    built = Supervisor(load_config(path))
    built.create_all()
    built.links = {"eth0": ETH0}
    return built


def take_over(built: Supervisor) -> list[fx.Effect]:
    driven = built.driven["VI_1"]
    deadline = driven.machine.get_timer()
    assert deadline is not None
    built.timer(driven, deadline)
    return built.take()


def test_the_vmac_is_asked_for_once_the_base_exists(tmp_path: Path) -> None:
    built = supervisor(tmp_path)
    built.bring_up(now=0.0)
    effects = built.take()
    created = [e for e in effects if isinstance(e, fx.CreateVmac)]
    assert [(e.base, e.name, e.mac, e.family) for e in created] == [
        (ETH0, "vrrp.51", VIRTUAL_MAC, 4)
    ]
    # adverts are heard on the base interface
    assert [e.key for e in effects if isinstance(e, fx.OpenEndpoint)] == [("eth0", 4)]
    built.links_changed({"eth0": ETH0, "vrrp.51": None}, now=0.1)
    assert not any(isinstance(e, fx.CreateVmac) for e in built.take())


def test_a_master_puts_its_vips_on_the_vmac_and_advertises_from_it(tmp_path: Path) -> None:
    built = supervisor(tmp_path)
    built.bring_up(now=0.0)
    built.links_changed({"eth0": ETH0, "vrrp.51": VMAC}, now=0.1)
    built.take()
    effects = take_over(built)
    vips = [e for e in effects if isinstance(e, fx.ChangeVips)]
    assert [spec.device for e in vips for spec in e.specs] == ["vrrp.51"]
    announced = [e for e in effects if isinstance(e, fx.Announce)]
    assert [(e.device, e.mac) for e in announced] == [("vrrp.51", VIRTUAL_MAC)]
    sent = [e for e in effects if isinstance(e, fx.Transmit)]
    assert [(e.endpoint, e.via, e.source) for e in sent] == [
        (("eth0", 4), VMAC, IPv4Address("192.0.2.1"))
    ]


def test_vmac_xmit_base_keeps_the_adverts_on_the_base(tmp_path: Path) -> None:
    built = supervisor(tmp_path, "vmac_xmit_base")
    built.bring_up(now=0.0)
    built.links_changed({"eth0": ETH0, "vrrp.51": VMAC}, now=0.1)
    built.take()
    sent = [e for e in take_over(built) if isinstance(e, fx.Transmit)]
    assert [e.via for e in sent] == [None]


def test_an_ipv6_vmac_carries_the_ipv6_virtual_mac_and_the_base_link_local_source(
    tmp_path: Path,
) -> None:
    link_local = IPv6Address("fe80::1")
    eth0 = LinkInfo(2, "eth0", True, bytes(6), None, link_local)
    vmac = LinkInfo(3, "vrrp.51", True, VIRTUAL_MAC_6, None, None)  # no address of its own
    built = supervisor(tmp_path, vip="2001:db8::100/64")
    built.links = {"eth0": eth0}
    built.bring_up(now=0.0)
    created = [e for e in built.take() if isinstance(e, fx.CreateVmac)]
    assert [(e.name, e.mac, e.family) for e in created] == [("vrrp.51", VIRTUAL_MAC_6, 6)]
    built.links_changed({"eth0": eth0, "vrrp.51": vmac}, now=0.1)
    built.take()
    effects = take_over(built)
    vips = [e for e in effects if isinstance(e, fx.ChangeVips)]
    assert [spec.device for e in vips for spec in e.specs] == ["vrrp.51"]
    announced = [e for e in effects if isinstance(e, fx.Announce)]
    assert [(e.device, e.mac, e.kind) for e in announced] == [("vrrp.51", VIRTUAL_MAC_6, "na")]
    sent = [e for e in effects if isinstance(e, fx.Transmit)]
    assert [(e.endpoint, e.via, e.source) for e in sent] == [(("eth0", 6), vmac, link_local)]


def test_a_configured_mac_replaces_the_rfc_virtual_mac(tmp_path: Path) -> None:
    built = supervisor(tmp_path, "vmac_xmit_base", use_vmac="use_vmac 02:00:5e:10:00")
    built.bring_up(now=0.0)
    created = [e for e in built.take() if isinstance(e, fx.CreateVmac)]
    assert [(e.name, e.mac) for e in created] == [("vrrp.51", bytes.fromhex("02005e100033"))]


def test_an_ipv6_master_listens_for_its_vips_on_the_base_and_leaves_when_it_steps_down(
    tmp_path: Path,
) -> None:
    """The MLD reports for the VIPs' solicited-node groups then come from the base interface
    (the VMAC's own are dropped), so a snooping switch sends their solicitations here."""
    eth0 = LinkInfo(2, "eth0", True, bytes(6), None, IPv6Address("fe80::1"))
    vmac = LinkInfo(3, "vrrp.51", True, VIRTUAL_MAC_6, None, None)
    built = supervisor(tmp_path, vip="2001:db8::100/64")
    built.links = {"eth0": eth0}
    built.bring_up(now=0.0)
    built.links_changed({"eth0": eth0, "vrrp.51": vmac}, now=0.1)
    built.take()
    joined = [e for e in take_over(built) if isinstance(e, fx.ListenForVips)]
    assert [(e.endpoint, e.op, e.groups) for e in joined] == [
        (("eth0", 6), "join", (IPv6Address("ff02::1:ff00:100"),))
    ]
    driven = built.driven["VI_1"]
    higher = Advertisement(3, 51, 200, 100, (IPv6Address("2001:db8::100"),))
    built.feed("VI_1", AdvertReceived(higher, IPv6Address("fe80::2")), now=20.0)
    left = [e for e in built.take() if isinstance(e, fx.ListenForVips)]
    assert [(e.op, e.groups) for e in left] == [("leave", (IPv6Address("ff02::1:ff00:100"),))]
    assert driven.listening is None


def test_an_ipv4_vmac_joins_no_group(tmp_path: Path) -> None:
    built = supervisor(tmp_path)
    built.bring_up(now=0.0)
    built.links_changed({"eth0": ETH0, "vrrp.51": VMAC}, now=0.1)
    built.take()
    assert not any(isinstance(e, fx.ListenForVips) for e in take_over(built))
