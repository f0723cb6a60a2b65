"""One timer task for every VRRP instance: a heap of deadlines served in batches.

A trio task per instance would wake (and raise and catch a Cancelled) once per deadline;
with hundreds of instances advertising every second that is most of the agent's CPU. This
scheduler sleeps until the earliest deadline and then serves every deadline due within
`COALESCE` of it in the same wake, which is how keepalived's per-socket timer tree behaves.
Deadlines that move are not removed from the heap: stale entries are skipped when popped.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Generic, TypeVar

import trio

COALESCE = 0.0005
"""Deadlines this close to the earliest one fire in the same wake (0.5 ms: 5 % of the
smallest VRRPv3 interval, far below any skew)."""

Key = TypeVar("Key")


class TimerScheduler(Generic[Key]):
    """Calls `fire(key, now)` when a key's deadline comes, and `after_batch()` once after the
    keys one wake-up fired (a master's hundreds of adverts are carried out together, as a
    receive batch is); `set(key, deadline)` moves a key."""

    def __init__(
        self, fire: Callable[[Key, float], None], after_batch: Callable[[], None] = lambda: None
    ) -> None:
        self._fire = fire
        self._after_batch = after_batch
        self._deadlines: dict[Key, float] = {}
        self._heap: list[tuple[float, int, Key]] = []
        self._order = itertools.count()
        self._sleeping_until = math.inf
        self._wake: trio.CancelScope | None = None

    def set(self, key: Key, deadline: float | None) -> None:
        """Schedule `key` at `deadline` (None or inf: not at all), replacing any earlier one."""
        if deadline is None or deadline == math.inf:
            self._deadlines.pop(key, None)
            return
        if self._deadlines.get(key) == deadline:
            return
        self._deadlines[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._order), key))
        if deadline < self._sleeping_until and self._wake is not None:
            self._wake.cancel()

    def discard(self, key: Key) -> None:
        self._deadlines.pop(key, None)

    async def run(self) -> None:
        """Serve deadlines forever (run it in the agent's nursery)."""
        heap = self._heap
        while True:
            now = trio.current_time()
            horizon = now + COALESCE
            fired = False
            while heap and heap[0][0] <= horizon:
                deadline, _, key = heapq.heappop(heap)
                if self._deadlines.get(key) != deadline:
                    continue  # moved or cancelled since it was pushed
                del self._deadlines[key]
                self._fire(key, max(now, deadline))
                fired = True
            if fired:
                self._after_batch()
            while heap and self._deadlines.get(heap[0][2]) != heap[0][0]:
                heapq.heappop(heap)  # drop stale entries so the sleep target is a live one
            self._sleeping_until = heap[0][0] if heap else math.inf
            with trio.CancelScope() as scope:
                self._wake = scope
                await trio.sleep_until(self._sleeping_until)
            self._wake = None
            self._sleeping_until = math.inf
