"""The drill report's data: havip's JSON log lines read back, and states laid end to end."""

from __future__ import annotations

import json

from havip.lab.drill import Outage, StepResult
from havip.lab.report import Segment, state_segments, step_trace_id
from havip.lab.timeline import (
    INFERRED_REASON,
    STOPPED,
    Action,
    DrillRecord,
    RouterInfo,
    Sample,
    Transition,
    parse_transitions,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"


def line(time: str, message: str, **extra: str) -> str:
    return json.dumps({"time": time, "level": "info", "message": message, **extra})


def test_transitions_are_read_from_havips_json_log_lines() -> None:
    lines = [
        "not json at all",
        line(
            "2026-01-01T00:00:01.000+00:00",
            "VRRP_Instance(VI_1) Entering BACKUP STATE (reason=startup)",
        ),
        line(
            "2026-01-01T00:00:02.500+00:00",
            "VRRP_Instance(VI_1) Transition to MASTER STATE (reason=master_down)",
            vrrp_instance="VI_1",
            trace_id=TRACE,
        ),
        # installing the VIPs is not a change of state: no reason, not a transition
        line("2026-01-01T00:00:02.501+00:00", "VRRP_Instance(VI_1) Entering MASTER STATE"),
        line(
            "2026-01-01T00:00:03.000+00:00",
            "VRRP_Instance(VI_2) Entering FAULT STATE (reason=fault: eth1 down)",
        ),
        line("2026-01-01T00:00:04.000+00:00", "VRRP_Instance(VI_1) Stopped (reason=shutdown)"),
    ]
    found = parse_transitions(lines, "r1", "VI_1")
    assert [(t.at - found[0].at, t.state, t.reason, t.trace_id) for t in found] == [
        (0.0, "backup", "startup", None),
        (1.5, "master", "master_down", TRACE),
        (3.0, "stop", "shutdown", None),
    ]
    assert {t.router for t in found} == {"r1"}


def record(**fields: object) -> DrillRecord:
    base: dict[str, object] = {
        "title": "t",
        "vip": "192.0.2.100",
        "routers": [RouterInfo("r1", "havip", 150), RouterInfo("r3", "keepalived", 120)],
        "started": 100.0,
        "ended": 110.0,
        "steps": [],
        "replies": [],
        "probe_interval": 0.01,
        "transitions": [],
        "samples": [],
        "actions": [],
    }
    base.update(fields)
    return DrillRecord(**base)  # type: ignore[arg-type]


def test_states_follow_havips_log_and_the_processes_life_back_to_back() -> None:
    drill = record(
        routers=[RouterInfo("r1", "havip", 150)],
        actions=[Action(100.0, "r1", "started"), Action(105.0, "r1", "exited")],
        transitions=[
            Transition(101.0, "r1", "backup", "startup", None),
            Transition(103.0, "r1", "master", "master_down", TRACE),
            Transition(104.9, "r1", "stop", "shutdown", None),
        ],
    )
    assert state_segments(drill) == [
        Segment("r1", "starting", 100.0, 101.0, "process started", None),
        Segment("r1", "backup", 101.0, 103.0, "startup", None),
        Segment("r1", "master", 103.0, 104.9, "master_down", TRACE),
        Segment("r1", "stop", 104.9, 105.0, "shutdown", None),
        Segment("r1", STOPPED, 105.0, 110.0, "process exited", None),
    ]


def test_keepalived_states_are_the_changes_between_samples_and_say_so() -> None:
    samples = [
        Sample(100.5, "r3", "backup", None),
        Sample(101.0, "r3", "backup", None),
        Sample(101.5, "r3", "master", None),
    ]
    drill = record(routers=[RouterInfo("r3", "keepalived", 120)], samples=samples)
    assert state_segments(drill) == [
        Segment("r3", "backup", 100.5, 101.5, INFERRED_REASON, None),
        Segment("r3", "master", 101.5, 110.0, INFERRED_REASON, None),
    ]


def test_a_steps_trace_id_is_its_new_masters_first_takeover_after_the_action() -> None:
    outage = Outage(102.0, 102.3, 29)
    step = StepResult("failover", "r1 cut", "r3", outage, 0.2, "", acted_at=102.0)
    transitions = [
        Transition(101.0, "r3", "master", "startup", "1" * 32),  # before the action
        Transition(102.2, "r2", "master", "master_down", "2" * 32),  # another router
        Transition(102.25, "r3", "master", "preempt", "3" * 32),
        Transition(103.0, "r3", "master", "preempt", "4" * 32),
    ]
    assert step_trace_id(step, transitions) == "3" * 32
    assert step_trace_id(step, transitions[:2]) is None
