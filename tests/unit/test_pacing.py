"""keepalived's announcement spacing rules (vrrp_garp_interval / vrrp_gna_interval), pure."""

from __future__ import annotations

from ipaddress import IPv4Address

from havip.pacing import Frame, Pacer

MAC = bytes(6)


def frames(owner: str, *hosts: int) -> tuple[Frame, ...]:
    return tuple(Frame(owner, "eth0", MAC, IPv4Address(f"192.0.2.{h}")) for h in hosts)


def drain(pacer: Pacer, limit: int = 100) -> list[tuple[float, Frame]]:
    """Serve the pacer at each deadline it asks for, as the loop does."""
    served: list[tuple[float, Frame]] = []
    for _ in range(limit):
        deadline = pacer.deadline()
        if deadline is None:
            break
        served += [(deadline, f) for f in pacer.due(deadline)]
    return served


def test_first_frame_goes_at_once_and_the_rest_one_per_gap_round_robin() -> None:
    pacer = Pacer(0.5)
    a, b, c = frames("VI_1", 1, 2, 3)
    assert pacer.offer((a, b, c), 2, now=10.0) == [a]
    assert pacer.deadline() == 10.5
    served = drain(pacer)
    assert served == [(10.5, b), (11.0, c), (11.5, a), (12.0, b), (12.5, c)]
    assert pacer.deadline() is None


def test_nothing_is_sent_before_its_gap() -> None:
    pacer = Pacer(0.5)
    a, b = frames("VI_1", 1, 2)
    pacer.offer((a, b), 1, now=0.0)
    assert pacer.due(0.4) == []
    assert pacer.due(0.5) == [b]


def test_a_frame_after_the_gap_has_passed_goes_at_once() -> None:
    pacer = Pacer(0.5)
    (a,) = frames("VI_1", 1)
    assert pacer.offer((a,), 1, now=0.0) == [a]
    assert pacer.deadline() is None
    assert pacer.offer((a,), 1, now=0.7) == [a]


def test_a_second_burst_tops_up_queued_frames_but_never_above_its_rounds() -> None:
    pacer = Pacer(1.0)
    a, b = frames("VI_1", 1, 2)
    assert pacer.offer((a, b), 3, now=0.0) == [a]  # then a twice and b three times queued
    assert pacer.due(1.0) == [b]  # b has 2 to go
    assert pacer.offer((a, b), 3, now=1.5) == []  # both queued: each is topped up to 3
    served = [f for _at, f in drain(pacer)]
    assert served.count(a) == 3 and served.count(b) == 3  # not 2 + 3 and 2 + 3


def test_gaps_are_shared_by_every_instance_on_the_interface() -> None:
    pacer = Pacer(0.2)
    (a,) = frames("VI_1", 1)
    (b,) = frames("VI_2", 2)
    assert pacer.offer((a,), 1, now=0.0) == [a]
    assert pacer.offer((b,), 1, now=0.1) == []
    assert drain(pacer) == [(0.2, b)]


def test_an_instance_that_releases_its_vips_drops_only_its_own_frames() -> None:
    pacer = Pacer(0.2)
    a1, a2 = frames("VI_1", 1, 2)
    (b,) = frames("VI_2", 3)
    pacer.offer((a1, a2), 2, now=0.0)
    pacer.offer((b,), 2, now=0.0)
    pacer.forget("VI_1")
    assert [f for _at, f in drain(pacer)] == [b, b]
