"""The segment census, fed packets made by the project's encoder at made-up times.

Nothing here opens a socket or sleeps: the times are arguments, as for the state machine.
"""

from __future__ import annotations

import ast
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

import havip.monitor.segment
from havip.monitor.segment import (
    Captured,
    EvictionKind,
    Failover,
    Field,
    Handoff,
    Limits,
    PriorityClass,
    Segment,
    address_list_hash,
)
from havip.proto.model import (
    AUTH_PASS,
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    Advertisement,
    ChecksumMode,
    Family,
    IPAddress,
    RejectReason,
)
from havip.proto.packet import encode
from havip.proto.timers import master_down_interval

A = IPv4Address("192.0.2.1")
B = IPv4Address("192.0.2.2")
C = IPv4Address("192.0.2.3")
VIP = IPv4Address("192.0.2.100")
KEY = ("eth0", Family.IPV4, 51)


def packet(
    source: IPAddress,
    priority: int,
    *,
    vrid: int = 51,
    version: int = 3,
    interval_cs: int = 100,
    addresses: tuple[IPAddress, ...] = (VIP,),
    password: bytes | None = None,
    mode: ChecksumMode = ChecksumMode.PSEUDO_HEADER,
    ttl: int = 255,
    mac: bytes = b"",
    interface: str = "eth0",
) -> Captured:
    destination = VRRP_MCAST_GROUP4 if source.version == 4 else VRRP_MCAST_GROUP6
    advert = Advertisement(
        version,
        vrid,
        priority,
        interval_cs,
        addresses,
        auth_type=AUTH_PASS if password is not None else 0,
        auth_data=password or b"",
    )
    payload = encode(advert, source=source, destination=destination, checksum_mode=mode)
    mac = mac or bytes([2, 0, 0, 0, 0, int(source) & 0xFF])
    return Captured(interface, payload, source, destination, ttl, mac)


def advertise(
    segment: Segment, source: IPAddress, priority: int, times: list[float], **options: object
) -> list[object]:
    events: list[object] = []
    for now in times:
        events += segment.expire(now) if segment.next_deadline() <= now else []
        events += segment.receive(packet(source, priority, **options), now)  # type: ignore[arg-type]
    return events


def ticks(start: float, stop: float, step: float = 1.0) -> list[float]:
    count = round((stop - start) / step) + 1
    return [start + index * step for index in range(count)]


def test_master_is_the_highest_priority_advertiser_ties_by_address() -> None:
    segment = Segment(("eth0",))
    for start in (0.0, 1.0):  # each keeps advertising after hearing the others: three claims
        segment.receive(packet(A, 100), start)
        segment.receive(packet(B, 100), start + 0.3)
        segment.receive(packet(C, 90, interval_cs=50), start + 0.6)
    group = segment.groups[KEY]
    assert group.master is not None
    assert (group.master.address, group.master.priority) == (B, 100)
    assert group.master.interval_cs == 100
    assert group.advertising == 3
    assert len(group.speakers) == 3


def test_a_preempted_master_yields_at_once_and_is_no_split_brain() -> None:
    """The lower master's last advert came before the higher one's first: it heard it and
    became backup (RFC 5798 6.4.3), though its master-down window is still open."""
    segment = Segment(("eth0",))
    advertise(segment, B, 100, ticks(0, 5))
    advertise(segment, A, 150, ticks(5.1, 8))
    group = segment.groups[KEY]
    assert group.master is not None and group.master.address == A
    assert group.advertising == 1
    assert group.speakers[(B, packet(B, 100).mac)].yielded


def test_an_advert_in_flight_when_the_higher_master_began_is_still_a_yield() -> None:
    segment = Segment(("eth0",))
    advertise(segment, B, 100, ticks(0, 5))
    advertise(segment, A, 150, [4.95])  # B's advert at 5.0 was sent before A's arrived
    assert segment.groups[KEY].advertising == 1


def test_a_lower_master_advertising_after_the_higher_one_began_is_a_split_brain() -> None:
    segment = Segment(("eth0",))
    advertise(segment, B, 100, ticks(0, 5))
    advertise(segment, A, 150, [5.1])
    assert segment.groups[KEY].advertising == 1
    advertise(segment, B, 100, [6.0])  # the same bytes again: it never heard A
    assert segment.groups[KEY].advertising == 2


def test_two_advertising_masters_are_counted_until_one_falls_silent() -> None:
    segment = Segment(("eth0",))
    advertise(segment, A, 150, ticks(0, 10))
    advertise(segment, B, 100, ticks(0.5, 10.5))
    group = segment.groups[KEY]
    assert group.advertising == 2
    assert group.master is not None and group.master.address == A
    segment.expire(10.5 + master_down_interval(3, 100, 100) + 0.01)
    assert group.advertising == 0
    assert group.silent


