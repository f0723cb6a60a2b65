"""use_vmac: the VIPs live on a macvlan with the virtual MAC, so clients never relearn a MAC.

Two havip routers with `use_vmac`, over IPv4 and over IPv6: the client's neighbour entry for
the VIP names the virtual MAC (00:00:5e:00:01:33, or 00:00:5e:00:02:33 for IPv6) before,
during and after a failover; a backup sends nothing from the virtual MAC (a capture on the
switch port of the backup, frames coming from it), so no switch ever learns the virtual MAC on
its port; the master's adverts come from the virtual MAC, or from its own with
`vmac_xmit_base`, and the backup counts them as valid. An IPv6 master's adverts keep its base
interface's link-local source address, as keepalived's do. With keepalived's MAC argument
(`use_vmac 02:00:5e:10:00`) the same holds for the MAC given.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab
from havip.lab.processes import Router, wait_for

from .conftest import Routers, client_reaches
from .metrics import metric_value

VMAC = "vrrp.51"  # keepalived's default name


@dataclass(frozen=True)
class Setup:
    """One address family's addresses, the VMAC's MAC and the announcement (VRID 51)."""

    version: int
    virtual_mac: str
    vip: str
    r1: str
    r2: str
    client: str
    announcement: str
    """What tcpdump calls the new master's announcement, and keepalived's log line for it."""
    log_line: str
    use_vmac: str = "use_vmac"


IPV4 = Setup(
    4,
    "00:00:5e:00:01:33",
    "192.0.2.100",
    "192.0.2.1/24",
    "192.0.2.2/24",
    "192.0.2.50/24",
    "ARP",
    f"Sending gratuitous ARP on {VMAC} for 192.0.2.100",
)
IPV6 = Setup(
    6,
    "00:00:5e:00:02:33",
    "2001:db8::100",
    "2001:db8::1/64",
    "2001:db8::2/64",
    "2001:db8::50/64",
    "neighbor advertisement",
    f"Sending unsolicited Neighbour Advertisement on {VMAC} for 2001:db8::100",
)
OWN_MAC = replace(IPV4, virtual_mac="02:00:5e:10:00:33", use_vmac="use_vmac 02:00:5e:10:00")
"""keepalived's `use_vmac [NAME] [MAC]`: five octets, the VRID as the sixth."""
VIP = IPV4.vip
VIRTUAL_MAC = IPV4.virtual_mac


def holders(lab: Lab, vip: str = VIP) -> list[str]:
    """The routers whose VMAC holds the VIP (a VMAC not created yet holds nothing)."""
    found = []
    for name in ("r1", "r2"):
        shown = lab.hosts[name].exec("ip", "-o", "addr", "show", "dev", VMAC, check=False)
        if f" {vip}/" in shown.stdout:
            found.append(name)
    return found


def client_mac(lab: Lab, vip: str = VIP) -> str | None:
    out = lab.hosts["client"].exec("ip", "-j", "neigh", "show", vip).stdout
    entries = json.loads(out or "[]")
    return entries[0].get("lladdr") if entries else None


def wait_master(lab: Lab, name: str, setup: Setup = IPV4) -> None:
    """`name` alone holds the VIP, and the client reaches it at the virtual MAC.

    Reaching may take a moment over IPv6 when `name`'s link has just come back: the kernel
    re-runs duplicate address detection on eth0 (about a second), and until then has no
    source address there to ask for the client's MAC with, for the echo reply."""
    vip = setup.vip
    wait_for(lambda: holders(lab, vip) == [name], 15, f"{vip} on {name}'s {VMAC} only")
    wait_for(lambda: client_reaches(lab, "client", vip), 5, f"the client to reach {vip}")
    assert client_mac(lab, vip) == setup.virtual_mac


def link_local(host: Host) -> str:
    """The host's eth0 link-local address."""
    out = host.exec("ip", "-6", "-j", "addr", "show", "dev", "eth0", "scope", "link").stdout
    return next(a["local"] for a in json.loads(out)[0]["addr_info"] if "local" in a)


def adverts_heard(router: Router) -> float:
    labels = {"vrrp_instance": "VI_1"}
    return metric_value(router.metrics(), "havip_vrrp_adverts_received_total", labels)


