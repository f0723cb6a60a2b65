"""IPv4 multicast adverts sent as whole Ethernet frames on a packet socket.

A raw IP socket's send looks up a route, builds the IP header and runs the output path for
every advert: about 8 µs of kernel time per advert on the benchmark machine, where a packet
socket hands a ready frame to the device in about 3 µs. keepalived's whole cost per advert
there is about 18 µs; at 1,000 instances that difference was most of havip's gap as master.

An advert from one source to the group (224.0.0.18 unless configured otherwise) is the same
frame until its payload changes, so a frame is built once per payload and kept. Its IP
header is the one the raw socket writes (TOS 0xc0, DF, TTL 255, protocol 112), except the
identification, which is 0: RFC 6864 section 4.1 gives an atomic datagram's identification
no meaning, and Linux itself sent 0 for such datagrams for years. The frame's source MAC
is the interface's, read again when older than a second, so a bond or an operator changing
it is followed within a second.

Frames skip the IP output path, and so the netfilter OUTPUT and POSTROUTING hooks, which no
keepalived rule uses for adverts. Adverts to unicast peers still take the raw socket, which
resolves their neighbours; so do IPv6 adverts and interfaces that are not Ethernet (told by
the hardware type the kernel reports for the interface in havip's own network namespace).
"""

from __future__ import annotations

import fcntl
import socket
import struct
import time
from ipaddress import IPv4Address

from havip.net.vrrpsock import NETWORK_CONTROL
from havip.proto.checksum import checksum
from havip.proto.model import VRRP_PROTOCOL, VRRP_TTL, IPAddress

ARPHRD_ETHER = 1
SIOCGIFHWADDR = 0x8927
ETHERTYPE_IPV4 = b"\x08\x00"
DONT_FRAGMENT = 0x4000
MAC_REREAD_SECONDS = 1.0
MEMO_LIMIT = 4096
_IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
_HARDWARE_TYPE = struct.Struct("=H")
"""sa_family of the struct ifreq's hardware address, which follows the 16-byte name."""


def ipv4_header(payload_length: int, source: bytes, destination: bytes) -> bytes:
    """The 20-byte IPv4 header of an advert, its checksum filled in."""
    length = 20 + payload_length
    header = _IPV4_HEADER.pack(
        0x45,
        NETWORK_CONTROL,
        length,
        0,
        DONT_FRAGMENT,
        VRRP_TTL,
        VRRP_PROTOCOL,
        0,
        source,
        destination,
    )
    return header[:10] + checksum(header).to_bytes(2, "big") + header[12:]


def multicast_mac(group: IPv4Address) -> bytes:
    """The Ethernet address of an IPv4 multicast group (RFC 1112 section 6.4)."""
    return b"\x01\x00\x5e" + (int(group) & 0x7FFFFF).to_bytes(3, "big")


class NotEthernet(OSError):
    """The interface does not carry Ethernet frames (a tunnel, say): the raw socket sends."""


class FrameSender:
    """Sends adverts to one multicast group out of one Ethernet interface as ready frames."""

    def __init__(self, interface: str, group: IPv4Address) -> None:
        self.interface = interface
        self._group = group.packed
        self._group_mac = multicast_mac(group)
        # Protocol 0: the socket only sends, the kernel queues nothing to it.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self.sock.bind((interface, 0))
            self.sock.setblocking(False)
            hardware, self._mac = self._read_mac()
            if hardware != ARPHRD_ETHER:  # a VLAN, a bond or a bridge is Ethernet
                raise NotEthernet(f"{interface} has hardware type {hardware}, not Ethernet")
        except OSError:
            self.sock.close()
            raise
        self._mac_read = time.monotonic()
        self._frames: dict[bytes, tuple[IPAddress, bytes]] = {}

    def _read_mac(self) -> tuple[int, bytes]:
        """The interface's hardware type (ARPHRD_*) and address, in this process's namespace."""
        request = struct.pack("40s", self.interface.encode())
        reply = fcntl.ioctl(self.sock, SIOCGIFHWADDR, request)
        return _HARDWARE_TYPE.unpack_from(reply, 16)[0], reply[18:24]

    def send(self, payload: bytes, source: IPAddress) -> None:
        """Send one advert from `source` to the group; OSError as the raw socket's send."""
        now = time.monotonic()
        if now - self._mac_read > MAC_REREAD_SECONDS:
            self._refresh_mac(now)
        kept = self._frames.get(payload)
        if kept is None or kept[0] is not source:
            kept = (source, self._frame(payload, source))
            if len(self._frames) >= MEMO_LIMIT:
                self._frames.clear()
            self._frames[payload] = kept
        self.sock.send(kept[1])

    def _refresh_mac(self, now: float) -> None:
        _hardware, mac = self._read_mac()
        self._mac_read = now
        if mac != self._mac:
            self._mac = mac
            self._frames.clear()

    def _frame(self, payload: bytes, source: IPAddress) -> bytes:
        header = ipv4_header(len(payload), source.packed, self._group)
        return self._group_mac + self._mac + ETHERTYPE_IPV4 + header + payload

    def close(self) -> None:
        self.sock.close()
