"""Property: once faults stop, a group converges on exactly one master, and the right one.

Hypothesis draws a group (size, priorities, version, interval), a period of faults (adverts
lost at random, trackers failing and recovering, weights moving priorities), then stops the
faults. Within the largest Master_Down_Interval of the group plus one advert interval (plus
two delivery delays) exactly one router must be master, hold the VIPs, and have the highest
effective priority.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from havip.proto.events import TrackerChanged
from havip.proto.instance import InstanceSettings
from havip.proto.model import State
from havip.proto.timers import master_down_interval

from .simlan import SimulatedLan

DELAY = 0.001


@dataclass(frozen=True)
class TrackerFlip:
    at: float
    router: int
    weighted: bool
    up: bool


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[list[InstanceSettings], list[int], list[TrackerFlip], float, float, int]:
    size = draw(st.integers(2, 4))
    version = draw(st.sampled_from([2, 3]))
    interval_cs = 100 if version == 2 else draw(st.sampled_from([5, 100]))
    group = [
        InstanceSettings(
            name="VI_1",
            vrid=7,
            version=version,
            priority=draw(st.integers(1, 254)),
            interval_cs=interval_cs,
            start_as_master=draw(st.booleans()),
            garp_master_delay=0.0,
        )
        for _ in range(size)
    ]
    weights = [draw(st.integers(-100, 100).filter(bool)) for _ in range(size)]
    fault_period = draw(st.floats(0.0, 30.0)) * interval_cs / 100
    flips = draw(
        st.lists(
            st.builds(
                TrackerFlip,
                at=st.floats(0.0, max(fault_period, 0.0)),
                router=st.integers(0, size - 1),
                weighted=st.booleans(),
                up=st.booleans(),
            ),
            max_size=12,
        )
    )
    loss = draw(st.floats(0.0, 0.9))
    seed = draw(st.integers(0, 2**32 - 1))
    return group, weights, flips, fault_period, loss, seed


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_one_master_with_the_highest_priority_after_faults_stop(
    scenario: tuple[list[InstanceSettings], list[int], list[TrackerFlip], float, float, int],
) -> None:
    group, weights, flips, fault_end, loss, seed = scenario
    rng = random.Random(seed)
    lan = SimulatedLan(
        group,
        delay=DELAY,
        loss=lambda now, _s, _r: now < fault_end and rng.random() < loss,
    )
    lan.start()
    for flip in flips:
        weight = weights[flip.router] if flip.weighted else 0
        lan.inject(flip.router, TrackerChanged("t", flip.up, weight), at=flip.at)
    for i in range(len(group)):  # faults stop: every unweighted tracker comes back
        lan.inject(i, TrackerChanged("t", True, 0), at=fault_end)

    interval_cs = group[0].interval_cs
    worst_down = max(master_down_interval(s.version, 1, interval_cs) for s in group)
    lan.run_until(fault_end + worst_down + interval_cs / 100 + 2 * DELAY + 1e-6)

    masters = lan.masters()
    assert len(masters) == 1, f"masters: {masters}"
    assert lan.vip_holders() == masters
    top = max(r.instance.effective_priority for r in lan.routers)
    assert lan.routers[masters[0]].instance.effective_priority == top
    assert all(r.instance.state in (State.MASTER, State.BACKUP) for r in lan.routers)