class VmacFrames:
    """Frames with the virtual MAC as source entering the switch from one port (tcpdump)."""

    def __init__(
        self, lab: Lab, port: str, path: Path, mac: str = VIRTUAL_MAC, verbose: tuple[str, ...] = ()
    ) -> None:
        """`verbose`: tcpdump's -v, for the group records of MLD reports."""
        self.path = path
        self.mac = mac
        command = ["tcpdump", "-i", port, "-Q", "in", "-n", "-l", "-e", *verbose, "ether", "src"]
        with path.open("wb") as out:
            self.capture = subprocess.Popen(
                ["ip", "netns", "exec", lab.switch, *command, mac],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        time.sleep(0.5)  # tcpdump is listening

    def stop(self) -> list[str]:
        time.sleep(0.2)  # the last frames are written
        self.capture.terminate()
        self.capture.wait()
        return [line for line in self.path.read_text().splitlines() if self.mac in line]


@pytest.mark.parametrize("setup", [IPV4, IPV6, OWN_MAC], ids=["ipv4", "ipv6", "own-mac"])
@pytest.mark.parametrize("xmit_base", [False, True], ids=["adverts-from-vmac", "vmac_xmit_base"])
def test_client_keeps_the_virtual_mac_across_failover(
    lab: Lab, routers: Routers, tmp_path: Path, xmit_base: bool, setup: Setup
) -> None:
    for name, address in (("r1", setup.r1), ("r2", setup.r2), ("client", setup.client)):
        lab.add_host(name, address)
    if setup.version == 6:
        lab.wait_link_local()
    extra = (setup.use_vmac, "vmac_xmit_base") if xmit_base else (setup.use_vmac,)
    timing = {"version": 3, "advert_int": 0.2, "extra": extra, "vips": (setup.vip,)}
    r1 = routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(priority=150, **timing)))  # type: ignore[arg-type]
    r2 = routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, **timing)))  # type: ignore[arg-type]

    wait_master(lab, "r1", setup)
    mac = setup.virtual_mac
    backup = VmacFrames(lab, lab.hosts["r2"].port, tmp_path / "backup.txt", mac)
    master = VmacFrames(lab, lab.hosts["r1"].port, tmp_path / "master.txt", mac)
    heard = adverts_heard(r2)
    time.sleep(2.0)  # ten adverts from r1
    assert backup.stop() == []
    adverts = [line for line in master.stop() if "VRRPv3" in line]
    assert (len(adverts) == 0) if xmit_base else (len(adverts) >= 5)
    if setup.version == 6:  # the base interface's link-local source, from either interface
        assert all(f" {link_local(lab.hosts['r1'])} > ff02::12:" in line for line in adverts)
    assert adverts_heard(r2) >= heard + 5  # valid for the backup, from either interface
    takeover = VmacFrames(lab, lab.hosts["r2"].port, tmp_path / "takeover.txt", mac)
    lab.cut("r1")
    wait_master(lab, "r2", setup)
    lab.restore("r1")
    wait_master(lab, "r1", setup)
    time.sleep(1.5)  # the kernel repeats a multicast listener report up to a second later
    from_r2 = takeover.stop()
    assert any(setup.announcement in line for line in from_r2)  # r2's announcement
    # no MLD from the VMAC: r2 leaving its VIP's groups as it hands back would otherwise
    # teach the switch that the virtual MAC is behind r2's port
    assert not any("multicast listener" in line for line in from_r2)
    assert setup.log_line in r1.log_text()  # keepalived's line


def test_an_ipv6_vmac_has_no_address_of_its_own(lab: Lab, routers: Routers) -> None:
    """No link-local address (so no duplicate address detection, router solicitation or MLD
    report for one) on an IPv6 VMAC: a backup's holds nothing, a master's only the VIP."""
    for name, address in (("r1", IPV6.r1), ("r2", IPV6.r2)):
        lab.add_host(name, address)
    lab.wait_link_local()
    timing = {"version": 3, "advert_int": 0.2, "extra": ("use_vmac",), "vips": (IPV6.vip,)}
    routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(priority=150, **timing)))  # type: ignore[arg-type]
    routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, **timing)))  # type: ignore[arg-type]
    wait_for(lambda: holders(lab, IPV6.vip) == ["r1"], 15, f"{IPV6.vip} on r1's {VMAC} only")
    for name, expected in (("r1", [f"{IPV6.vip}/128"]), ("r2", [])):
        host = lab.hosts[name]
        out = host.exec("ip", "-6", "-j", "addr", "show", "dev", VMAC).stdout
        info = [a for link in json.loads(out or "[]") for a in link["addr_info"] if "local" in a]
        shown = [f"{a['local']}/{a['prefixlen']}" for a in info]
        assert shown == expected, f"{name}'s {VMAC}"
        mode = host.exec("cat", f"/proc/sys/net/ipv6/conf/{VMAC}/addr_gen_mode").stdout
        assert mode.strip() == "1"  # none


