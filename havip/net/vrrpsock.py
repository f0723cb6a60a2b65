"""Raw IP protocol 112 sockets: one per interface and address family, shared by its instances.

Sent packets carry TTL / hop limit 255, DSCP CS6 (TOS / traffic class 0xc0, "network control",
as keepalived and FRR mark adverts, so a QoS-aware switch does not drop them first under
congestion) and the configured source address (IP_PKTINFO / IPV6_PKTINFO, so the socket need
not be bound to an address and still hears multicast).
Received packets come back as (payload, source, destination, ttl) so the caller can apply
RFC 3768/5798 section 7.1 checks, with the kernel's arrival time (SO_TIMESTAMPNS), so a
packet read a little later still moves a deadline from when it arrived; the socket is bound
to its device so an instance never hears another interface's group.

A backup hears the same few adverts over and over, so an IPv4 socket keeps the datagrams it
parsed by their bytes and hands the same object back for the same bytes: parsing (and the
caller's comparison, by identity) is then skipped for all but the first.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from itertools import repeat

from havip.net.bpf import DROP_ALL, attach_filter
from havip.proto.model import (
    VRRP_PROTOCOL,
    VRRP_TTL,
    DecodeError,
    Family,
    IPAddress,
    RejectReason,
)
from havip.proto.packet import parse_ipv4

RECEIVE_BUFFER = 4096
IP_PKTINFO = 8  # <linux/in.h>; the socket module does not export it on every build
NETWORK_CONTROL = 0xC0  # DSCP CS6 in the TOS / traffic class byte (RFC 4594)
SO_TIMESTAMPNS = 35  # <asm-generic/socket.h>, also SCM_TIMESTAMPNS; not in the socket module
IPV6_FREEBIND = 78  # <linux/in6.h> (Linux 4.15); not in the socket module
SO_RXQ_OVFL = 40  # <asm-generic/socket.h>: packets the socket dropped, so far, on each packet
_DROPS = struct.Struct("=I")
_TIMESPEC = struct.Struct("=qq")
_TIMESPEC_SIZE = _TIMESPEC.size
_unpack_timespec = _TIMESPEC.unpack_from
_SOL_SOCKET = socket.SOL_SOCKET
_IPV4_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_DROPS.size)
_IPV6_ANCILLARY = socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20) + _IPV4_ANCILLARY
_IPV4_USUAL_MESSAGES = 1  # the arrival time; more only once the socket has dropped packets
_IPV6_USUAL_MESSAGES = 3  # the hop limit, the destination and the arrival time


@dataclass(frozen=True, slots=True)
class Datagram:
    """One received VRRP packet, before decoding."""

    payload: bytes
    source: IPAddress
    destination: IPAddress
    ttl: int


class VrrpSocket:
    """A non-blocking raw VRRP socket on one interface for one family (4 or 6)."""

    def __init__(
        self, interface: str, ifindex: int, family: Family, group: IPAddress, listen: bool = True
    ) -> None:
        """`listen=False`: a socket only to send from (a VMAC's), which joins no multicast
        group, so the kernel sends no IGMP/MLD report from that interface. An IPv6 one may
        send from an address of another interface: an IPv6 VMAC has no address of its own and
        its adverts carry the base interface's link-local source (havip.net.vmac)."""
        self.listen = listen
        self.interface = interface
        self.ifindex = ifindex
        self.family = family
        self.group = group
        self._ancillary: dict[IPAddress, list[tuple[int, int, bytes]]] = {}
        self._joined: dict[IPv6Address, int] = {}
        self._addresses = AddressMemo()
        self._socket_addresses: dict[IPAddress, tuple[str, int] | tuple[str, int, int, int]] = {}
        self._parsed = DatagramMemo()
        self._deferred_error: OSError | None = None
        self._drops_counted = 0
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        self.sock = socket.socket(af, socket.SOCK_RAW, VRRP_PROTOCOL)
        try:
            self._configure()
        except OSError:
            self.sock.close()
            raise

    def _configure(self) -> None:
        sock = self.sock
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.interface.encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
        if self.family == 4:
            mreqn = struct.pack("=4s4si", self.group.packed, bytes(4), self.ifindex)
            if self.listen:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, VRRP_TTL)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, NETWORK_CONTROL)
        else:
            mreq = struct.pack("=16sI", self.group.packed, self.ifindex)
            if self.listen:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, VRRP_TTL)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, NETWORK_CONTROL)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            if not self.listen:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
        sock.setblocking(False)

    def discard_received(self) -> None:
        """Queue nothing from now on: another socket reads the adverts (havip.net.ring), this
        one stays to send them and to keep the group membership."""
        attach_filter(self.sock, DROP_ALL)

    def join(self, group: IPv6Address) -> None:
        """Be a listener of `group` on this interface, for as many callers as ask (the first
        one joins): the kernel reports it with MLD from this interface. OSError."""
        if not self._joined.get(group):
            mreq = struct.pack("=16sI", group.packed, self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self._joined[group] = self._joined.get(group, 0) + 1

    def leave(self, group: IPv6Address) -> None:
        """One caller fewer for `group`; the last one leaves it. OSError."""
        count = self._joined.pop(group, 0) - 1
        if count > 0:
            self._joined[group] = count
        elif count == 0:
            mreq = struct.pack("=16sI", group.packed, self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def send(self, payload: bytes, source: IPAddress, destination: IPAddress) -> None:
        """Send one advert from `source`; a full buffer or a vanished route is an OSError."""
        ancillary = self._ancillary.get(source)
        if ancillary is None:
            ancillary = self._ancillary[source] = [self._pktinfo(source)]
        address = self._socket_addresses.get(destination)
        if address is None:
            text = str(destination)
            address = (text, 0) if self.family == 4 else (text, 0, 0, self.ifindex)
            self._socket_addresses[destination] = address
        self.sock.sendmsg([payload], ancillary, 0, address)

    def _pktinfo(self, source: IPAddress) -> tuple[int, int, bytes]:
        """The control message that picks the source address and outgoing interface."""
        if self.family == 4:
            info = struct.pack("=i4s4s", self.ifindex, source.packed, bytes(4))
            return (socket.IPPROTO_IP, IP_PKTINFO, info)
        info = source.packed + struct.pack("=I", self.ifindex)
        return (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)

    def receive_batch(
        self, limit: int, clock_offset: float
    ) -> list[tuple[Datagram | DecodeError, float | None]]:
        """Up to `limit` waiting packets, each with when it arrived; fewer once none waits.

        One call reads a whole batch, so the per-packet cost is the system call and the memo
        lookup, not a chain of method calls. `clock_offset` is the caller's clock minus the
        wall clock: it puts the kernel's arrival time on the caller's clock (None if the
        kernel gave none). A malformed IPv4 header comes back as the DecodeError to count,
        never raised, so one bad packet cannot end the receive loop.
        """
        if self._deferred_error is not None:
            error, self._deferred_error = self._deferred_error, None
            raise error
        received: list[tuple[Datagram | DecodeError, float | None]] = []
        add = received.append
        recvmsg = self.sock.recvmsg
        try:
            if self.family == 4:
                known = self._parsed
                for _ in repeat(None, limit):
                    data, ancillary, _flags, _address = recvmsg(RECEIVE_BUFFER, _IPV4_ANCILLARY)
                    if len(ancillary) > _IPV4_USUAL_MESSAGES:
                        self._count_drops(ancillary, add)
                    item: Datagram | DecodeError | None = known.get(data)
                    if item is None:
                        item = ipv4_datagram(data, self._addresses)
                        if isinstance(item, Datagram):
                            known.put(data, item)
                    add((item, _arrival(ancillary, clock_offset)))
            else:
                for _ in repeat(None, limit):
                    data, ancillary, _flags, address = recvmsg(RECEIVE_BUFFER, _IPV6_ANCILLARY)
                    if len(ancillary) > _IPV6_USUAL_MESSAGES:
                        self._count_drops(ancillary, add)
                    datagram = _ipv6_datagram(data, ancillary, address)
                    add((datagram, _arrival(ancillary, clock_offset)))
        except (BlockingIOError, InterruptedError):  # EAGAIN is BlockingIOError in Python
            pass
        except OSError as error:
            if not received:
                raise
            self._deferred_error = error  # the packets read before it are handled first
        return received

    def _count_drops(
        self,
        ancillary: list[tuple[int, int, bytes]],
        add: Callable[[tuple[DecodeError, None]], None],
    ) -> None:
        """A full receive buffer made the kernel drop packets: each packet queued after that
        carries the socket's running count of them; report what it added as one overflow."""
        for level, kind, value in ancillary:
            if kind == SO_RXQ_OVFL and level == _SOL_SOCKET and len(value) >= _DROPS.size:
                (total,) = _DROPS.unpack_from(value)
                drops = (total - self._drops_counted) & 0xFFFFFFFF
                self._drops_counted = total
                if drops:
                    detail = f"{drops} packets lost: the socket's receive buffer was full"
                    add((DecodeError(RejectReason.OVERFLOW, detail, drops), None))


def _arrival(ancillary: list[tuple[int, int, bytes]], clock_offset: float) -> float | None:
    for level, kind, value in ancillary:
        if kind == SO_TIMESTAMPNS and level == _SOL_SOCKET and len(value) >= _TIMESPEC_SIZE:
            seconds, nanoseconds = _unpack_timespec(value)
            return float(seconds + nanoseconds * 1e-9 + clock_offset)
    return None


class AddressMemo:
    """IPv4Address objects by their integer value, so that a routine advert re-uses its
    sender's and its group's instead of building two (the costliest step of parsing it).
    Bounded: forged sources only make it forget, never grow."""

    def __init__(self, bound: int = 1024) -> None:
        self._known: dict[int, IPv4Address] = {}
        self._bound = bound

    def __call__(self, value: int) -> IPv4Address:
        found = self._known.get(value)
        if found is None:
            if len(self._known) >= self._bound:
                self._known.clear()
            found = self._known[value] = IPv4Address(value)
        return found


class DatagramMemo:
    """Parsed IPv4 datagrams by their bytes, without the two header fields that change from
    one packet to the next (identification and header checksum). Only plain 20-byte headers
    whose total length is the packet's are kept: for those the key decides the whole parse.
    Bounded like AddressMemo."""

    def __init__(self, bound: int = 512) -> None:
        self._known: dict[bytes, Datagram] = {}
        self._bound = bound

    @staticmethod
    def _key(data: bytes) -> bytes | None:
        """Flags, fragment offset, TTL, protocol, addresses and payload: everything the parse
        reads, for a plain 20-byte header whose total length is the packet's."""
        if len(data) < 20 or data[0] != 0x45 or (data[2] << 8 | data[3]) != len(data):
            return None
        return data[6:10] + data[12:]

    def get(self, data: bytes) -> Datagram | None:
        key = self._key(data)
        return None if key is None else self._known.get(key)

    def put(self, data: bytes, datagram: Datagram) -> None:
        key = self._key(data)
        if key is not None:
            if len(self._known) >= self._bound:
                self._known.clear()
            self._known[key] = datagram


def ipv4_datagram(data: bytes, addresses: AddressMemo) -> Datagram | DecodeError:
    """The datagram an IPv4 packet carries, or why its header cannot be trusted."""
    try:
        header, payload = parse_ipv4(data, addresses)
    except DecodeError as error:
        return error
    return Datagram(payload, header.source, header.destination, header.ttl)


def _ipv6_datagram(
    data: bytes,
    ancillary: list[tuple[int, int, bytes]],
    address: tuple[str, int, int, int],
) -> Datagram:
    hop_limit = -1
    destination: IPAddress = IPv6Address(0)
    for level, kind, value in ancillary:
        if level != socket.IPPROTO_IPV6:
            continue
        if kind == socket.IPV6_HOPLIMIT and len(value) >= 4:
            hop_limit = struct.unpack("=i", value[:4])[0]
        elif kind == socket.IPV6_PKTINFO and len(value) >= 16:
            destination = IPv6Address(value[:16])
    source = ip_address(address[0].split("%", 1)[0])
    return Datagram(data, source, destination, hop_limit)
