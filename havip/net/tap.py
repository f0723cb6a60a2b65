"""A receive-only capture of every VRRP packet an interface sees, with its source MAC.

`havip monitor` needs what a raw IP socket cannot give: the sender's MAC address, packets of
both families on one socket, and unicast VRRP addressed to other hosts where the interface
sees it (a mirror port, a hub, promiscuous mode). So it reads below the IP layer, from a
packet socket (AF_PACKET, SOCK_DGRAM: the kernel strips the link header and reports the
source MAC), with a classic BPF filter in the kernel that passes only IPv4 protocol 112 and
IPv6 next header 112, so the rest of the interface's traffic never wakes the process. It joins
the VRRP multicast groups at the link layer (01:00:5e:00:00:12, 33:33:00:00:00:12), which makes
a real NIC's multicast filter pass them. It never sends: there is no send method.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from havip.monitor.segment import Captured
from havip.net.bpf import JA, JEQ_K, LD_B_ABS, RET_K, RSH_K, Instruction, attach_filter
from havip.net.vrrpsock import AddressMemo
from havip.proto.model import DecodeError
from havip.proto.packet import parse_ipv4, parse_ipv6

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_MULTICAST = 0
PACKET_OUTGOING = 4
RECEIVE_BUFFER = 4096
VRRP_MACS = (bytes.fromhex("01005e000012"), bytes.fromhex("333300000012"))

# Classic BPF over the network header (SOCK_DGRAM): accept IPv4 with protocol 112 and IPv6
# with next header 112, drop everything else.
VRRP_FILTER: tuple[Instruction, ...] = (
    (LD_B_ABS, 0, 0, 0),  # 0: A = first byte
    (RSH_K, 0, 0, 4),  # 1: A = IP version
    (JEQ_K, 0, 2, 4),  # 2: IPv4 ? 3 : 5
    (LD_B_ABS, 0, 0, 9),  # 3: A = IPv4 protocol
    (JA, 0, 0, 2),  # 4: goto 7
    (JEQ_K, 0, 3, 6),  # 5: IPv6 ? 6 : drop
    (LD_B_ABS, 0, 0, 6),  # 6: A = IPv6 next header
    (JEQ_K, 0, 1, 112),  # 7: VRRP ? accept : drop
    (RET_K, 0, 0, 0xFFFF),  # 8: accept
    (RET_K, 0, 0, 0),  # 9: drop
)


@dataclass(frozen=True, slots=True)
class Unparsable:
    """A captured packet whose IP header could not be trusted, as the error to count."""

    interface: str
    error: DecodeError


class VrrpTap:
    """A non-blocking packet socket on one interface that yields captured VRRP packets."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self._addresses = AddressMemo()  # the agent's: a speaker's address is built once
        # Protocol 0 until bind: nothing is queued before the filter is in place.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        try:
            attach_filter(self.sock, VRRP_FILTER)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.sock.bind((interface, ETH_P_ALL))
            index = socket.if_nametoindex(interface)
            for mac in VRRP_MACS:
                mreq = struct.pack("iHH8s", index, PACKET_MR_MULTICAST, len(mac), mac)
                self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def receive_one(self) -> Captured | Unparsable | None:
        """One captured packet; None for one to skip (our own outgoing); BlockingIOError when
        none is waiting. A bad IP header comes back as `Unparsable`, never raised."""
        data, address = self.sock.recvfrom(RECEIVE_BUFFER)
        _name, protocol, packet_type, _hatype, mac = address
        if packet_type == PACKET_OUTGOING:
            return None
        try:
            if protocol == ETH_P_IP:
                header4, payload = parse_ipv4(data, self._addresses)
                return Captured(
                    self.interface,
                    payload,
                    header4.source,
                    header4.destination,
                    header4.ttl,
                    mac,
                )
            if protocol == ETH_P_IPV6:
                header6, payload = parse_ipv6(data)
                return Captured(
                    self.interface,
                    payload,
                    header6.source,
                    header6.destination,
                    header6.ttl,
                    mac,
                )
        except DecodeError as error:
            return Unparsable(self.interface, error)
        return None
