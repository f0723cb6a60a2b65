"""How a tracked script's or file's result reaches each instance that tracks it.

The state machine takes `TrackerChanged(name, up, weight)` and applies keepalived's rule: a
positive weight counts while the tracker is up, a negative one while it is down, a failing
weight-0 tracker means FAULT. Everything keepalived adds on top is folded into those three
fields here, exactly (keepalived/vrrp/vrrp_track.c):

* `weight W reverse` reverses the direction of the adjustment: the priority drops by W while
  the script is up (W > 0), or rises by |W| while it is down (W < 0); `weight 0 reverse` puts
  the instance in FAULT while the script is up. That is the plain rule applied to the opposite
  health and the opposite weight: `TrackerChanged(name, not up, -W)`.
* A `track_file` holds a number N; an instance tracking it with weight W (reverse: -W) adds
  N*W to its priority, clamped to -254..253, and a result of -254 means FAULT. With weight 0
  any non-zero N means FAULT (reverse: N = 0 means FAULT). Any contribution C is expressible:
  C > 0 is `(up, C)`, C < 0 is `(down, C)`, 0 is `(up, 0)` and FAULT is `(down, 0)`; a new
  value replaces the tracker's previous contribution.
* `track_script name weight W [reverse|noreverse]` in an instance or sync group overrides the
  vrrp_script's own weight and reverse (either may be omitted).

An instance keeps one entry per tracker name, so the names carry their kind ("script chk",
"file f") and never collide with interfaces ("interface eth0").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from havip.proto.events import TrackerChanged

FILE_VALUE_LIMIT = 254
"""keepalived clamps the number read from a track file to -254..254."""
FILE_FAULT = -254
"""A track file contribution this low puts the instance in FAULT."""
FILE_CONTRIBUTION_MAX = 253


def script_tracker(name: str) -> str:
    """The tracker name under which a vrrp_script's health reaches the state machine."""
    return f"script {name}"


def process_tracker(name: str) -> str:
    """The tracker name under which a vrrp_track_process's status reaches the state machine."""
    return f"process {name}"


def file_tracker(name: str) -> str:
    """The tracker name under which a track_file's value reaches the state machine."""
    return f"file {name}"


@dataclass(frozen=True, slots=True)
class Tracking:
    """One instance tracking one script or file, with the weight and reverse that apply."""

    instance: str
    weight: int
    reverse: bool = False

    @classmethod
    def resolve(
        cls,
        instance: str,
        weight: int | None,
        reverse: bool | None,
        *,
        default_weight: int,
        default_reverse: bool,
    ) -> Tracking:
        """The instance's `track_script`/`track_file` line over the tracked object's defaults."""
        return cls(
            instance,
            default_weight if weight is None else weight,
            default_reverse if reverse is None else reverse,
        )


def weighted_event(tracker: str, up: bool, weight: int, reverse: bool) -> TrackerChanged:
    """An up/down tracker (script, interface) with keepalived's `weight W [reverse]`."""
    if reverse:
        return TrackerChanged(tracker, not up, -weight)
    return TrackerChanged(tracker, up, weight)


def file_contribution(value: int, weight: int, reverse: bool) -> int | None:
    """What a track file's `value` adds to the priority (-253..253), or None for FAULT."""
    value = max(-FILE_VALUE_LIMIT, min(FILE_VALUE_LIMIT, value))
    if weight == 0:
        faulty = (value != 0) != reverse
        return None if faulty else 0
    status = value * weight * (-1 if reverse else 1)
    if status <= FILE_FAULT:
        return None
    return min(status, FILE_CONTRIBUTION_MAX)


def file_event(tracker: str, value: int, weight: int, reverse: bool) -> TrackerChanged:
    """A track file's current value as the core's event, replacing its previous contribution."""
    contribution = file_contribution(value, weight, reverse)
    if contribution is None:
        return TrackerChanged(tracker, False, 0)
    return TrackerChanged(tracker, contribution >= 0, contribution)


def script_events(
    name: str, up: bool, trackings: Iterable[Tracking]
) -> list[tuple[str, TrackerChanged]]:
    """(instance, event) for every instance tracking the vrrp_script `name`, now `up` or not."""
    tracker = script_tracker(name)
    return [(t.instance, weighted_event(tracker, up, t.weight, t.reverse)) for t in trackings]


def process_events(
    name: str, up: bool, trackings: Iterable[Tracking]
) -> list[tuple[str, TrackerChanged]]:
    """(instance, event) for every instance tracking the vrrp_track_process `name`."""
    tracker = process_tracker(name)
    return [(t.instance, weighted_event(tracker, up, t.weight, t.reverse)) for t in trackings]


def file_events(
    name: str, value: int, trackings: Iterable[Tracking]
) -> list[tuple[str, TrackerChanged]]:
    """(instance, event) for every instance tracking the track_file `name`, now holding `value`."""
    tracker = file_tracker(name)
    return [(t.instance, file_event(tracker, value, t.weight, t.reverse)) for t in trackings]
