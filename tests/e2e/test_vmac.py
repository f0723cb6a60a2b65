"""use_vmac: the VIPs live on a macvlan with the virtual MAC, so clients never relearn a MAC.

Two havip routers with `use_vmac`: the client's neighbour entry for the VIP names the virtual
MAC 00:00:5e:00:01:33 before, during and after a failover; a backup sends nothing from the
virtual MAC (a capture on the switch port of the backup, frames coming from it), so no switch
ever learns the virtual MAC on its port; the master's adverts come from the virtual MAC, or
from its own with `vmac_xmit_base`.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import wait_for

from .conftest import Routers, client_reaches

VIRTUAL_MAC = "00:00:5e:00:01:33"  # VRID 51
VIP = "192.0.2.100"
VMAC = "vrrp.51"  # keepalived's default name


def holders(lab: Lab) -> list[str]:
    """The routers whose VMAC holds the VIP (a VMAC not created yet holds nothing)."""
    found = []
    for name in ("r1", "r2"):
        shown = lab.hosts[name].exec("ip", "-o", "addr", "show", "dev", VMAC, check=False)
        if f" {VIP}/" in shown.stdout:
            found.append(name)
    return found


def client_mac(lab: Lab) -> str | None:
    out = lab.hosts["client"].exec("ip", "-j", "neigh", "show", VIP).stdout
    entries = json.loads(out or "[]")
    return entries[0].get("lladdr") if entries else None


def wait_master(lab: Lab, name: str) -> None:
    """`name` alone holds the VIP, and the client reaches it at the virtual MAC."""
    wait_for(lambda: holders(lab) == [name], 15, f"{VIP} on {name}'s {VMAC} only")
    assert client_reaches(lab, "client", VIP)
    assert client_mac(lab) == VIRTUAL_MAC


class VmacFrames:
    """Frames with the virtual MAC as source entering the switch from one port (tcpdump)."""

    def __init__(self, lab: Lab, port: str, path: Path) -> None:
        self.path = path
        command = ["tcpdump", "-i", port, "-Q", "in", "-n", "-l", "-e", "ether", "src"]
        with path.open("wb") as out:
            self.capture = subprocess.Popen(
                ["ip", "netns", "exec", lab.switch, *command, VIRTUAL_MAC],
                stdout=out,
                stderr=subprocess.DEVNULL,
            )
        time.sleep(0.5)  # tcpdump is listening

    def stop(self) -> list[str]:
        time.sleep(0.2)  # the last frames are written
        self.capture.terminate()
        self.capture.wait()
        return [line for line in self.path.read_text().splitlines() if VIRTUAL_MAC in line]


@pytest.mark.parametrize("xmit_base", [False, True], ids=["adverts-from-vmac", "vmac_xmit_base"])
def test_client_keeps_the_virtual_mac_across_failover(
    lab: Lab, routers: Routers, tmp_path: Path, xmit_base: bool
) -> None:
    for name, address in (
        ("r1", "192.0.2.1/24"),
        ("r2", "192.0.2.2/24"),
        ("client", "192.0.2.50/24"),
    ):
        lab.add_host(name, address)
    extra = ("use_vmac", "vmac_xmit_base") if xmit_base else ("use_vmac",)
    timing = {"version": 3, "advert_int": 0.2, "extra": extra}
    r1 = routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(priority=150, **timing)))  # type: ignore[arg-type]
    routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, **timing)))  # type: ignore[arg-type]

    wait_master(lab, "r1")
    backup = VmacFrames(lab, lab.hosts["r2"].port, tmp_path / "backup.txt")
    master = VmacFrames(lab, lab.hosts["r1"].port, tmp_path / "master.txt")
    time.sleep(2.0)  # ten adverts from r1
    assert backup.stop() == []
    adverts = [line for line in master.stop() if "VRRPv3" in line]
    assert (len(adverts) == 0) if xmit_base else (len(adverts) >= 5)
    takeover = VmacFrames(lab, lab.hosts["r2"].port, tmp_path / "takeover.txt")
    lab.cut("r1")
    wait_master(lab, "r2")
    assert any("ARP" in line for line in takeover.stop())  # r2's gratuitous ARP
    lab.restore("r1")
    wait_master(lab, "r1")
    assert f"Sending gratuitous ARP on {VMAC} for {VIP}" in r1.log_text()  # keepalived's line


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
