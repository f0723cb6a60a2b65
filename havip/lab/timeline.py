"""What the lab observed during a drill, kept so that `havip lab --report` can draw it.

Everything here is a record of what happened, never a model of what should have happened:

- transitions come from the havip routers' own JSON log lines (the lab runs them with
  `--log-format json`): the time havip logged each state change, its reason and the trace id
  of its `vrrp.transition` span;
- samples are what the live table's looks saw every half second: each router's /status
  (state, base and effective priority) and whether the VIP was on its interface. keepalived has
  no /status, so its states in the report are read from these samples (the VIP), and say so;
- actions are what the drill did and when (a router started, a link cut, a SIGTERM);
- the client's replies and the steps' results come from the drill itself (havip/lab/drill.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from havip.lab.drill import PROBE_INTERVAL, Drill, LabRouter, Reply, RunningLab, StepResult

TRANSITION_MESSAGE = re.compile(
    r"^VRRP_Instance\((?P<instance>[^)]+)\) "
    r"(?:Transition to (?P<master>MASTER) STATE|Entering (?P<other>[A-Z]+) STATE|(?P<stop>Stopped))"
    r" \(reason=(?P<reason>[a-z_0-9]+)"
)
"""havip's log line for a state change (havip/observe/logs.py): keepalived's wording plus the
reason. "Entering MASTER STATE" without a reason is the VIPs being installed, not a change."""
STOPPED = "stopped"
"""The state of a router whose process is not running (the lab's word, not VRRP's)."""
INFERRED_REASON = "read from the VIP: keepalived has no status page"


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change of one router, as the router itself logged it."""

    at: float
    """Unix seconds."""
    router: str
    state: str
    """The new state, lower case: master, backup, fault, init, stop (havip's STOP: shut down)."""
    reason: str
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at one router: its /status, or what the lab could see without it."""

    at: float
    router: str
    state: str
    """/status's state, `stopped`, or for keepalived master/backup from the VIP."""
    effective_priority: int | None


@dataclass(frozen=True, slots=True)
class Action:
    """Something the drill did to a router."""

    at: float
    router: str
    what: str


@dataclass(frozen=True, slots=True)
class RouterInfo:
    """A router of the drill, as the report names it."""

    name: str
    kind: str
    priority: int


@dataclass
class DrillRecord:
    """Everything the report shows about one drill."""

    title: str
    vip: str
    routers: list[RouterInfo]
    started: float
    ended: float
    steps: list[StepResult]
    replies: list[Reply]
    probe_interval: float
    transitions: list[Transition]
    samples: list[Sample]
    actions: list[Action]


def parse_transitions(lines: Iterable[str], router: str, instance: str) -> list[Transition]:
    """The state changes of `instance` in havip's JSON log lines; other lines are skipped."""
    found = []
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            entry: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        match = TRANSITION_MESSAGE.match(str(entry.get("message", "")))
        if match is None or match.group("instance") != instance:
            continue
        state = (match.group("master") or match.group("other") or "stop").lower()
        at = datetime.fromisoformat(str(entry["time"])).timestamp()
        trace_id = entry.get("trace_id")
        found.append(
            Transition(
                at,
                router,
                state,
                match.group("reason"),
                None if trace_id is None else str(trace_id),
            )
        )
    return found


def logged_transitions(router: LabRouter) -> list[Transition]:
    """Every transition a havip router logged, across all its starts (one log each)."""
    found: list[Transition] = []
    for start in range(1, router.starts + 1):
        log = router.directory(start) / "log"
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()
            found.extend(parse_transitions(lines, router.name, router.instance))
    return found


@dataclass
class Recorder:
    """Collects samples and actions while the drill runs (several threads add to it)."""

    samples: list[Sample] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    recording: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sample(
        self, at: float, router: LabRouter, status: dict[str, Any] | None, holds_vip: bool
    ) -> None:
        """Keep one look at `router`; nothing once the drill is over (the lab may run on)."""
        effective: int | None = None
        if not router.running:
            state = STOPPED
        elif status is not None:
            state = str(status["state"])
            effective = int(status["priority"]["effective"])
        elif router.kind == "havip":
            return  # /status did not answer this time: no observation
        else:
            state = "master" if holds_vip else "backup"
        with self._lock:
            if self.recording:
                self.samples.append(Sample(at, router.name, state, effective))

    def act(self, at: float, router: str, what: str) -> None:
        with self._lock:
            if self.recording:
                self.actions.append(Action(at, router, what))

    def stop(self) -> tuple[list[Sample], list[Action]]:
        """End the recording and hand over what it holds."""
        with self._lock:
            self.recording = False
            return list(self.samples), list(self.actions)


def drill_record(
    title: str,
    running: RunningLab,
    drill: Drill,
    steps: list[StepResult],
    recorder: Recorder,
    started: float,
    ended: float,
) -> DrillRecord:
    """Gather what the drill, the live table's looks and the routers' logs recorded."""
    samples, actions = recorder.stop()
    transitions = [
        transition
        for router in running.routers
        if router.kind == "havip"
        for transition in logged_transitions(router)
    ]
    return DrillRecord(
        title=title,
        vip=running.vip,
        routers=[
            RouterInfo(router.name, router.kind, router.priority) for router in running.routers
        ],
        started=started,
        ended=ended,
        steps=steps,
        replies=drill.replies,
        probe_interval=PROBE_INTERVAL,
        transitions=sorted(transitions, key=lambda transition: transition.at),
        samples=samples,
        actions=actions,
    )