def test_silence_is_declared_at_the_masters_own_master_down_interval() -> None:
    segment = Segment(("eth0",))
    advertise(segment, A, 200, ticks(0, 5))
    window = master_down_interval(3, 200, 100)
    segment.expire(5.5)
    assert segment.next_deadline() <= 5 + window  # never late; early only costs a wake-up
    segment.expire(5 + window - 0.01)
    assert not segment.groups[KEY].silent
    segment.expire(segment.next_deadline() + 0.001)
    assert segment.groups[KEY].silent


def test_failover_duration_runs_from_old_masters_last_advert_to_new_masters_first() -> None:
    segment = Segment(("eth0",))
    advertise(segment, A, 150, ticks(0, 10))
    takeover = 10 + master_down_interval(3, 100, 100)
    events = advertise(segment, B, 100, ticks(takeover, takeover + 3))
    failovers = [e for e in events if isinstance(e, Failover)]
    assert len(failovers) == 1
    assert failovers[0].old.address == A and failovers[0].new_address == B
    assert failovers[0].duration == pytest.approx(takeover - 10)
    group = segment.groups[KEY]
    assert group.failovers == 1 and group.last_failover == failovers[0]
    assert group.master is not None and group.master.address == B


def test_a_preemption_is_a_short_failover() -> None:
    segment = Segment(("eth0",))
    advertise(segment, B, 100, ticks(0, 10))
    events = advertise(segment, A, 150, [10.4])
    failovers = [e for e in events if isinstance(e, Failover)]
    assert [(f.old.address, f.new_address) for f in failovers] == [(B, A)]
    assert failovers[0].duration == pytest.approx(0.4)


def test_the_same_master_back_after_a_silence_is_no_failover() -> None:
    segment = Segment(("eth0",))
    advertise(segment, A, 150, ticks(0, 5))
    events = advertise(segment, A, 150, ticks(20, 25))
    assert not [e for e in events if isinstance(e, Failover)]
    assert segment.groups[KEY].failovers == 0
    assert not segment.groups[KEY].silent


def test_priority_zero_is_a_handoff_and_the_failover_lasts_the_skew_time() -> None:
    segment = Segment(("eth0",))
    advertise(segment, A, 150, ticks(0, 5))
    events = segment.receive(packet(A, 0), 5.2)
    assert events == [Handoff(KEY, A, 5.2)]
    group = segment.groups[KEY]
    assert group.silent and group.handoffs == 1
    assert group.previous is not None and group.previous.released
    skew = master_down_interval(3, 100, 100) - 3.0
    events = segment.receive(packet(B, 100), 5.2 + skew)
    (failover,) = [e for e in events if isinstance(e, Failover)]
    assert failover.duration == pytest.approx(skew)
    assert group.adverts == {PriorityClass.ZERO: 1, PriorityClass.OWNER: 0, PriorityClass.OTHER: 7}


def test_adverts_are_counted_by_priority_class_per_speaker_and_group() -> None:
    segment = Segment(("eth0",))
    advertise(segment, A, 255, ticks(0, 2))
    segment.receive(packet(A, 0), 2.5)
    advertise(segment, B, 100, [3.0])
    group = segment.groups[KEY]
    assert group.adverts == {PriorityClass.ZERO: 1, PriorityClass.OWNER: 3, PriorityClass.OTHER: 1}
    speaker_a = group.speakers[(A, packet(A, 1).mac)]
    assert speaker_a.adverts[PriorityClass.OWNER] == 3
    assert speaker_a.adverts[PriorityClass.ZERO] == 1


@pytest.mark.parametrize(
    ("other", "field"),
    [
        ({"interval_cs": 200}, Field.INTERVAL),
        ({"version": 2}, Field.VERSION),
        ({"addresses": (IPv4Address("192.0.2.101"),)}, Field.ADDRESS_LIST),
        ({"mode": ChecksumMode.MESSAGE_ONLY}, Field.CHECKSUM_FORM),
    ],
)
def test_speakers_disagreeing_on_one_field_flag_that_field_only(
    other: dict[str, object], field: Field
) -> None:
    segment = Segment(("eth0",))
    segment.receive(packet(A, 150), 0.0)
    assert segment.groups[KEY].disagreements == frozenset()
    segment.receive(packet(B, 100, **other), 0.5)  # type: ignore[arg-type]
    assert segment.groups[KEY].disagreements == {field}


def test_password_and_auth_type_disagreements() -> None:
    segment = Segment(("eth0",))
    segment.receive(packet(A, 150, version=2, password=b"right"), 0.0)
    segment.receive(packet(B, 100, version=2, password=b"wrong"), 0.5)
    assert segment.groups[KEY].disagreements == {Field.PASSWORD}
    segment.receive(packet(C, 90, version=2), 0.7)
    assert segment.groups[KEY].disagreements == {Field.PASSWORD, Field.AUTH_TYPE}


def test_a_fixed_speaker_stops_the_disagreement_with_its_next_advert() -> None:
    segment = Segment(("eth0",))
    segment.receive(packet(A, 150), 0.0)
    segment.receive(packet(B, 100, interval_cs=200), 0.5)
    segment.receive(packet(B, 100), 1.5)
    assert segment.groups[KEY].disagreements == frozenset()


