"""Script and file results as the state machine's TrackerChanged, with keepalived's arithmetic."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from havip.proto.events import Start, TrackerChanged
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import State
from havip.proto.trackers import (
    Tracking,
    file_contribution,
    file_event,
    file_events,
    file_tracker,
    script_events,
    script_tracker,
    weighted_event,
)


def instance(priority: int = 100) -> VrrpInstance:
    settings = InstanceSettings(
        name="VI_1", vrid=51, priority=priority, addresses=(IPv4Address("192.0.2.100"),)
    )
    machine = VrrpInstance(settings, local_address=IPv4Address("192.0.2.10"))
    machine.handle(Start(), 0.0)
    return machine


def priority_after(*events: TrackerChanged, base: int = 100) -> int | None:
    """The effective priority once `events` are applied, or None if the instance is in FAULT."""
    machine = instance(base)
    for event in events:
        machine.handle(event, 1.0)
    return None if machine.state is State.FAULT else machine.effective_priority


@pytest.mark.parametrize(
    ("weight", "reverse", "when_up", "when_down"),
    [
        (20, False, 120, 100),
        (-20, False, 100, 80),
        (20, True, 80, 100),
        (-20, True, 100, 120),
        (0, False, 100, None),
        (0, True, None, 100),
    ],
)
def test_weight_and_reverse_move_the_priority_as_in_keepalived(
    weight: int, reverse: bool, when_up: int | None, when_down: int | None
) -> None:
    name = script_tracker("chk")
    assert priority_after(weighted_event(name, True, weight, reverse)) == when_up
    assert priority_after(weighted_event(name, False, weight, reverse)) == when_down


def test_a_script_going_down_and_up_again_restores_the_priority() -> None:
    machine = instance()
    name = script_tracker("chk")
    for up, expected in ((True, 100), (False, 70), (True, 100), (False, 70)):
        machine.handle(weighted_event(name, up, -30, False), 1.0)
        assert machine.effective_priority == expected


@pytest.mark.parametrize(
    ("value", "weight", "reverse", "contribution"),
    [
        (10, 2, False, 20),
        (-10, 2, False, -20),
        (10, -2, False, -20),
        (10, 2, True, -20),
        (0, 5, False, 0),
        (200, 2, False, 253),
        (-127, 2, False, None),
        (-126, 2, False, -252),
        (1000, 1, False, 253),
        (-1000, 1, False, None),
        (7, 0, False, None),
        (0, 0, False, 0),
        (7, 0, True, 0),
        (0, 0, True, None),
    ],
)
def test_a_track_file_value_times_its_weight_moves_the_priority_or_means_fault(
    value: int, weight: int, reverse: bool, contribution: int | None
) -> None:
    assert file_contribution(value, weight, reverse) == contribution
    event = file_event(file_tracker("f"), value, weight, reverse)
    expected = None if contribution is None else max(1, min(254, 100 + contribution))
    assert priority_after(event) == expected


def test_each_new_file_value_replaces_the_previous_contribution() -> None:
    machine = instance()
    name = file_tracker("f")
    for value, expected_state, expected_priority in (
        (10, State.BACKUP, 120),
        (-5, State.BACKUP, 90),
        (0, State.BACKUP, 100),
        (-200, State.FAULT, 100),
        (3, State.BACKUP, 106),
    ):
        machine.handle(file_event(name, value, 2, False), 1.0)
        assert (machine.state, machine.effective_priority) == (expected_state, expected_priority)


def test_the_instance_line_overrides_the_tracked_object_s_weight_and_reverse() -> None:
    def resolve(weight: int | None, reverse: bool | None) -> Tracking:
        return Tracking.resolve("VI_1", weight, reverse, default_weight=-20, default_reverse=True)

    assert resolve(None, None) == Tracking("VI_1", -20, True)
    assert resolve(5, None) == Tracking("VI_1", 5, True)
    assert resolve(5, False) == Tracking("VI_1", 5, False)


def test_one_result_reaches_every_tracking_instance_with_its_own_weight() -> None:
    trackings = [Tracking("VI_1", -20), Tracking("VI_2", 0), Tracking("VI_3", 10, reverse=True)]
    assert script_events("chk", False, trackings) == [
        ("VI_1", TrackerChanged("script chk", False, -20)),
        ("VI_2", TrackerChanged("script chk", False, 0)),
        ("VI_3", TrackerChanged("script chk", True, -10)),
    ]
    assert file_events("f", 4, trackings) == [
        ("VI_1", TrackerChanged("file f", False, -80)),
        ("VI_2", TrackerChanged("file f", False, 0)),
        ("VI_3", TrackerChanged("file f", False, -40)),
    ]


def test_tracker_names_carry_their_kind_so_they_never_collide() -> None:
    assert len({script_tracker("eth0"), file_tracker("eth0"), "interface eth0"}) == 3
