"""Python's garbage collection on the agent loop's own time, in wake-ups it has anyway.

Automatic collection runs when allocations pass a threshold, which may be in the middle of a
takeover: a generation-1 collection takes 1 to 1.5 ms, most of the 2 ms a takeover may cost.
So it is off while the agent runs, and the loop collects right after carrying out a batch of
effects (the takeover's work is done by then), at most once a second: generation 0 each time,
1 every 10th time, 2 every 100th (Python's own 1:10:10 ratios). Reference counting still frees
everything else at once.

Collecting in a wake-up of its own cost more than the collection: a wake-up of the Python
loop costs about 0.3 ms of CPU on a busy two-core machine, whatever it then does, so a
one-second collection task was a third of an idle backup's CPU. A loop with no inputs at all
still collects, from a fallback task every FALLBACK seconds.
"""

from __future__ import annotations

import gc
import math

import trio

INTERVAL = 1.0
"""Seconds between collections, at least."""
FALLBACK = 10.0
"""Seconds between the fallback task's wake-ups, for a loop that has no other."""


class LoopCollector:
    """Collects when a batch of the loop's work ends and a second has passed since the last."""

    def __init__(self) -> None:
        self.collections = 0
        self._due = -math.inf

    def after_batch(self, now: float) -> None:
        """A batch of effects was carried out at `now`: collect if one is due."""
        if now < self._due:
            return
        self.collections += 1
        count = self.collections
        gc.collect(2 if count % 100 == 0 else 1 if count % 10 == 0 else 0)
        self._due = now + INTERVAL

    async def fallback(self) -> None:
        """Collect every FALLBACK seconds at the latest, for a loop that has no inputs."""
        while True:
            await trio.sleep(FALLBACK)
            self.after_batch(trio.current_time())