def test_checksum_form_version_and_addresses_are_recorded() -> None:
    segment = Segment(("eth0",))
    addresses = (IPv4Address("192.0.2.101"), VIP)
    segment.receive(packet(A, 150, mode=ChecksumMode.MESSAGE_ONLY, addresses=addresses), 0.0)
    speaker = segment.groups[KEY].master
    assert speaker is not None
    assert speaker.checksum is ChecksumMode.MESSAGE_ONLY
    assert speaker.version == 3
    assert speaker.addresses == addresses
    assert speaker.address_hash == address_list_hash((VIP, IPv4Address("192.0.2.101")))
    assert speaker.address_hash != address_list_hash((VIP,))


def test_families_and_interfaces_are_separate_groups() -> None:
    segment = Segment(("eth0", "eth1"))
    source6 = IPv6Address("fe80::1")
    segment.receive(packet(A, 100), 0.0)
    segment.receive(packet(A, 100, interface="eth1"), 0.0)
    segment.receive(packet(source6, 100, addresses=(IPv6Address("2001:db8::100"),)), 0.0)
    assert set(segment.groups) == {
        KEY,
        ("eth1", Family.IPV4, 51),
        ("eth0", Family.IPV6, 51),
    }


@pytest.mark.parametrize(
    ("captured", "reason"),
    [
        (packet(A, 100, ttl=64), RejectReason.TTL),
        (
            Captured("eth0", packet(A, 100).payload[:-1] + b"\0", A, VRRP_MCAST_GROUP4, 255),
            RejectReason.CHECKSUM,
        ),
        (Captured("eth0", b"\x31\x33", A, VRRP_MCAST_GROUP4, 255), RejectReason.LENGTH),
        (Captured("eth0", b"\x41" + bytes(15), A, VRRP_MCAST_GROUP4, 255), RejectReason.VERSION),
    ],
)
def test_malformed_packets_are_counted_by_reason_and_make_no_group(
    captured: Captured, reason: RejectReason
) -> None:
    segment = Segment(("eth0",))
    assert segment.receive(captured, 0.0) == []
    assert segment.malformed["eth0"][reason] == 1
    assert sum(segment.malformed["eth0"].values()) == 1
    assert segment.groups == {}


def test_silent_speakers_are_forgotten_after_the_retention_but_the_group_stays_silent() -> None:
    segment = Segment(("eth0",), Limits(speaker_retention=60.0))
    advertise(segment, A, 150, ticks(0, 5))
    segment.expire(5 + master_down_interval(3, 150, 100))
    assert segment.groups[KEY].silent
    assert segment.next_deadline() == pytest.approx(65.0)
    segment.expire(65.01)
    group = segment.groups[KEY]
    assert group.speakers == {}
    assert group.silent
    assert segment.next_deadline() == float("inf")


def test_a_forged_source_flood_cannot_grow_the_census_or_unseat_the_master() -> None:
    segment = Segment(("eth0",), Limits(max_speakers=8))
    now = 0.0
    evicted = 0
    for index in range(2000):
        if index % 100 == 0:
            segment.receive(packet(A, 200), now)
        source = IPv4Address(int(IPv4Address("198.51.100.0")) + index % 256)
        forged = packet(source, 100, mac=index.to_bytes(6, "big"))
        evicted += sum(1 for e in segment.receive(forged, now) if e.kind is EvictionKind.SPEAKER)  # type: ignore[union-attr]
        now += 0.01
    group = segment.groups[KEY]
    assert len(group.speakers) == 8
    assert group.master is not None and group.master.address == A
    assert evicted == segment.evictions["eth0"][EvictionKind.SPEAKER] == 2000 + 1 - 8


def test_the_group_table_is_capped_and_evicts_silent_groups_first() -> None:
    segment = Segment(("eth0",), Limits(max_groups=3))
    segment.receive(packet(A, 100, vrid=1), 0.0)
    segment.expire(10.0)  # group 1 falls silent
    segment.receive(packet(A, 100, vrid=2), 10.0)
    segment.receive(packet(A, 100, vrid=3), 10.5)
    segment.receive(packet(A, 100, vrid=4), 11.0)
    assert sorted(key[2] for key in segment.groups) == [2, 3, 4]
    segment.receive(packet(A, 100, vrid=5), 11.5)
    assert sorted(key[2] for key in segment.groups) == [3, 4, 5]
    assert segment.evictions["eth0"][EvictionKind.GROUP] == 2


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        Limits(max_speakers=1)


def test_the_segment_model_imports_nothing_that_does_io() -> None:
    """Like the protocol core (tests/proto/test_purity.py): no socket, clock or framework."""
    tree = ast.parse(Path(havip.monitor.segment.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "__future__",
        "hashlib",
        "collections",
        "dataclasses",
        "enum",
        "ipaddress",
        "havip",
    }
    assert not [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("havip.")
        and not (node.module or "").startswith("havip.proto")
    ]
