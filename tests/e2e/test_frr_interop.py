"""havip and FRR's vrrpd (Debian package frr, with zebra) in one VRRP group, both directions.

FRR runs as its operator would set it up: a macvlan per family carrying the virtual MAC, in
bridge mode on eth0, with the virtual address on it; vrrpd holds a backup's macvlan in
protodown. Each case elects the higher priority, fails over when the master's link is cut and
preempts back when it returns. A backup must count the master's adverts as valid (havip's
adverts_received_total, vrrpd's adverRx), and at every step the client must reach the virtual
address at the master's MAC (FRR's virtual MAC, havip's eth0).

FRR 8.4's vrrpd ignores its link going down (FRRouting/frr#10364): cut off, it stays Master,
and when the link returns it simply goes on advertising. havip yields to it at once, but FRR
sends no gratuitous ARP or neighbour advertisement on that path, so the client's entry still
names havip's MAC until its own reachability check gives up and asks again (about 8 s with
Linux's defaults); the preemption step allows for that. With `use_vmac` on havip the two
share the virtual MAC and the client needs no relearning at all (the last test).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from ipaddress import ip_interface

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.frr import FrrRouter, FrrSpec, add_vrrp_macvlans, virtual_mac
from havip.lab.netns import Host, Lab, LabError
from havip.lab.processes import Router, wait_for

from .conftest import Routers, client_reaches
from .metrics import metric_value

CLIENT_RELEARNS = 15.0
"""Seconds for a client whose neighbour entry is stale to find the master by itself: Linux
waits delay_first_probe_time (5 s), probes 3 times a second apart, then asks everyone."""


@dataclass(frozen=True)
class Case:
    version: int
    advert_int: float
    family: int

    @property
    def addresses(self) -> tuple[str, str, str]:
        if self.family == 6:
            return ("2001:db8::1/64", "2001:db8::2/64", "2001:db8::50/64")
        return ("192.0.2.1/24", "192.0.2.2/24", "192.0.2.50/24")

    @property
    def vip(self) -> str:
        return "2001:db8::100/64" if self.family == 6 else "192.0.2.100/24"


CASES = [
    pytest.param(Case(3, 1.0, 4), id="v3-ipv4-1s"),
    pytest.param(Case(3, 0.1, 4), id="v3-ipv4-100ms"),
    pytest.param(Case(3, 1.0, 6), id="v3-ipv6-1s"),
    pytest.param(Case(2, 1.0, 4), id="v2-ipv4-1s"),
]


class Group:
    """One havip and one FRR router; who is master, seen from each kernel and the client."""

    def __init__(
        self, lab: Lab, case: Case, havip: Router, frr: FrrRouter, havip_vmac: str | None = None
    ) -> None:
        self.lab = lab
        self.case = case
        self.havip = havip
        self.frr = frr
        self.havip_vmac = havip_vmac
        self.vip = str(ip_interface(case.vip).ip)

    def masters(self, names: list[str]) -> list[str]:
        return [name for name in names if self.is_master(name)]

    def is_master(self, name: str) -> bool:
        if name == self.frr.host.name:
            return self.frr.is_master(self.case.family)
        interface = self.havip_vmac or "eth0"
        shown = self.lab.hosts[name].exec("ip", "-o", "addr", "show", "dev", interface, check=False)
        return f" {self.vip}/" in shown.stdout

    def mac_of(self, name: str) -> str:
        """The MAC a client should reach the virtual address at when `name` is master."""
        if name == self.frr.host.name or self.havip_vmac is not None:
            return virtual_mac(self.frr.spec.vrid, self.case.family)
        return link_mac(self.lab.hosts[name])

    def client_mac(self) -> str | None:
        out = self.lab.hosts["client"].exec("ip", "-j", "neigh", "show", self.vip).stdout
        entries = json.loads(out or "[]")
        return entries[0].get("lladdr") if entries else None

    def adverts_heard(self, name: str) -> float:
        """Valid adverts `name` has received, by its own count."""
        if name == self.frr.host.name:
            stats = self.frr.show()[f"v{self.case.family}"]["stats"]
            return float(stats["adverRx"])
        labels = {"vrrp_instance": "VI_1"}
        return metric_value(self.havip.metrics(), "havip_vrrp_adverts_received_total", labels)

    def wait_master(self, expected: str, names: list[str], client_timeout: float = 10) -> None:
        wait_for(
            lambda: self.masters(names) == [expected],
            15,
            f"{expected} alone to be master of {self.vip} (now {self.masters(names)})",
        )
        wait_for(
            lambda: (
                client_reaches(self.lab, "client", self.vip)
                and self.client_mac() == self.mac_of(expected)
            ),
            client_timeout,
            f"the client to reach {self.vip} at {expected}'s {self.mac_of(expected)}"
            f" (its neighbour entry says {self.client_mac()})",
        )

    def wait_backup_hears(self, backup: str) -> None:
        """The backup accepts the master's adverts: the two implementations understand each
        other, rather than merely agreeing by chance."""
        start = self.adverts_heard(backup)
        wait_for(
            lambda: self.adverts_heard(backup) >= start + 2,
            10 * self.case.advert_int + 5,
            f"{backup} to count the master's adverts as valid",
        )


def serving_metrics(router: Router) -> bool:
    try:
        router.metrics()
    except LabError:  # not listening yet
        return False
    return True


def link_mac(host: Host, interface: str = "eth0") -> str:
    out = host.exec("ip", "-j", "link", "show", "dev", interface).stdout
    address: str = json.loads(out)[0]["address"]
    return address


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("master_kind", ["havip", "frr"])
def test_frr_group_elects_fails_over_and_preempts(
    lab: Lab, routers: Routers, frr_daemons: None, case: Case, master_kind: str
) -> None:
    for name, address in zip(("r1", "r2", "client"), case.addresses, strict=True):
        lab.add_host(name, address)
    if case.family == 6:
        lab.wait_link_local()
    priorities = {"r1": 150, "r2": 100}
    frr_name, havip_name = ("r1", "r2") if master_kind == "frr" else ("r2", "r1")
    timing = {"version": case.version, "advert_int": case.advert_int, "vips": (case.vip,)}
    frr_spec = FrrSpec(priority=priorities[frr_name], **timing)  # type: ignore[arg-type]
    add_vrrp_macvlans(lab.hosts[frr_name], frr_spec)
    havip_spec = RouterSpec(priority=priorities[havip_name], vrid=frr_spec.vrid, **timing)  # type: ignore[arg-type]
    havip = routers.havip(lab.hosts[havip_name], keepalived_conf(havip_spec))
    wait_for(lambda: serving_metrics(havip), 15, "havip to serve /metrics", interval=0.1)
    group = Group(lab, case, havip, routers.frr(lab.hosts[frr_name], frr_spec))

    group.wait_master("r1", ["r1", "r2"])  # election: the higher priority wins
    group.wait_backup_hears("r2")
    lab.cut("r1")
    group.wait_master("r2", ["r2"])  # failover: r1's link is gone
    lab.restore("r1")
    # preemption: r1 is back and outranks r2 (see the module docstring for FRR as r1)
    group.wait_master("r1", ["r1", "r2"], CLIENT_RELEARNS if master_kind == "frr" else 10)
    group.wait_backup_hears("r2")


@pytest.mark.parametrize("family", [4, 6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("master_kind", ["havip", "frr"])
def test_havip_with_use_vmac_shares_frrs_virtual_mac(
    lab: Lab, routers: Routers, frr_daemons: None, family: int, master_kind: str
) -> None:
    """havip with `use_vmac` and FRR: both answer for the VIP with the virtual MAC
    (00:00:5e:00:01:33, or 00:00:5e:00:02:33 over IPv6), so the client's neighbour entry stays
    right throughout (FRR coming back as master sends no gratuitous ARP or neighbour
    advertisement, see the module docstring, and the client still reaches it at once), and
    the backup counts the master's adverts, sent from its macvlan, as valid."""
    case = Case(3, 0.1, family)
    for name, address in zip(("r1", "r2", "client"), case.addresses, strict=True):
        lab.add_host(name, address)
    if family == 6:
        lab.wait_link_local()
    frr_name, havip_name = ("r1", "r2") if master_kind == "frr" else ("r2", "r1")
    priorities = {"r1": 150, "r2": 100}
    timing = {"version": 3, "advert_int": 0.1, "vips": (case.vip,)}
    frr_spec = FrrSpec(priority=priorities[frr_name], **timing)  # type: ignore[arg-type]
    add_vrrp_macvlans(lab.hosts[frr_name], frr_spec)
    havip_spec = RouterSpec(priority=priorities[havip_name], extra=("use_vmac",), **timing)  # type: ignore[arg-type]
    havip = routers.havip(lab.hosts[havip_name], keepalived_conf(havip_spec))
    wait_for(lambda: serving_metrics(havip), 15, "havip to serve /metrics", interval=0.1)
    group = Group(lab, case, havip, routers.frr(lab.hosts[frr_name], frr_spec), "vrrp.51")

    group.wait_master("r1", ["r1", "r2"])
    group.wait_backup_hears("r2")
    lab.cut("r1")
    group.wait_master("r2", ["r2"], client_timeout=3)
    lab.restore("r1")
    group.wait_master("r1", ["r1", "r2"], client_timeout=3)
    group.wait_backup_hears("r2")
