"""FRR's vrrpd (with zebra) as a lab peer: the second open VRRP implementation havip meets.

FRR does not create the interfaces VRRP needs: its operator adds one macvlan per address family
carrying the virtual MAC, in bridge mode on the router's interface, with the virtual addresses on
it; vrrpd then holds a backup's macvlan in protodown. `add_vrrp_macvlans` does what that operator
would. Both daemons run inside the lab host's namespace with their configuration, pid files,
vty sockets and zserv socket under the router's own directory, so nothing of the machine's own
/etc/frr or /var/run/frr is read or touched.
"""

from __future__ import annotations

import grp
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

from havip.lab.netns import Host, LabError
from havip.lab.processes import Router, wait_for

FRR_DAEMONS = Path("/usr/lib/frr")
VTYSH = Path("/usr/bin/vtysh")
VTY_GROUP = "frrvty"
"""Debian builds FRR with this vty group; a daemon exits unless its group list holds it."""


def frr_unavailable_reason() -> str | None:
    """Why FRR's zebra and vrrpd cannot run here, or None when they can."""
    for program in (FRR_DAEMONS / "zebra", FRR_DAEMONS / "vrrpd", VTYSH):
        if not os.access(program, os.X_OK):
            return f"{program} is missing: run scripts/setup (Debian package frr)"
    try:
        grp.getgrnam(VTY_GROUP)
    except KeyError:
        return f"group {VTY_GROUP} is missing (the frr package creates it)"
    return None


@dataclass(frozen=True)
class FrrSpec:
    """One FRR virtual router on one interface, in the units of keepalived.conf (seconds)."""

    priority: int
    vips: Sequence[str] = ("192.0.2.100/24",)
    vrid: int = 51
    version: int = 3
    advert_int: float = 1.0
    interface: str = "eth0"


def families(spec: FrrSpec) -> list[int]:
    """The IP versions among the spec's virtual addresses, in order of first use."""
    found: list[int] = []
    for vip in spec.vips:
        version = ip_interface(vip).version
        if version not in found:
            found.append(version)
    return found


def virtual_mac(vrid: int, family: int) -> str:
    """RFC 5798 section 7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6."""
    return f"00:00:5e:00:{1 if family == 4 else 2:02x}:{vrid:02x}"


def macvlan_name(spec: FrrSpec, family: int) -> str:
    return f"vrrp{family}-{spec.vrid}"


def add_vrrp_macvlans(host: Host, spec: FrrSpec) -> None:
    """The interfaces an FRR operator adds before vrrpd can run (FRR's "System Configuration").

    A random address generation mode, because vrrpd sends IPv6 adverts from the macvlan's
    link-local address, which must differ between routers that share the virtual MAC. The mode
    is set after creation: this machine's iproute2 cannot pass it with `ip link add`.
    `arp_ignore=1` keeps the base interface from answering ARP for a virtual address that sits
    on the macvlan, and `arp_announce=2` keeps it from asking with one as the sender (replies
    from the virtual address leave through the base interface): otherwise a client would learn
    the base interface's MAC for the virtual address instead of the virtual MAC.
    """
    for setting in ("arp_ignore=1", "arp_announce=2"):
        host.exec("sysctl", "-q", "-w", f"net.ipv4.conf.{spec.interface}.{setting}")
    for family in families(spec):
        name = macvlan_name(spec, family)
        link = ("ip", "link")
        host.exec(*link, "add", name, "link", spec.interface, "type", "macvlan", "mode", "bridge")
        host.exec(*link, "set", "dev", name, "addrgenmode", "random")
        host.exec(*link, "set", "dev", name, "address", virtual_mac(spec.vrid, family))
        for vip in spec.vips:
            if ip_interface(vip).version == family:
                host.exec("ip", "addr", "add", vip, "dev", name)
        host.exec(*link, "set", "dev", name, "up")