def link_mac(host: Host) -> str:
    address: str = json.loads(host.exec("ip", "-j", "link", "show", "dev", "eth0").stdout)[0][
        "address"
    ]
    return address


def listens_on_eth0(host: Host, group: str) -> bool:
    """Whether the kernel lists `group` (hex, as /proc/net/igmp6) on the host's eth0."""
    table = host.exec("cat", "/proc/net/igmp6").stdout.splitlines()
    return any(line.split()[1:3] == ["eth0", group] for line in table)


def test_an_ipv6_master_reports_its_vips_groups_from_the_base_interface(
    lab: Lab, routers: Routers, tmp_path: Path
) -> None:
    """MLD snooping: the switch must learn that solicitations for the VIP (to its
    solicited-node group, ff02::1:ff00:100) belong on the master's port. The VMAC's own
    reports are dropped (they would carry the virtual MAC), so the master joins the group on
    its base interface, whose reports carry its own MAC; it leaves when it steps down."""
    group = "ff0200000000000000000001ff000100"
    for name, address in (("r1", IPV6.r1), ("r2", IPV6.r2)):
        lab.add_host(name, address)
    lab.wait_link_local()
    r1 = lab.hosts["r1"]
    reports = VmacFrames(lab, r1.port, tmp_path / "reports.txt", link_mac(r1), ("-v",))
    timing = {"version": 3, "advert_int": 0.2, "extra": ("use_vmac",), "vips": (IPV6.vip,)}
    master = routers.havip(r1, keepalived_conf(RouterSpec(priority=150, **timing)))  # type: ignore[arg-type]
    routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, **timing)))  # type: ignore[arg-type]
    wait_for(lambda: holders(lab, IPV6.vip) == ["r1"], 15, f"{IPV6.vip} on r1's {VMAC} only")
    assert listens_on_eth0(r1, group) and not listens_on_eth0(lab.hosts["r2"], group)
    time.sleep(1.5)  # the kernel repeats an unsolicited report within a second
    sent = [line for line in reports.stop() if "multicast listener report" in line]
    assert any("ff02::1:ff00:100" in line for line in sent), sent
    master.stop()
    wait_for(lambda: holders(lab, IPV6.vip) == ["r2"], 15, f"{IPV6.vip} on r2's {VMAC} only")
    wait_for(lambda: listens_on_eth0(lab.hosts["r2"], group), 5, "r2 to join the group")


def test_a_left_over_vmac_is_adopted_and_everything_is_undone_at_exit(
    lab: Lab, routers: Routers
) -> None:
    """A VMAC a killed run left is taken over; when havip stops, the VMAC is gone and the base
    interface's ARP settings are the operator's again."""
    host = lab.add_host("r1", "192.0.2.1/24")
    host.exec("ip", "link", "add", VMAC, "link", "eth0", "type", "macvlan", "mode", "bridge")
    host.exec("ip", "link", "set", "dev", VMAC, "address", VIRTUAL_MAC)
    conf = "/proc/sys/net/ipv4/conf/eth0"
    before = host.exec("cat", f"{conf}/arp_ignore", f"{conf}/arp_announce").stdout
    spec = RouterSpec(priority=150, version=3, advert_int=0.2, extra=("use_vmac",))
    router = routers.havip(host, keepalived_conf(spec))
    wait_for(lambda: VIP in host.addresses_on(VMAC), 15, f"{VIP} on the adopted {VMAC}")
    assert host.exec("cat", f"{conf}/arp_ignore", f"{conf}/arp_announce").stdout == "1\n2\n"
    assert router.stop() == 0
    assert host.exec("ip", "link", "show", VMAC, check=False).returncode != 0
    assert host.exec("cat", f"{conf}/arp_ignore", f"{conf}/arp_announce").stdout == before
