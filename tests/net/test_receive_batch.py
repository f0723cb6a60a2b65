"""VrrpSocket.receive_batch against a fake socket: the OS edge, nothing else, is faked."""

from __future__ import annotations

import errno
import socket
import struct
from collections import deque
from ipaddress import IPv4Address

import pytest

from havip.net import system, vrrpsock
from havip.net.netlink import LinkInfo
from havip.net.ring import VrrpRing
from havip.net.vrrpsock import SO_TIMESTAMPNS, Datagram, VrrpSocket
from havip.proto.model import VRRP_MCAST_GROUP4, Family

SOURCE = IPv4Address("192.0.2.2")
PAYLOAD = bytes.fromhex("3133c80100640000")


def ipv4_packet(identification: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(PAYLOAD), identification, 0, 255, 112, 0,
        SOURCE.packed, VRRP_MCAST_GROUP4.packed,
    )  # fmt: skip
    return header + PAYLOAD


class FakeRawSocket:
    """The kernel side: accepts any option, hands over queued packets (or raises queued
    errors), then EAGAIN."""

    queued: deque[bytes | OSError] = deque()

    def __init__(self, *_args: object) -> None:
        self.queued = FakeRawSocket.queued

    def setsockopt(self, *_args: object) -> None:
        pass

    def setblocking(self, _flag: bool) -> None:
        pass

    def close(self) -> None:
        pass

    def recvmsg(self, _size: int, _ancillary: int) -> tuple[bytes, list[object], int, object]:
        if not self.queued:
            raise BlockingIOError(errno.EAGAIN, "empty")
        item = self.queued.popleft()
        if isinstance(item, OSError):
            raise item
        stamp = struct.pack("=qq", 1000, 500_000_000)
        return item, [(socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)], 0, ("192.0.2.2", 0)


def socket_with(monkeypatch: pytest.MonkeyPatch, *queued: bytes | OSError) -> VrrpSocket:
    FakeRawSocket.queued = deque(queued)
    monkeypatch.setattr(vrrpsock.socket, "socket", FakeRawSocket)
    return VrrpSocket("eth0", 2, Family.IPV4, VRRP_MCAST_GROUP4)


def test_a_batch_reads_up_to_its_limit_with_arrival_times_and_reuses_parsed_datagrams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sock = socket_with(monkeypatch, ipv4_packet(1), ipv4_packet(2), ipv4_packet(3))
    first = sock.receive_batch(2, clock_offset=-990.0)
    assert [at for _, at in first] == [pytest.approx(10.5), pytest.approx(10.5)]
    (one, _), (two, _) = first
    assert isinstance(one, Datagram) and one.source == SOURCE and one.payload == PAYLOAD
    assert two is one  # another IP identification, the same advert: the same object
    assert len(sock.receive_batch(8, 0.0)) == 1
    assert sock.receive_batch(8, 0.0) == []


def test_an_error_after_some_packets_is_raised_only_once_they_are_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failure = OSError(errno.ENETDOWN, "Network is down")
    sock = socket_with(monkeypatch, ipv4_packet(1), failure, ipv4_packet(2))
    assert len(sock.receive_batch(8, 0.0)) == 1
    with pytest.raises(OSError) as raised:
        sock.receive_batch(8, 0.0)
    assert raised.value is failure
    assert len(sock.receive_batch(8, 0.0)) == 1


async def test_where_the_kernel_refuses_the_ring_the_raw_socket_receives(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A sandbox that refuses PACKET_RX_RING (and packet sockets) costs a system call per
    advert, not the adverts."""

    def refused(*_args: object) -> VrrpRing:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    FakeRawSocket.queued = deque([ipv4_packet(1)])
    monkeypatch.setattr(vrrpsock.socket, "socket", FakeRawSocket)
    monkeypatch.setattr(system, "VrrpRing", refused)
    monkeypatch.setattr(system, "FrameSender", refused)
    link = LinkInfo(2, "eth0", True, bytes(6), None, None)
    endpoint = system.open_endpoint(link, Family.IPV4, VRRP_MCAST_GROUP4)
    try:
        [(datagram, _)] = endpoint.receive_batch(8)
        assert isinstance(datagram, Datagram) and datagram.source == SOURCE
        assert "no receive ring on eth0" in caplog.text
        assert "no packet socket on eth0" in caplog.text
    finally:
        endpoint.close()
