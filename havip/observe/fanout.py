"""One Observer that forwards to several, so a buggy subscriber can never break the agent.

The agent calls its observer on the receive and timer paths; an exception escaping there would
stop VRRP itself. The fan-out catches every exception of every observer, counts it and logs it
with its traceback, the first time and then at each power of two (so a subscriber failing on
every advert writes a few dozen lines a day, not one per advert), and goes on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from havip.notify.runner import NotifyRun
from havip.observe.tracing import TracingObserver
from havip.observer import AnnouncementKind, InstanceRuntime, Observer, VipOp
from havip.proto.events import Output, StateChanged
from havip.proto.model import IPAddress, RejectReason

_METHODS = (
    "started",
    "outputs",
    "packet_dropped",
    "vips_changed",
    "announced",
    "took_over",
    "instances_changed",
    "notified",
)


def _tracing_first(observers: Sequence[Observer]) -> list[Observer]:
    """Tracing runs first: metrics and logs read the span it has just opened (stable order)."""
    return sorted(observers, key=lambda observer: not isinstance(observer, TracingObserver))


class FanoutObserver:
    """Calls each observer in turn; tracing observers first, the rest in the given order."""

    def __init__(self, observers: Sequence[Observer], logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("havip.observe")
        self.observers: tuple[Observer, ...] = tuple(_tracing_first(observers))
        self._failures: dict[tuple[str, str], int] = {}
        self._calls: dict[str, list[tuple[str, Callable[..., None]]]] = {
            method: [(type(o).__name__, getattr(o, method)) for o in self.observers]
            for method in _METHODS
        }

    @property
    def failures(self) -> Mapping[tuple[str, str], int]:
        """Exceptions caught so far, by (observer class, method)."""
        return self._failures

    # --- Observer -----------------------------------------------------------------------------

    def started(self, instances: Sequence[InstanceRuntime], wall_offset: float) -> None:
        self._forward("started", instances, wall_offset)

    def outputs(self, runtime: InstanceRuntime, outputs: Sequence[Output], now: float) -> None:
        for observer_name, call in self._calls["outputs"]:
            try:
                call(runtime, outputs, now)
            except Exception:
                self._failed(observer_name, "outputs")

    def packet_dropped(
        self,
        interface: str,
        reason: RejectReason,
        source: IPAddress | None,
        runtime: InstanceRuntime | None,
        detail: str,
    ) -> None:
        self._forward("packet_dropped", interface, reason, source, runtime, detail)

    def vips_changed(
        self,
        runtime: InstanceRuntime,
        op: VipOp,
        changed: Sequence[str],
        failures: Sequence[str],
        began: float,
        ended: float,
    ) -> None:
        self._forward("vips_changed", runtime, op, changed, failures, began, ended)

    def announced(
        self,
        runtime: InstanceRuntime,
        kind: AnnouncementKind,
        count: int,
        began: float,
        ended: float,
    ) -> None:
        self._forward("announced", runtime, kind, count, began, ended)

    def took_over(self, runtime: InstanceRuntime, change: StateChanged, done_at: float) -> None:
        self._forward("took_over", runtime, change, done_at)

    def instances_changed(
        self,
        added: Sequence[InstanceRuntime],
        removed: Sequence[InstanceRuntime],
        changed: Sequence[InstanceRuntime],
    ) -> None:
        self._forward("instances_changed", added, removed, changed)

    def notified(self, runtime: InstanceRuntime, run: NotifyRun) -> None:
        self._forward("notified", runtime, run)

    # --- helpers ------------------------------------------------------------------------------

    def _forward(self, method: str, *args: Any) -> None:
        for observer_name, call in self._calls[method]:
            try:
                call(*args)
            except Exception:
                self._failed(observer_name, method)

    def _failed(self, observer_name: str, method: str) -> None:
        """Count the exception being handled; log it when the count is 1, 2, 4, 8..."""
        key = (observer_name, method)
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        if count & (count - 1) == 0:
            self._log.exception(
                "observer %s.%s raised (%d time%s so far); the agent carries on",
                observer_name,
                method,
                count,
                "" if count == 1 else "s",
            )
