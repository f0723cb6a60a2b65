"""VMAC interfaces (keepalived's `use_vmac`): a macvlan carrying the VRRP virtual MAC.

With a VMAC, the VIPs live on a macvlan whose MAC is 00:00:5e:00:01:VRID, so every router of
the group answers for them with the same MAC and a client's neighbour entry survives a
failover unchanged. The master's adverts go out of the VMAC (so switches keep learning the
virtual MAC on its port), or out of the base interface with `vmac_xmit_base`; either way
havip listens on the base interface only. keepalived listens on the VMAC, which joins
224.0.0.18 there, and the IGMP report a backup then sends from the virtual MAC teaches the
switches that the master's MAC is on the backup's port (keepalived#1957). So:
- the macvlan is in bridge mode (keepalived uses private mode, where it listens on the VMAC):
  an advert another router sends from the same virtual MAC then still reaches the base
  interface instead of being taken for this router's own VMAC's (FRR does the same);
- nothing listens on the VMAC, and IPv6 is off on an IPv4 instance's VMAC (no link-local
  address, so no neighbour discovery or MLD frame ever leaves a backup with the virtual MAC);
- the VMAC answers ARP only for addresses on itself (arp_ignore=1), and it holds VIPs only
  while master, so a backup never answers with the virtual MAC; accept_local=1 and
  rp_filter=0 let it take in packets from its own addresses (the address owner), and
  promote_secondaries=1 keeps its other VIPs when one is removed (all three as keepalived);
- on the base interface, arp_ignore=1 stops it answering ARP for the VIPs with its own MAC,
  and arp_announce=2 stops it asking with a VIP as sender (replies from a VIP leave through
  it); both are put back as they were when havip stops.
For an IPv6 instance (virtual MAC 00:00:5e:00:02:VRID) the VMAC has IPv6 on but no address
of its own: the address generation mode is `none`, so the kernel gives it no link-local
address, runs no duplicate address detection and sends no router solicitation or MLD report
from it; a backup's VMAC stays silent. The master's VIPs go on it (without DAD, as every VIP),
so the kernel answers neighbour solicitations for them with the virtual MAC and no other
interface does (Linux answers an NS only for an address on the interface it came in on); the
MLD reports those VIPs would send from the virtual MAC are dropped (havip.net.mldfilter). The
adverts keep the base interface's link-local source, as keepalived's do (it copies that
address onto its VMAC; havip's send-only socket may use it without: havip.net.vrrpsock), so a
peer sees the same source from the VMAC and from the base. The base interface's ARP settings
are left alone: no IPv4 address moves off it.
The interfaces havip created (or adopted from a previous run) are deleted when it stops.
"""

from __future__ import annotations

import logging
from ipaddress import IPv6Address
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from havip.net.mldfilter import MldFilter
from havip.net.sysctl import PROC_NET, InterfaceSettings
from havip.proto.model import Family

log = logging.getLogger("havip")

VMAC_SETTINGS: dict[Family, dict[str, str]] = {
    Family.IPV4: {
        "arp_ignore": "1",
        "accept_local": "1",
        "rp_filter": "0",
        "promote_secondaries": "1",
    },
    Family.IPV6: {"arp_ignore": "1"},
}
ADDR_GEN_MODE_NONE = "1"
"""net.ipv6.conf.IF.addr_gen_mode: no link-local address is generated for the interface."""
BASE_SETTINGS = {"arp_ignore": "1", "arp_announce": "2"}
SOLICITED_NODE_PREFIX = int(IPv6Address("ff02::1:ff00:0"))


def solicited_node_group(address: IPv6Address) -> IPv6Address:
    """RFC 4291 2.7.1: ff02::1:ffXX:XXXX, where a neighbour solicitation for `address` goes."""
    return IPv6Address(SOLICITED_NODE_PREFIX | int(address) & 0xFFFFFF)


