"""The monitor's trio loop: captures into the pure `Segment`, one re-armed expiry timer.

One receive task per interface handles at most RECEIVE_BATCH packets per wake, each stamped
with its own time, so a flood on one interface cannot hold the loop. The expiry timer sleeps
until the segment's next deadline (never more often than MIN_EXPIRE_GAP, so many groups cost
a bounded number of wake-ups), drains every capture socket first so that no advert that has
arrived is judged missing, then lets the segment expire speakers. The loop never sends.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import trio

from havip.monitor.segment import Captured, Failover, Handoff, Segment, SegmentEvent
from havip.net.tap import Unparsable, VrrpTap

log = logging.getLogger("havip.monitor")

RECEIVE_BATCH = 16
MIN_EXPIRE_GAP = 0.05
"""Seconds between two expiry passes at least: bounds the timer's wake-ups per second."""
RECEIVE_RETRY = 0.001


class Tap(Protocol):
    """A capture socket: `VrrpTap` in production, a fake in tests."""

    interface: str

    def fileno(self) -> int: ...

    def receive_one(self) -> Captured | Unparsable | None:
        """One packet, None for one to skip; BlockingIOError when none is waiting."""

    def close(self) -> None: ...


OnEvents = Callable[[list[SegmentEvent]], None]


class Monitor:
    """Feeds every packet the taps capture into `segment` and keeps its timers."""

    def __init__(
        self,
        segment: Segment,
        interfaces: Sequence[str],
        on_events: OnEvents,
        open_tap: Callable[[str], Tap] = VrrpTap,
    ) -> None:
        self.segment = segment
        self.interfaces = tuple(interfaces)
        self.wall_offset = time.time() - trio.current_time()  # so: built inside trio.run
        self._on_events = on_events
        self._open_tap = open_tap
        self._taps: list[Tap] = []
        self.running = False
        """True while every tap is open and the loop serves them (/healthz)."""
        self._timer = trio.CancelScope()
        self._earliest_expiry = 0.0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Capture until cancelled; an interface that cannot be opened raises OSError."""
        try:
            for interface in self.interfaces:
                self._taps.append(self._open_tap(interface))
            async with trio.open_nursery() as nursery:
                for tap in self._taps:
                    nursery.start_soon(self._receive, tap)
                self.running = True
                task_status.started()
                await self._expire_forever()
        finally:
            self.running = False
            for tap in self._taps:
                tap.close()

    async def _receive(self, tap: Tap) -> None:
        while True:
            await trio.lowlevel.wait_readable(tap)
            try:
                self._drain(tap)
            except OSError as error:
                log.warning("capture on %s failed: %s", tap.interface, error)
                await trio.sleep(RECEIVE_RETRY)
            self._timer.deadline = min(self._timer.deadline, self._next_expiry())

    def _drain(self, tap: Tap) -> None:
        """Handle up to RECEIVE_BATCH waiting packets of one tap, each with its own time."""
        for _ in range(RECEIVE_BATCH):
            try:
                item = tap.receive_one()
            except (BlockingIOError, InterruptedError):
                return
            if isinstance(item, Captured):
                self._report(self.segment.receive(item, trio.current_time()))
            elif isinstance(item, Unparsable):
                self.segment.reject(item.interface, item.error)

    def _next_expiry(self) -> float:
        return max(self.segment.next_deadline(), self._earliest_expiry)

    async def _expire_forever(self) -> None:
        while True:
            with trio.CancelScope(deadline=self._next_expiry()) as self._timer:
                await trio.sleep_forever()
            for tap in self._taps:
                with contextlib.suppress(OSError):  # the receive task reports it
                    self._drain(tap)
            now = trio.current_time()
            self._earliest_expiry = now + MIN_EXPIRE_GAP
            self._report(self.segment.expire(now))

    def _report(self, events: list[SegmentEvent]) -> None:
        for event in events:
            _log(event)
        self._on_events(events)


def _log(event: SegmentEvent) -> None:
    if isinstance(event, Failover):
        interface, family, vrid = event.key
        how = "released with priority 0" if event.old.released else "fell silent"
        log.info(
            "VRRP group %s %s VRID %d: master %s -> %s after %.3f s (the old master %s)",
            interface,
            family.label,
            vrid,
            event.old.address,
            event.new_address,
            event.duration,
            how,
        )
    elif isinstance(event, Handoff):
        interface, family, vrid = event.key
        log.info(
            "VRRP group %s %s VRID %d: master %s sent priority 0",
            interface,
            family.label,
            vrid,
            event.address,
        )
    else:
        log.warning("%s table full on %s: evicted one entry", event.kind.value, event.interface)
