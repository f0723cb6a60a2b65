"""`heard_again`, the backup's fast path, must be indistinguishable from the full `handle`.

The adapter takes the fast path only while `refreshable` holds and the advert is byte for byte
the last one from the same source. The property below drives two instances with the same
inputs, one always through `handle` and one through `heard_again` whenever the adapter would,
and requires the same state, deadlines and master view after every step.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from havip.proto.events import AdvertReceived, Start, TrackerChanged
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import Advertisement, State

VIP = IPv4Address("192.0.2.100")
ME = IPv4Address("192.0.2.10")
SOURCES = (IPv4Address("192.0.2.5"), IPv4Address("192.0.2.20"))


def advert(priority: int, interval_cs: int = 100) -> Advertisement:
    return Advertisement(
        version=3, vrid=51, priority=priority, interval_cs=interval_cs, addresses=(VIP,)
    )


def instance(**overrides: object) -> VrrpInstance:
    fields: dict[str, object] = {"name": "VI_1", "vrid": 51, "priority": 100, "addresses": (VIP,)}
    fields.update(overrides)
    machine = VrrpInstance(InstanceSettings(**fields), local_address=ME)  # type: ignore[arg-type]
    machine.handle(Start(), 0.0)
    return machine


def view(machine: VrrpInstance) -> tuple[object, ...]:
    return (
        machine.state,
        machine.get_timer(),
        machine.master_address,
        machine.master_priority,
        machine.master_interval_cs,
        machine.last_master_heard,
        machine.effective_priority,
    )


def test_an_advert_from_a_higher_master_is_refreshable_and_moves_the_deadline() -> None:
    machine = instance()
    machine.handle(AdvertReceived(advert(200), SOURCES[1]), 1.0)
    assert machine.refreshable
    machine.heard_again(2.0)
    assert machine.get_timer() == 2.0 + machine.master_down_interval
    assert machine.last_master_heard == 2.0


def test_a_lower_master_that_may_be_preempted_is_never_refreshable() -> None:
    machine = instance(priority=150)
    machine.handle(AdvertReceived(advert(100), SOURCES[1]), 1.0)
    assert not machine.refreshable


def test_nopreempt_makes_a_lower_master_refreshable_but_preempt_delay_does_not() -> None:
    follower = instance(priority=150, preempt=False)
    follower.handle(AdvertReceived(advert(100), SOURCES[1]), 1.0)
    assert follower.refreshable
    delayed = instance(priority=150, preempt_delay=10.0)
    delayed.handle(AdvertReceived(advert(100), SOURCES[1]), 1.0)
    assert not delayed.refreshable


def test_priority_zero_and_anomalies_take_the_full_path() -> None:
    machine = instance()
    machine.handle(AdvertReceived(advert(0), SOURCES[1]), 1.0)
    assert not machine.refreshable
    other_vips = Advertisement(version=3, vrid=51, priority=200, interval_cs=100, addresses=())
    machine.handle(AdvertReceived(other_vips, SOURCES[1]), 1.5)
    assert not machine.refreshable  # the anomaly must be counted again


def test_any_other_event_or_a_transition_ends_refreshability() -> None:
    machine = instance()
    machine.handle(AdvertReceived(advert(200), SOURCES[1]), 1.0)
    machine.handle(TrackerChanged("chk", False, -10), 1.1)
    assert not machine.refreshable
    machine.handle(AdvertReceived(advert(200), SOURCES[1]), 1.2)
    deadline = machine.get_timer()
    assert deadline is not None
    machine.handle_timer(deadline)
    assert machine.state is State.MASTER and not machine.refreshable


step = st.one_of(
    st.tuples(
        st.just("advert"),
        st.sampled_from(SOURCES),
        st.sampled_from((0, 50, 100, 150, 200)),
        st.sampled_from((5, 100)),
    ),
    st.tuples(st.just("tracker"), st.booleans(), st.sampled_from((-60, 0, 30))),
    st.tuples(st.just("timer")),
)


@settings(max_examples=300, deadline=None)
@given(
    priority=st.sampled_from((100, 150)),
    preempt=st.booleans(),
    preempt_delay=st.sampled_from((0.0, 2.0)),
    steps=st.lists(st.tuples(step, st.floats(0.001, 2.0)), max_size=40),
)
def test_the_fast_path_is_indistinguishable_from_the_full_path(
    priority: int, preempt: bool, preempt_delay: float, steps: list[tuple[tuple, float]]
) -> None:
    options = {"priority": priority, "preempt": preempt, "preempt_delay": preempt_delay}
    full, fast = instance(**options), instance(**options)
    last: tuple[IPv4Address, Advertisement] | None = None
    now = 0.0
    for (kind, *args), gap in steps:
        now += gap
        if kind == "advert":
            source, prio, interval = args
            received = (source, advert(prio, interval))
            full.handle(AdvertReceived(received[1], source), now)
            if fast.refreshable and received == last:
                fast.heard_again(now)
            else:
                fast.handle(AdvertReceived(received[1], source), now)
            last = received
        elif kind == "tracker":
            up, weight = args
            full.handle(TrackerChanged("chk", up, weight), now)
            fast.handle(TrackerChanged("chk", up, weight), now)
        else:
            deadline = full.get_timer()
            if deadline is not None:
                now = max(now, deadline)
                full.handle_timer(now)
                fast.handle_timer(now)
        assert view(fast) == view(full)
