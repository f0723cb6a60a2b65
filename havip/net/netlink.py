"""Interfaces and virtual addresses through rtnetlink (pyroute2).

havip tags every address it adds with its own IFA_PROTO value, so after a crash it can tell
its leftover VIPs from addresses an operator configured by hand, and never removes the
latter; and it keeps a record of the VIPs it holds (havip.net.viprecord) for kernels that
ignore the tag and for VIPs no longer configured. IPv6 VIPs skip duplicate address detection
(as keepalived's do): the group, not DAD, decides who holds the address.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_address

from pyroute2 import IPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from havip.net.viprecord import RecordedVip, VipRecord

HAVIP_ADDRESS_PROTO = 0x76
"""IFA_PROTO value marking addresses havip added ('v'); kernels before 6.1 ignore it."""
ADDRESS_TAG: int | None = HAVIP_ADDRESS_PROTO
"""The tag put on added addresses. None sends none, which is what a kernel before 6.1 makes of
it: the tests that prove the VIP record works alone set it so."""

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
RTM_NEWADDR = 20
RTM_DELADDR = 21
NLMSG_ERROR = 2
ACK_TIMEOUT = 1.0
ACK_BUFFER = 8192
SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


@dataclass(frozen=True, slots=True)
class VipSpec:
    """One virtual address as netlink needs it."""

    interface: IPv4Interface | IPv6Interface
    device: str
    label: str | None = None
    scope: str | None = None
    broadcast: IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """What the agent needs to know about one interface right now."""

    index: int
    name: str
    up: bool
    mac: bytes
    ipv4: IPv4Address | None
    ipv6_link_local: IPv6Address | None


class Netlink:
    """A synchronous rtnetlink handle; each call is a sub-millisecond kernel round trip."""

    def __init__(self, record: VipRecord | None = None) -> None:
        self.ipr = IPRoute()
        self._writer = AddressWriter()
        self._owned: set[tuple[int, VipSpec]] = set()
        self._record = record
        self._record_pending = False

    def close(self) -> None:
        self.ipr.close()
        self._writer.close()

    def index(self, name: str) -> int | None:
        """The index of the interface called `name`, or None if it does not exist."""
        indexes = self.ipr.link_lookup(ifname=name)
        return indexes[0] if indexes else None

    def link(self, name: str) -> LinkInfo | None:
        """The interface called `name`, or None if it does not exist."""
        index = self.index(name)
        if index is None:
            return None
        links = self.ipr.get_links(index)
        if not links:
            return None
        message = links[0]
        flags = message["flags"]
        mac_text = message.get_attr("IFLA_ADDRESS") or "00:00:00:00:00:00"
        return LinkInfo(
            index=index,
            name=name,
            up=bool(flags & IFF_UP) and bool(flags & IFF_RUNNING),
            mac=bytes.fromhex(mac_text.replace(":", "")),
            ipv4=self._primary_ipv4(index),
            ipv6_link_local=self._link_local(index),
        )

    def _primary_ipv4(self, index: int) -> IPv4Address | None:
        for message in self.ipr.get_addr(index=index, family=2):
            if message["flags"] & 0x01:  # IFA_F_SECONDARY
                continue
            if message.get_attr("IFA_PROTO") == HAVIP_ADDRESS_PROTO:
                continue
            return IPv4Address(message.get_attr("IFA_ADDRESS"))
        return None

    def _link_local(self, index: int) -> IPv6Address | None:
        for message in self.ipr.get_addr(index=index, family=10):
            address = IPv6Address(message.get_attr("IFA_ADDRESS"))
            if address.is_link_local and not message["flags"] & IFA_F_TENTATIVE:
                return address
        return None

    def add(self, index: int, vips: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        """Add VIPs tagged as havip's; return (added, failures). Present ones count as added,
        but only the ones this process created are removed again by `release`."""
        added: list[str] = []
        failures: list[str] = []
        created = False
        for vip, error in self._writer.apply(RTM_NEWADDR, index, vips):
            if error == 0:
                self._owned.add((index, vip))
                created = True
            elif error != errno.EEXIST:
                failures.append(f"{vip.interface}: {os.strerror(error)}")
                continue
            added.append(str(vip.interface.ip))
        if created:  # written by save_record, once the takeover has announced its VIPs
            self._record_pending = True
        return added, failures

    def release(self, index: int, vips: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        """Remove the VIPs this process added; never an address someone else configured."""
        mine = [vip for vip in vips if (index, vip) in self._owned]
        self._owned.difference_update((index, vip) for vip in mine)
        result = self._delete(index, mine)
        if mine:
            self._record_pending = True
        return result

    def remove_recorded(self) -> tuple[list[str], list[str]]:
        """Remove every VIP the record says a previous havip held, configured now or not.

        Called once at start-up, before any instance adds a VIP. An address the kernel shows
        with another program's IFA_PROTO was re-added by someone else since, and stays.
        """
        if self._record is None:
            return [], []
        removed: list[str] = []
        failures: list[str] = []
        recorded = self._record.load()
        for device in dict.fromkeys(vip.device for vip in recorded):
            indexes = self.ipr.link_lookup(ifname=device)
            if not indexes:
                continue
            present = {
                ip_address(message.get_attr("IFA_ADDRESS")): message.get_attr("IFA_PROTO")
                for message in self.ipr.get_addr(index=indexes[0])
            }
            stale = [
                VipSpec(vip.interface, device)
                for vip in recorded
                if vip.device == device
                and vip.interface.ip in present
                and present[vip.interface.ip] in (None, HAVIP_ADDRESS_PROTO)
            ]
            done, failed = self._delete(indexes[0], stale)
            removed.extend(done)
            failures.extend(failed)
        self._save_record()
        return removed, failures

    def save_record(self) -> None:
        """Write the record if VIPs were added or removed since it was last written.

        Not done inside `add`: writing a file takes a millisecond or more, and a takeover's
        advert and gratuitous ARPs must not wait for it. A SIGKILL in between leaves the
        IFA_PROTO tag (kernels 6.1 on) as the safety net for that moment.
        """
        if self._record_pending:
            self._record_pending = False
            self._save_record()

    def _save_record(self) -> None:
        if self._record is not None:
            self._record.save(RecordedVip(vip.device, vip.interface) for _index, vip in self._owned)

    def remove_leftovers(self, index: int, vips: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        """Remove VIPs a previous havip left behind (they carry havip's tag)."""
        tagged = self.tagged(index)
        return self._delete(index, [vip for vip in vips if vip.interface.ip in tagged])

    def _delete(self, index: int, vips: Sequence[VipSpec]) -> tuple[list[str], list[str]]:
        removed: list[str] = []
        failures: list[str] = []
        for vip, error in self._writer.apply(RTM_DELADDR, index, vips):
            if error not in (0, errno.EADDRNOTAVAIL):
                failures.append(f"{vip.interface}: {os.strerror(error)}")
                continue
            removed.append(str(vip.interface.ip))
        return removed, failures

    def tagged(self, index: int) -> set[IPv4Address | IPv6Address]:
        """Addresses on the interface that carry havip's tag."""
        found: set[IPv4Address | IPv6Address] = set()
        for message in self.ipr.get_addr(index=index):
            if message.get_attr("IFA_PROTO") == HAVIP_ADDRESS_PROTO:
                found.add(ip_address(message.get_attr("IFA_ADDRESS")))
        return found


class AddressWriter:
    """Adds and removes addresses with pre-encoded rtnetlink requests on a plain socket.

    A takeover must install its VIPs in well under a millisecond. The kernel applies an
    address request while the sender is still in `send()`, so the cost is two system calls;
    pyroute2's message classes encode each request once and the bytes are cached, because a
    VIP's request never changes.
    """

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        self.sock.bind((0, 0))
        self.sock.settimeout(ACK_TIMEOUT)
        self._requests: dict[tuple[int, int, VipSpec], bytes] = {}

    def close(self) -> None:
        self.sock.close()

    def apply(self, kind: int, index: int, vips: Sequence[VipSpec]) -> list[tuple[VipSpec, int]]:
        """Send one request per VIP; return each with the kernel's errno (0: done)."""
        outcomes: list[tuple[VipSpec, int]] = []
        for vip in vips:
            request = self._requests.get((kind, index, vip))
            if request is None:
                request = self._requests[(kind, index, vip)] = encode_request(kind, index, vip)
            try:
                self.sock.send(request)
                error = _ack_error(self.sock.recv(ACK_BUFFER))
            except OSError as failure:
                error = failure.errno or errno.EIO
            outcomes.append((vip, error))
        return outcomes


def encode_request(kind: int, index: int, vip: VipSpec) -> bytes:
    """The RTM_NEWADDR / RTM_DELADDR message for one VIP, acknowledged by the kernel."""
    address = str(vip.interface.ip)
    message = ifaddrmsg()
    message["family"] = socket.AF_INET if vip.interface.version == 4 else socket.AF_INET6
    message["prefixlen"] = vip.interface.network.prefixlen
    message["flags"] = IFA_F_NODAD if vip.interface.version == 6 else 0
    message["scope"] = SCOPES.get(vip.scope or "global", 0)
    message["index"] = index
    attrs: list[tuple[str, object]] = [("IFA_ADDRESS", address)]
    if vip.interface.version == 4:
        attrs.append(("IFA_LOCAL", address))
    if kind == RTM_NEWADDR:
        if vip.label:
            attrs.append(("IFA_LABEL", vip.label))
        if vip.broadcast is not None:
            attrs.append(("IFA_BROADCAST", str(vip.broadcast)))
        if ADDRESS_TAG is not None:
            attrs.append(("IFA_PROTO", ADDRESS_TAG))
    message["attrs"] = attrs
    flags = NLM_F_REQUEST | NLM_F_ACK
    if kind == RTM_NEWADDR:
        flags |= NLM_F_CREATE | NLM_F_EXCL
    message["header"]["type"] = kind
    message["header"]["flags"] = flags
    message["header"]["sequence_number"] = 1
    message.encode()
    return bytes(message.data)


def _ack_error(reply: bytes) -> int:
    """The positive errno of an NLMSG_ERROR acknowledgement (0 for success)."""
    if len(reply) < 20:
        return errno.EPROTO
    kind = struct.unpack_from("=H", reply, 4)[0]
    if kind != NLMSG_ERROR:
        return errno.EPROTO
    error: int = struct.unpack_from("=i", reply, 16)[0]
    return -error
