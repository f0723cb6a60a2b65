"""The receive ring's reading of frames, against a fake kernel: a socket that accepts any
option and a bytearray for the shared memory, with frames laid out as TPACKET_V2 lays them."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address
from typing import SupportsIndex

import pytest

from havip.net import ring as ring_module
from havip.net.ring import FRAME_COUNT, FRAME_SIZE, PACKET_OTHERHOST, VrrpRing
from havip.net.vrrpsock import Datagram
from havip.proto.model import VRRP_MCAST_GROUP4, DecodeError, RejectReason

SOURCE = IPv4Address("192.0.2.2")
PAYLOAD = bytes.fromhex("3133c80100640000")
NETWORK_OFFSET = 80
PACKET_MULTICAST = 2


def checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_packet(identification: int, *, fragment: int = 0, corrupt: bool = False) -> bytes:
    fields = [0x45, 0xC0, 20 + len(PAYLOAD), identification, fragment, 255, 112, 0]
    header = struct.pack("!BBHHHBBH4s4s", *fields, SOURCE.packed, VRRP_MCAST_GROUP4.packed)
    good = checksum(header) ^ (1 if corrupt else 0)
    return header[:10] + struct.pack("!H", good) + header[12:] + PAYLOAD


class SharedMemory(bytearray):
    """The ring's mmap: slices come back as bytes, as an mmap's do."""

    def __getitem__(self, key: SupportsIndex | slice) -> int | bytes:  # type: ignore[override]
        got = super().__getitem__(key)
        return bytes(got) if isinstance(key, slice) else got

    def close(self) -> None:
        pass


class FakePacketSocket:
    drops = 0
    """What the kernel's PACKET_STATISTICS reports next (reading resets it)."""

    def __init__(self, *_args: object) -> None:
        self.options: list[tuple[int, int]] = []

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        assert (level, option, size) == (263, 6, 8)  # SOL_PACKET, PACKET_STATISTICS
        drops, FakePacketSocket.drops = FakePacketSocket.drops, 0
        return struct.pack("=II", 0, drops)

    def setsockopt(self, level: int, option: int, _value: object) -> None:
        self.options.append((level, option))

    def bind(self, _address: object) -> None:
        pass

    def setblocking(self, _flag: bool) -> None:
        pass

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> SharedMemory:
    memory = SharedMemory(FRAME_SIZE * FRAME_COUNT)
    monkeypatch.setattr(FakePacketSocket, "drops", 0)
    monkeypatch.setattr(ring_module.socket, "socket", FakePacketSocket)
    monkeypatch.setattr(ring_module.mmap, "mmap", lambda *_args: memory)
    return memory


def put_frame(
    memory: SharedMemory,
    index: int,
    packet: bytes,
    *,
    at: float = 1000.25,
    packet_type: int = PACKET_MULTICAST,
    captured: int | None = None,
    losing: bool = False,
) -> None:
    """What the kernel does for a packet: the frame's fields and data, status last (with
    TP_STATUS_LOSING when it has dropped packets since its statistics were last read)."""
    offset = index * FRAME_SIZE
    snaplen = len(packet) if captured is None else captured
    seconds, fraction = divmod(at, 1)
    header = struct.pack(
        "=IIIHHII", 0, len(packet), snaplen, 64, NETWORK_OFFSET, int(seconds), round(fraction * 1e9)
    )
    memory[offset : offset + len(header)] = header
    memory[offset + 42] = packet_type
    memory[offset + NETWORK_OFFSET : offset + NETWORK_OFFSET + snaplen] = packet[:snaplen]
    struct.pack_into("=I", memory, offset, 1 | (4 if losing else 0))  # TP_STATUS_USER


def status(memory: SharedMemory, index: int) -> int:
    return struct.unpack_from("=I", memory, index * FRAME_SIZE)[0]  # type: ignore[no-any-return]


def test_waiting_frames_are_read_in_order_with_arrival_times_and_handed_back(
    shared: SharedMemory,
) -> None:
    ring = VrrpRing("eth0", 2)
    for index in range(3):
        put_frame(shared, index, ipv4_packet(index), at=1000.25 + index)
    first = ring.receive_batch(2, clock_offset=-990.0)
    assert [at for _, at in first] == [pytest.approx(10.25), pytest.approx(11.25)]
    (one, _), (two, _) = first
    assert isinstance(one, Datagram) and one.source == SOURCE and one.payload == PAYLOAD
    assert two is one  # another identification, the same advert: the same object
    assert status(shared, 0) == status(shared, 1) == 0  # handed back to the kernel
    assert status(shared, 2) == 1  # past the limit: still waiting
    assert len(ring.receive_batch(8, 0.0)) == 1
    assert ring.receive_batch(8, 0.0) == []


def test_the_ring_wraps_around_to_its_first_frame(shared: SharedMemory) -> None:
    ring = VrrpRing("eth0", 2)
    for round_ in range(3):
        for index in range(FRAME_COUNT // 2):
            put_frame(shared, (round_ * FRAME_COUNT // 2 + index) % FRAME_COUNT, ipv4_packet(1))
        assert len(ring.receive_batch(FRAME_COUNT, 0.0)) == FRAME_COUNT // 2


def test_what_the_ip_layer_would_have_dropped_is_dropped_and_counted(
    shared: SharedMemory,
) -> None:
    ring = VrrpRing("eth0", 2)
    put_frame(shared, 0, ipv4_packet(1), packet_type=PACKET_OTHERHOST)  # for another host
    put_frame(shared, 1, ipv4_packet(2, corrupt=True))
    put_frame(shared, 2, ipv4_packet(3, fragment=0x2000))  # more fragments follow
    put_frame(shared, 3, ipv4_packet(4), captured=24)  # cut short
    put_frame(shared, 4, ipv4_packet(5))
    received = ring.receive_batch(8, 0.0)
    errors = [item for item, _ in received if isinstance(item, DecodeError)]
    assert [error.reason for error in errors] == [
        RejectReason.CHECKSUM,
        RejectReason.LENGTH,
        RejectReason.LENGTH,
    ]
    assert isinstance(received[-1][0], Datagram)
    assert len(received) == 4  # the other host's frame was skipped, not counted


def test_packets_the_kernel_dropped_for_a_full_ring_are_counted_as_one_overflow(
    shared: SharedMemory,
) -> None:
    ring = VrrpRing("eth0", 2)
    put_frame(shared, 0, ipv4_packet(1))
    FakePacketSocket.drops = 37
    put_frame(shared, 1, ipv4_packet(2), losing=True)
    got = ring.receive_batch(8, 0.0)
    assert [type(item) for item, _ in got] == [Datagram, Datagram, DecodeError]
    overflow, at = got[2]
    assert isinstance(overflow, DecodeError) and at is None
    assert (overflow.reason, overflow.count) == (RejectReason.OVERFLOW, 37)
    put_frame(shared, 2, ipv4_packet(3))  # no longer losing: the statistics are not read
    FakePacketSocket.drops = 5
    assert [type(item) for item, _ in ring.receive_batch(8, 0.0)] == [Datagram]
