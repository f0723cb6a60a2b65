"""A memory-mapped receive ring for IPv4 VRRP: no system call per advert.

A backup at scale hears hundreds of adverts a second, almost all the same bytes again. On the
raw socket each one is a `recvmsg` call (the call, its ancillary data, the sender's address
formatted as text): about half of what a routine advert cost havip in all. A packet socket
with a TPACKET_V2 receive ring has the kernel write each packet, with its arrival time, into
memory shared with the process; the loop reads every waiting frame and hands it back by
clearing its status word. One wake-up reads a whole burst with no system call per packet.

A raw IP socket is handed only what the kernel's IP layer accepted; the ring sits below it,
so it applies the same tests itself:
- only IPv4 protocol 112 is queued (a classic BPF filter in the kernel), never the host's own
  outgoing packets (PACKET_IGNORE_OUTGOING; skipped here on a kernel without it), and never a
  frame for another host, which an interface in promiscuous mode would see;
- the IPv4 header checksum, which the IP layer verified, is verified here for every packet
  parsed. A repeat (the memo's hit: every byte but the IP identification, the TOS and the
  header checksum equal to a packet that passed) is not summed again: an error confined to
  those bytes leaves the advert the same, and its sender could as well have sent it right;
  summing it cost a tenth of the receive path;
- the kernel reassembles fragments for a raw socket, never for the ring: a fragment (which no
  VRRP sender makes) is rejected as a length error;
- what the kernel drops for want of a free frame is counted, not lost without trace: frames
  filled after a drop carry TP_STATUS_LOSING, and the kernel's count (PACKET_STATISTICS) is
  then reported as one `overflow` of that many packets.
The raw socket stays open beside the ring: adverts go out through it, and its multicast
membership (and the IGMP it implies) stays keepalived's; it queues nothing (a drop-all filter).
"""

from __future__ import annotations

import mmap
import socket
import struct
from collections.abc import Callable
from itertools import repeat

from havip.net.bpf import JEQ_K, LD_B_ABS, RET_K, Instruction, attach_filter
from havip.net.vrrpsock import AddressMemo, Datagram, DatagramMemo, ipv4_datagram
from havip.proto.model import VRRP_PROTOCOL, DecodeError, RejectReason

ETH_P_IP = 0x0800
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_VERSION = 10
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
PACKET_MR_MULTICAST = 0
TPACKET_V2 = 1
TP_STATUS_USER = 1
TP_STATUS_LOSING = 4
PACKET_OTHERHOST = 3
PACKET_OUTGOING = 4
VRRP_MAC = bytes.fromhex("01005e000012")

FRAME_SIZE = 2048
"""Bytes per frame: the frame header, the link address and the largest VRRP packet (an IPv4
advert with 255 addresses is 1,048 bytes) fit."""
FRAMES_PER_BLOCK = 32
FRAME_COUNT = 1024
"""Frames in the ring (2 MiB): more than a burst of 250 adverts on one interface, about what
the raw socket's 1 MiB receive buffer held."""

_FRAME_HEADER = struct.Struct("=IIIHHII")
"""struct tpacket2_hdr: status, len, snaplen, mac, net, sec, nsec (then VLAN fields)."""
_PACKET_TYPE_OFFSET = 32 + 10
"""sll_pkttype in the struct sockaddr_ll that follows the 32-byte frame header."""
_KERNEL_OWNS = struct.Struct("=I")
_STATISTICS = struct.Struct("=II")
"""struct tpacket_stats: packets and drops since the last read (reading resets both)."""
_PLAIN_HEADER_WORDS = struct.Struct("!10H")

IPV4_VRRP_FILTER: tuple[Instruction, ...] = (
    (LD_B_ABS, 0, 0, 9),  # A = IPv4 protocol (SOCK_DGRAM: offsets start at the IP header)
    (JEQ_K, 0, 1, VRRP_PROTOCOL),
    (RET_K, 0, 0, 0xFFFF),  # accept
    (RET_K, 0, 0, 0),  # drop
)


