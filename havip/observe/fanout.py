"""One Observer that forwards to several, so a buggy subscriber can never break the agent.

The agent calls its observer on the receive and timer paths; an exception escaping there would
stop VRRP itself. The fan-out catches every exception of every observer, counts it and logs it
with its traceback, the first time and then at each power of two (so a subscriber failing on
every advert writes a few dozen lines a day, not one per advert), and goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from havip.observe.tracing import TracingObserver
from havip.observer import Observer, Report


def _tracing_first(observers: Sequence[Observer]) -> list[Observer]:
    """Tracing first, the rest in the given order: a stable order (trace ids travel in reports)."""
    return sorted(observers, key=lambda observer: not isinstance(observer, TracingObserver))


class FanoutObserver:
    """Calls each observer in turn; tracing observers first, the rest in the given order."""

    def __init__(self, observers: Sequence[Observer], logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("havip.observe")
        self.observers: tuple[Observer, ...] = tuple(_tracing_first(observers))
        self._calls = [(type(o).__name__, o.observe) for o in self.observers]
        self._tracer = next((o for o in self.observers if isinstance(o, TracingObserver)), None)
        self._failures: dict[tuple[str, str], int] = {}

    @property
    def failures(self) -> Mapping[tuple[str, str], int]:
        """Exceptions caught so far, by (observer class, report type)."""
        return self._failures

    def observe(self, report: Report) -> None:
        if self._tracer is not None:
            try:
                report = self._tracer.stamp(report)
            except Exception:
                self._failed("TracingObserver.stamp", type(report).__name__)
        for observer_name, observe in self._calls:
            try:
                observe(report)
            except Exception:
                self._failed(observer_name, type(report).__name__)

    def _failed(self, observer_name: str, report_name: str) -> None:
        """Count the exception being handled; log it when the count is 1, 2, 4, 8..."""
        key = (observer_name, report_name)
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        if count & (count - 1) == 0:
            self._log.exception(
                "observer %s raised on %s (%d time%s so far); the agent carries on",
                observer_name,
                report_name,
                count,
                "" if count == 1 else "s",
            )
