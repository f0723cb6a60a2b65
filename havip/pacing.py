"""Spacing of gratuitous ARPs and unsolicited NAs on an interface (`vrrp_garp_interval`,
`vrrp_gna_interval`), as keepalived does it, as pure state with `now` as an argument.

Some switches and hosts drop a burst of gratuitous ARPs; these options put at least the
interval between two frames of one kind on one interface, whatever instance sends them.
keepalived's rules, kept here:
- a frame goes out at once if the interface's gap has passed, and then starts a new gap;
  otherwise the address joins the interface's queue, which sends one frame per gap in
  round-robin order (an address with more rounds to go goes back to the end of the queue);
- an address already queued is not queued twice: another announcement round (the second
  burst after `garp_master_delay`, a refresh) raises its pending count, but never above the
  round count of that announcement, so late bursts do not pile up;
- an instance that gives up its VIPs drops its queued frames.
Nothing here sleeps: the loop asks `deadline()` and calls `due(now)` when it comes, so
adverts and other timers are never delayed by the spacing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from havip.proto.model import IPAddress


@dataclass(frozen=True, slots=True)
class Frame:
    """One announcement frame: `address` on `device` with `mac`, for instance `owner`."""

    owner: str
    device: str
    mac: bytes
    address: IPAddress


class Pacer:
    """One interface and one kind (ARP or NA): at most one frame per `interval` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = -math.inf
        self._queue: deque[Frame] = deque()
        self._pending: dict[Frame, int] = {}

    def offer(self, frames: tuple[Frame, ...], rounds: int, now: float) -> list[Frame]:
        """`rounds` announcements of every frame; returns the ones to send at once."""
        sent: list[Frame] = []
        for _ in range(rounds):
            for frame in frames:
                pending = self._pending.get(frame)
                if pending is not None:
                    if pending < rounds:
                        self._pending[frame] = pending + 1
                elif now < self._next:
                    self._pending[frame] = 1
                    self._queue.append(frame)
                else:
                    sent.append(frame)
                    self._next = now + self.interval
        return sent

    def due(self, now: float) -> list[Frame]:
        """The queued frames whose turn has come by `now` (one per elapsed gap)."""
        sent: list[Frame] = []
        while self._queue and now >= self._next:
            frame = self._queue.popleft()
            sent.append(frame)
            self._next = now + self.interval
            left = self._pending[frame] - 1
            if left:
                self._pending[frame] = left
                self._queue.append(frame)
            else:
                del self._pending[frame]
        return sent

    def deadline(self) -> float | None:
        """When the next queued frame may go, or None when nothing waits."""
        return self._next if self._queue else None

    def forget(self, owner: str) -> None:
        """Drop the queued frames of instance `owner` (it released its VIPs)."""
        if any(frame.owner == owner for frame in self._queue):
            self._queue = deque(frame for frame in self._queue if frame.owner != owner)
            for frame in [f for f in self._pending if f.owner == owner]:
                del self._pending[frame]