class VrrpRing:
    """The receiving half of an IPv4 VRRP endpoint on one interface: a packet socket's ring."""

    def __init__(self, interface: str, ifindex: int) -> None:
        self.interface = interface
        self._addresses = AddressMemo()
        self._parsed = DatagramMemo()
        self._index = 0
        self._skip_outgoing = False
        # Protocol 0 until bind: nothing is queued before the filter and the ring are set.
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        try:
            self.ring = self._configure(ifindex)
        except OSError:
            self.sock.close()
            raise

    def _configure(self, ifindex: int) -> mmap.mmap:
        sock = self.sock
        attach_filter(sock, IPV4_VRRP_FILTER)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        except OSError:  # before Linux 4.20: skipped frame by frame instead
            self._skip_outgoing = True
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
        block_size = FRAME_SIZE * FRAMES_PER_BLOCK
        request = struct.pack(
            "=IIII", block_size, FRAME_COUNT // FRAMES_PER_BLOCK, FRAME_SIZE, FRAME_COUNT
        )
        sock.setsockopt(SOL_PACKET, PACKET_RX_RING, request)
        ring = mmap.mmap(sock.fileno(), FRAME_SIZE * FRAME_COUNT)
        sock.bind((self.interface, ETH_P_IP))
        membership = struct.pack("iHH8s", ifindex, PACKET_MR_MULTICAST, len(VRRP_MAC), VRRP_MAC)
        sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
        return ring

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.ring.close()
        self.sock.close()

    def receive_batch(
        self, limit: int, clock_offset: float
    ) -> list[tuple[Datagram | DecodeError, float | None]]:
        """Up to `limit` waiting packets, each with its arrival time on the caller's clock
        (`clock_offset` is that clock minus the wall clock), as VrrpSocket.receive_batch
        gives them: the same bytes again come back as the same Datagram object, and a bad
        IPv4 header as the DecodeError to count."""
        received: list[tuple[Datagram | DecodeError, float | None]] = []
        add = received.append
        ring, index, known = self.ring, self._index, self._parsed
        unpack_header, release = _FRAME_HEADER.unpack_from, _KERNEL_OWNS.pack_into
        losing = 0
        for _ in repeat(None, limit):
            offset = index * FRAME_SIZE
            status, length, captured, _mac, network, seconds, nanoseconds = unpack_header(
                ring, offset
            )
            if not status & TP_STATUS_USER:
                break
            losing |= status & TP_STATUS_LOSING
            start = offset + network
            data = ring[start : start + captured]
            packet_type = ring[offset + _PACKET_TYPE_OFFSET]
            release(ring, offset, 0)
            index = index + 1 if index + 1 < FRAME_COUNT else 0
            if packet_type == PACKET_OTHERHOST or (
                packet_type == PACKET_OUTGOING and self._skip_outgoing
            ):
                continue
            at = seconds + nanoseconds * 1e-9 + clock_offset
            item: Datagram | DecodeError | None = known.get(data)
            if item is not None:  # a repeat: see below for why its header sum is not checked
                add((item, at))
                continue
            item = _checked_ipv4_datagram(data, length, self._addresses)
            if isinstance(item, Datagram):
                known.put(data, item)
            add((item, at))
        self._index = index
        if losing:
            self._count_drops(add)
        return received

    def _count_drops(self, add: Callable[[tuple[DecodeError, None]], None]) -> None:
        """The kernel marks frames filled after it dropped one for want of a free frame: read
        (and reset) its count, to report as one overflow of that many packets."""
        _packets, drops = _STATISTICS.unpack(
            self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATISTICS.size)
        )
        if drops:
            detail = f"{drops} packets lost: the receive ring was full"
            add((DecodeError(RejectReason.OVERFLOW, detail, drops), None))


def _header_sum_ok(data: bytes) -> bool:
    """Whether the IPv4 header checksum holds (the ones' complement sum of the header's
    16-bit words is all ones)."""
    header_length = (data[0] & 0x0F) * 4 if data else 0
    if len(data) < header_length or header_length < 20:
        return False
    words = _PLAIN_HEADER_WORDS if header_length == 20 else struct.Struct(f"!{header_length // 2}H")
    total: int = sum(words.unpack_from(data))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def _checked_ipv4_datagram(
    data: bytes, length: int, addresses: AddressMemo
) -> Datagram | DecodeError:
    """What the IP layer would have checked for a raw socket, then the raw socket's parse."""
    if length != len(data):
        return DecodeError(
            RejectReason.LENGTH, f"a {length}-byte packet was cut to {len(data)} bytes"
        )
    if len(data) >= 8 and (data[6] & 0x3F or data[7]):  # more fragments, or an offset
        return DecodeError(RejectReason.LENGTH, "an IPv4 fragment (VRRP is never fragmented)")
    if len(data) >= 20 and not _header_sum_ok(data):
        return DecodeError(RejectReason.CHECKSUM, "IPv4 header checksum does not match")
    return ipv4_datagram(data, addresses)