def virtual_mac(vrid: int, family: int = 4) -> bytes:
    """RFC 5798 section 7.3: 00-00-5E-00-01-{VRID} (IPv4), 00-00-5E-00-02-{VRID} (IPv6)."""
    return bytes([0, 0, 0x5E, 0, 1 if family == 4 else 2, vrid])


def _mac_text(mac: bytes) -> str:
    return ":".join(f"{octet:02x}" for octet in mac)


class Vmacs:
    """Creates VMAC interfaces on demand and removes them (and the base settings) on close."""

    def __init__(self, base_settings: InterfaceSettings, proc_net: Path = PROC_NET) -> None:
        """`base_settings` changes the base interfaces (its owner restores them)."""
        self._ipr: IPRoute | None = None
        self._proc_net = proc_net
        self._created: dict[str, int] = {}
        self._base_settings = base_settings
        self._mld = MldFilter()

    def _route(self) -> IPRoute:
        if self._ipr is None:
            self._ipr = IPRoute()
        return self._ipr

    def create(
        self, base_index: int, base_name: str, name: str, mac: bytes, family: Family
    ) -> None:
        """Make `name` a VMAC for `family` on the base interface and bring it up; OSError if
        it cannot.

        An existing macvlan of that name on the same base with the same MAC (left by a
        previous run) is adopted; any other interface of that name is an error."""
        ipr = self._route()
        existing = ipr.link_lookup(ifname=name)
        try:
            if existing:
                self._check_adoptable(existing[0], base_index, name, mac)
                index = existing[0]
            else:
                ipr.link(
                    "add",
                    ifname=name,
                    kind="macvlan",
                    link=base_index,
                    macvlan_mode="bridge",
                    address=_mac_text(mac),
                )
                index = ipr.link_lookup(ifname=name)[0]
            self._created[name] = index
            ipv6 = self._proc_net / "ipv6" / "conf" / name
            self._write(ipv6 / "disable_ipv6", "1")  # also drops an adopted VMAC's addresses
            if family == Family.IPV6:
                self._silence_mld(name)
                self._write(ipv6 / "addr_gen_mode", ADDR_GEN_MODE_NONE)
                self._write(ipv6 / "disable_ipv6", "0")
            for setting, value in VMAC_SETTINGS[family].items():
                self._write(self._proc_net / "ipv4" / "conf" / name / setting, value)
            if family == Family.IPV4:
                for setting, value in BASE_SETTINGS.items():
                    self._base_settings.set("ipv4", base_name, setting, value)
            ipr.link("set", index=index, state="up")
        except NetlinkError as error:
            raise OSError(error.code, f"VMAC {name} on {base_name}: {error}") from error

    def _silence_mld(self, name: str) -> None:
        """No MLD out of an IPv6 VMAC (havip.net.mldfilter), before it can send any."""
        try:
            self._mld.add(name)
        except ImportError as error:  # the binding or libnftables1 is missing
            raise OSError(f"VMAC {name}: libnftables is not available: {error}") from error

    def _check_adoptable(self, index: int, base_index: int, name: str, mac: bytes) -> None:
        link = self._route().get_links(index)[0]
        info = link.get_attr("IFLA_LINKINFO")
        kind = info.get_attr("IFLA_INFO_KIND") if info is not None else None
        if (
            kind != "macvlan"
            or link.get_attr("IFLA_LINK") != base_index
            or link.get_attr("IFLA_ADDRESS") != _mac_text(mac)
        ):
            raise OSError(f"{name} exists and is not a VMAC {_mac_text(mac)} on the interface")

    def _write(self, path: Path, value: str) -> None:
        path.write_text(value)

    def close(self) -> None:
        """Delete the VMACs; failures are logged."""
        for name, index in self._created.items():
            try:
                self._route().link("del", index=index)
            except NetlinkError as error:
                log.error("cannot remove VMAC interface %s: %s", name, error)
        self._created.clear()
        try:
            self._mld.close()
        except OSError as error:
            log.error("cannot remove the nftables table %s: %s", "havip_vmac", error)
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
