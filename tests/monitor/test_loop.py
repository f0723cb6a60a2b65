"""The monitor's real trio loop, driven with fake capture sockets under trio's MockClock.

The fakes stand at the OS edge only: the loop, the segment and the expiry timer are the
production ones, and virtual time moves while the test sleeps.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address

import trio
import trio.testing

from havip.monitor.loop import Monitor
from havip.monitor.segment import Captured, Failover, Segment, SegmentEvent
from havip.net.tap import Unparsable
from havip.proto.model import DecodeError, Family, RejectReason
from tests.monitor.test_segment import packet

A = IPv4Address("192.0.2.1")
B = IPv4Address("192.0.2.2")
KEY = ("eth0", Family.IPV4, 51)


class FakeTap:
    """A capture socket whose packets the test puts on the wire; readable through a socketpair."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self.queue: deque[Captured | Unparsable] = deque()
        self.closed = False

    def put(self, item: Captured | Unparsable) -> None:
        self.queue.append(item)
        self._writer.send(b"x")

    def fileno(self) -> int:
        return self._reader.fileno()

    def receive_one(self) -> Captured | Unparsable | None:
        self._reader.recv(1)  # BlockingIOError when nothing was put
        return self.queue.popleft()

    def close(self) -> None:
        self.closed = True
        self._reader.close()
        self._writer.close()


Scenario = Callable[[FakeTap, Segment], Awaitable[None]]


def run_monitor(scenario: Scenario) -> tuple[Segment, list[SegmentEvent], FakeTap]:
    taps: dict[str, FakeTap] = {}
    events: list[SegmentEvent] = []
    segment = Segment(("eth0",))

    def open_tap(interface: str) -> FakeTap:
        taps[interface] = FakeTap(interface)
        return taps[interface]

    async def main() -> None:
        monitor = Monitor(segment, ["eth0"], events.extend, open_tap)
        async with trio.open_nursery() as nursery:
            await nursery.start(monitor.run)
            assert monitor.running
            await scenario(taps["eth0"], segment)
            nursery.cancel_scope.cancel()
        assert not monitor.running

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return segment, events, taps["eth0"]


def test_loop_stamps_packets_expires_the_master_and_reports_the_failover() -> None:
    async def scenario(tap: FakeTap, _segment: Segment) -> None:
        for _ in range(5):
            tap.put(packet(A, 150))
            await trio.sleep(1.0)
        await trio.sleep(10.0)  # A is gone: the timer must declare the group silent
        tap.put(packet(B, 100))
        await trio.sleep(0.5)

    segment, events, tap = run_monitor(scenario)
    failovers = [e for e in events if isinstance(e, Failover)]
    assert len(failovers) == 1
    assert failovers[0].old.address == A and failovers[0].new_address == B
    assert 10.9 <= failovers[0].duration <= 11.1  # 4 s of adverts, 1 s, then 10 s of silence
    group = segment.groups[KEY]
    assert group.master is not None and group.master.address == B
    assert tap.closed


def test_loop_declares_silence_without_any_further_packet() -> None:
    async def scenario(tap: FakeTap, segment: Segment) -> None:
        tap.put(packet(A, 150))
        await trio.sleep(3.0)
        assert not segment.groups[KEY].silent
        await trio.sleep(1.0)

    segment, _events, _tap = run_monitor(scenario)
    assert segment.groups[KEY].silent


def test_loop_counts_packets_with_a_bad_ip_header() -> None:
    async def scenario(tap: FakeTap, _segment: Segment) -> None:
        tap.put(Unparsable("eth0", DecodeError(RejectReason.LENGTH, "short")))
        await trio.sleep(0.1)

    segment, _events, _tap = run_monitor(scenario)
    assert segment.malformed["eth0"][RejectReason.LENGTH] == 1