def vrrpd_conf(spec: FrrSpec) -> str:
    """vrrpd.conf for the spec; FRR takes the advertisement interval in milliseconds."""
    vrid = spec.vrid
    lines = [
        "debug vrrp protocol",
        "debug vrrp zebra",
        f"interface {spec.interface}",
        f" vrrp {vrid} version {spec.version}",
        f" vrrp {vrid} priority {spec.priority}",
        f" vrrp {vrid} advertisement-interval {round(spec.advert_int * 1000)}",
    ]
    for vip in spec.vips:
        address = ip_interface(vip)
        keyword = "ip" if address.version == 4 else "ipv6"
        lines.append(f" vrrp {vrid} {keyword} {address.ip}")
    return "\n".join(lines) + "\n"


@dataclass
class FrrRouter:
    """A running vrrpd and its zebra, and how to ask both it and the kernel who is master."""

    host: Host
    spec: FrrSpec
    workdir: Path
    daemons: list[Router]

    def show(self) -> dict[str, Any]:
        """vrrpd's own view (`show vrrp json`) of the spec's virtual router, via vtysh and the
        router's own vty sockets."""
        command = f"show vrrp interface {self.spec.interface} {self.spec.vrid} json"
        out = self.host.exec(
            str(VTYSH),
            *("--vty_socket", str(self.workdir), "--config_dir", str(self.workdir)),
            *("-d", "vrrpd", "-c", command),
        ).stdout
        routers: list[dict[str, Any]] = json.loads(out)
        return routers[0]

    def state(self, family: int) -> str:
        status: str = self.show()[f"v{family}"]["status"]
        return status

    def is_master(self, family: int) -> bool:
        """Master to vrrpd, and its macvlan up and out of protodown in the kernel: vrrpd only
        asks zebra for the protodown change, and before vrrpd starts the macvlan is up."""
        out = self.host.exec("ip", "-j", "link", "show", "dev", macvlan_name(self.spec, family))
        link = json.loads(out.stdout)[0]
        up = not link.get("proto_down", False) and link.get("operstate") == "UP"
        return up and self.state(family) == "Master"


def start_frr(host: Host, spec: FrrSpec, workdir: Path) -> FrrRouter:
    """zebra, then vrrpd once zebra's socket is up; the macvlans must already exist.

    The daemons are listed vrrpd first: stopping them in that order lets vrrpd leave the group
    (priority 0) while zebra can still carry out its protodown request.
    """
    reason = frr_unavailable_reason()
    if reason is not None:
        raise LabError(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "vtysh.conf").write_text("")
    zserv = workdir / "zserv.api"
    common = [
        # root keeps the capabilities vrrpd needs; VTY_GROUP satisfies FRR's vty group check
        *("-u", "root", "-g", VTY_GROUP),
        *("--vty_socket", str(workdir), "-z", str(zserv), "-P", "0"),
        *("--log", "stdout", "--log-level", "debug"),
    ]
    zebra = _start_daemon(host, "zebra", f"hostname {host.name}\n", workdir, common)
    _wait_for_socket(zebra, zserv)
    vrrpd = _start_daemon(host, "vrrpd", vrrpd_conf(spec), workdir, common)
    _wait_for_socket(vrrpd, workdir / "vrrpd.vty")
    return FrrRouter(host, spec, workdir, [vrrpd, zebra])


def _wait_for_socket(daemon: Router, path: Path) -> None:
    """Until the daemon listens on `path`; its log in the error if it exits first."""
    wait_for(
        lambda: path.exists() or daemon.process.poll() is not None,
        10,
        f"{daemon.kind} to listen on {path}",
    )
    if daemon.process.poll() is not None:
        raise LabError(f"{daemon.kind} exited: {daemon.log_text()}")


def _start_daemon(
    host: Host, daemon: str, config: str, workdir: Path, common: Sequence[str]
) -> Router:
    directory = workdir / daemon
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{daemon}.conf").write_text(config)
    with (directory / "log").open("ab") as log:
        process = host.popen(
            [
                str(FRR_DAEMONS / daemon),
                *common,
                *("-f", str(directory / f"{daemon}.conf")),
                *("-i", str(directory / f"{daemon}.pid")),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Router(daemon, host, directory, process)
