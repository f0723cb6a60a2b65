"""The census of a VRRP segment as a passive observer hears it: pure, time is an argument.

`havip monitor` feeds every VRRP packet it captures into a `Segment` with the time it arrived,
and calls `expire(now)` when `next_deadline()` comes; the segment answers with the few events
that are not state (failovers, priority-0 handoffs, evictions) and keeps the rest as state that
metrics and /status read. No socket, clock or metrics library is imported here, so the tests
replay a segment's life with made-up times.

The rules, in the protocol's own terms:
- A group is (interface, family, VRID). A speaker is (source address, source MAC) in a group.
- A speaker is *advertising* while its last advert, with a non-zero priority, is younger than
  the Master_Down_Interval its own advert implies (3 intervals plus its skew): as long as a
  backup would still believe in it. Backups never advertise, so an advertising speaker
  believes it is the master, unless it has *yielded*: a higher-ranked speaker began its run
  after this one's last advert (within a quarter of this one's interval, for an advert already
  in flight), and a master that hears a higher-ranked advert becomes backup at once (RFC 5798
  section 6.4.3), so the wire will hear no more of it. Two speakers claiming at once is a split
  brain, as the wire shows it; a preemption is not one.
- The group's master is the advertising speaker with the highest priority, ties broken by the
  higher address (RFC 5798 section 6.4.3). A group with speakers but none advertising is silent.
- A failover is a change of master to another speaker. Its duration runs from the old master's
  last advert to the new master's first advert of its current run, so it measures what the
  wire shows whenever the change is noticed (a preemption shows as a short one).
- State is bounded: a speaker silent for `speaker_retention` is forgotten, a group keeps at
  most `max_speakers` (a full group evicts a one-advert speaker before an established one, and
  never its master, so a forged-source flood churns only its own entries), and the segment
  keeps at most `max_groups`. Evictions are counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address

from havip.proto.model import (
    AUTH_PASS,
    PRIORITY_OWNER,
    PRIORITY_RELEASE,
    VRRP_TTL,
    ChecksumMode,
    DecodeError,
    Family,
    IPAddress,
    RejectReason,
)
from havip.proto.packet import checksum_form, decode
from havip.proto.timers import master_down_interval

GroupKey = tuple[str, Family, int]
"""(interface, family, VRID): one VRRP group as seen on one interface."""

SpeakerKey = tuple[IPAddress, bytes]
"""(source address, source MAC; empty when the capture has none)."""

NEVER = float("inf")

YIELD_GRACE = 0.25
"""Of a speaker's own advert interval: how long after a higher-ranked speaker's first advert
an advert of its may still have been in flight (or waiting in a receive window) when it heard
that advert and yielded."""

MALFORMED_REASONS: tuple[RejectReason, ...] = (
    RejectReason.TTL,
    RejectReason.LENGTH,
    RejectReason.VERSION,
    RejectReason.TYPE,
    RejectReason.CHECKSUM,
    RejectReason.VRID,
    RejectReason.FAMILY,
    RejectReason.AUTH_TYPE,
    RejectReason.INTERVAL,
)
"""Why a captured packet is not a VRRP advert: the reasons the codec and the TTL check give."""


class PriorityClass(StrEnum):
    """The `priority_class` label of adverts: the priorities VRRP gives a meaning."""

    ZERO = "zero"
    OWNER = "owner"
    OTHER = "other"

    @classmethod
    def of(cls, priority: int) -> PriorityClass:
        if priority == PRIORITY_RELEASE:
            return cls.ZERO
        if priority == PRIORITY_OWNER:
            return cls.OWNER
        return cls.OTHER


class Field(StrEnum):
    """What the speakers of one group can disagree on (the `field` label)."""

    INTERVAL = "interval"
    VERSION = "version"
    AUTH_TYPE = "auth_type"
    PASSWORD = "password"
    ADDRESS_LIST = "address_list"
    CHECKSUM_FORM = "checksum_form"


class EvictionKind(StrEnum):
    """What a full table evicted (the `kind` label)."""

    SPEAKER = "speaker"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the census; the defaults fit any real segment with room to spare."""

    max_groups: int = 256
    max_speakers: int = 16
    speaker_retention: float = 300.0
    """Seconds a speaker that stopped advertising stays in the census (and in comparisons)."""

    def __post_init__(self) -> None:
        if self.max_groups < 1 or self.max_speakers < 2 or self.speaker_retention <= 0:
            raise ValueError("limits need max_groups >= 1, max_speakers >= 2, retention > 0")


@dataclass(frozen=True, slots=True)
class Captured:
    """One packet as captured: the VRRP message and what the IP and link headers said."""

    interface: str
    payload: bytes
    source: IPAddress
    destination: IPAddress
    ttl: int
    mac: bytes = b""


@dataclass(slots=True)
class Speaker:
    """One router heard in a group: what its last advert said, and how much it advertised."""

    address: IPAddress
    mac: bytes
    first_seen: float
    run_start: float
    last_seen: float
    priority: int = 0
    interval_cs: int = 100
    version: int = 3
    auth_type: int = 0
    password_digest: bytes = b""
    """A digest of the PASS data, to compare speakers without keeping or showing the password."""
    checksum: ChecksumMode = ChecksumMode.PSEUDO_HEADER
    addresses: tuple[IPAddress, ...] = ()
    address_hash: int = 0
    last_payload: bytes = b""
    last_destination: IPAddress | None = None
    yielded: bool = False
    """A higher-ranked speaker began advertising after this one's last advert: it heard that
    and became backup, so it no longer claims to be master though its window is still open."""
    adverts: dict[PriorityClass, int] = field(
        default_factory=lambda: dict.fromkeys(PriorityClass, 0)
    )

    @property
    def key(self) -> SpeakerKey:
        return (self.address, self.mac)

    @property
    def window(self) -> float:
        """How long after its last advert a backup would still believe in this speaker."""
        return master_down_interval(self.version, max(self.priority, 1), self.interval_cs)

    def advertising(self, now: float) -> bool:
        return self.priority != PRIORITY_RELEASE and now < self.last_seen + self.window

    def claims_master(self, now: float) -> bool:
        """Advertising and not yielded: it believes it is the master."""
        return not self.yielded and self.advertising(now)

    def yields_to(self, higher: Speaker) -> bool:
        """Whether `higher`, which outranks this speaker, began its run after this one's last
        advert (allowing one already in flight), so this speaker heard it and became backup."""
        grace = YIELD_GRACE * self.interval_cs / 100
        return self.last_seen <= higher.run_start + grace

    @property
    def total_adverts(self) -> int:
        return sum(self.adverts.values())


@dataclass(frozen=True, slots=True)
class PastMaster:
    """Who was master before, kept after it stopped (and even after it is forgotten)."""

    address: IPAddress
    mac: bytes
    last_seen: float
    released: bool
    """True when it left with a priority-0 advert rather than by falling silent."""


@dataclass(frozen=True, slots=True)
class Failover:
    """The master of a group changed from one speaker to another."""

    key: GroupKey
    old: PastMaster
    new_address: IPAddress
    new_mac: bytes
    duration: float
    at: float


@dataclass(frozen=True, slots=True)
class Handoff:
    """A group's master sent a priority-0 advert: it is leaving on purpose."""

    key: GroupKey
    address: IPAddress
    at: float


@dataclass(frozen=True, slots=True)
class Evicted:
    """A full table dropped an entry to make room."""

    interface: str
    kind: EvictionKind


SegmentEvent = Failover | Handoff | Evicted


@dataclass(slots=True)
class Group:
    """One VRRP group: its speakers and what the census concludes about them."""

    key: GroupKey
    first_seen: float
    speakers: dict[SpeakerKey, Speaker] = field(default_factory=dict)
    master: Speaker | None = None
    master_since: float = 0.0
    last_master: Speaker | None = None
    """The master now, or the last one a silent group had: what it advertised stays known."""
    previous: PastMaster | None = None
    advertising: int = 0
    disagreements: frozenset[Field] = frozenset()
    adverts: dict[PriorityClass, int] = field(
        default_factory=lambda: dict.fromkeys(PriorityClass, 0)
    )
    handoffs: int = 0
    failovers: int = 0
    last_failover: Failover | None = None
    last_advert: float = 0.0
    deadline: float = NEVER

    @property
    def silent(self) -> bool:
        return self.master is None


class Segment:
    """Every VRRP group heard on the monitored interfaces."""

    def __init__(self, interfaces: tuple[str, ...] = (), limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.groups: dict[GroupKey, Group] = {}
        self.malformed: dict[str, dict[RejectReason, int]] = {}
        self.evictions: dict[str, dict[EvictionKind, int]] = {}
        self._deadline = NEVER
        for interface in interfaces:
            self._interface(interface)

    def _interface(self, name: str) -> None:
        if name not in self.malformed:
            self.malformed[name] = dict.fromkeys(MALFORMED_REASONS, 0)
            self.evictions[name] = dict.fromkeys(EvictionKind, 0)

    def next_deadline(self) -> float:
        """When `expire` may next have something to do: a speaker to stop believing in or to
        forget. Never late, sometimes early: a routine advert moves its speaker's expiry later
        without recomputing the group's, so a wake-up may find nothing due (and recomputes)."""
        return self._deadline

    def reject(self, interface: str, error: DecodeError) -> None:
        """Count a packet that never got as far as the VRRP message (a bad IPv4 header)."""
        self._interface(interface)
        counts = self.malformed[interface]
        counts[error.reason] = counts.get(error.reason, 0) + 1

    def receive(self, packet: Captured, now: float) -> list[SegmentEvent]:
        """Decode and record one captured packet that arrived at `now`."""
        if packet.ttl != VRRP_TTL:
            self.reject(
                packet.interface, DecodeError(RejectReason.TTL, f"TTL {packet.ttl}, not 255")
            )
            return []
        if self._repeat(packet, now):
            return []
        try:
            advert = decode(packet.payload, source=packet.source, destination=packet.destination)
        except DecodeError as error:
            self.reject(packet.interface, error)
            return []
        self._interface(packet.interface)
        events: list[SegmentEvent] = []
        key: GroupKey = (packet.interface, Family(packet.source.version), advert.vrid)
        group = self.groups.get(key)
        if group is None:
            group = self._new_group(key, now, events)
        speaker = group.speakers.get((packet.source, packet.mac))
        if speaker is None:
            speaker = self._new_speaker(group, packet, now, events)
        elif speaker.yielded or not speaker.advertising(now):
            speaker.run_start = now
        speaker.last_seen = now
        speaker.last_payload = packet.payload
        speaker.last_destination = packet.destination
        speaker.priority = advert.priority
        speaker.interval_cs = advert.interval_cs
        speaker.version = advert.version
        speaker.auth_type = advert.auth_type
        pass_data = advert.auth_type == AUTH_PASS
        speaker.password_digest = _digest(advert.auth_data) if pass_data else b""
        speaker.checksum = checksum_form(
            packet.payload, source=packet.source, destination=packet.destination
        )
        if speaker.addresses != advert.addresses:
            speaker.addresses = advert.addresses
            speaker.address_hash = address_list_hash(advert.addresses)
        priority_class = PriorityClass.of(advert.priority)
        speaker.adverts[priority_class] += 1
        group.adverts[priority_class] += 1
        group.last_advert = now
        if advert.priority == PRIORITY_RELEASE and speaker is group.master:
            group.handoffs += 1
            events.append(Handoff(key, speaker.address, now))
        self._refresh(group, now, events)
        self._deadline = min(self._deadline, group.deadline)
        return events

    def _repeat(self, packet: Captured, now: float) -> bool:
        """Record a routine advert fast: the same bytes, to the same destination, as the last
        one of a speaker that claims to be master. Nothing the census concludes can change (the
        speaker's rank, the master and the disagreements stay), so only the counts and times
        move; the group's deadline only gets later, and a stale one merely wakes `expire` early.
        """
        payload = packet.payload
        if len(payload) < 8:
            return False
        group = self.groups.get((packet.interface, Family(packet.source.version), payload[1]))
        if group is None:
            return False
        speaker = group.speakers.get((packet.source, packet.mac))
        if (
            speaker is None
            or speaker.last_payload != payload
            or speaker.last_destination != packet.destination
            or not speaker.claims_master(now)
        ):
            return False
        speaker.last_seen = now
        priority_class = PriorityClass.of(speaker.priority)
        speaker.adverts[priority_class] += 1
        group.adverts[priority_class] += 1
        group.last_advert = now
        return True

    def expire(self, now: float) -> list[SegmentEvent]:
        """Stop believing in speakers that fell silent and forget old ones, as of `now`."""
        events: list[SegmentEvent] = []
        deadline = NEVER
        for group in list(self.groups.values()):
            if group.deadline <= now:
                self._refresh(group, now, events)
            deadline = min(deadline, group.deadline)
        self._deadline = deadline
        return events

    def _new_group(self, key: GroupKey, now: float, events: list[SegmentEvent]) -> Group:
        if len(self.groups) >= self.limits.max_groups:
            victim = min(self.groups.values(), key=lambda g: (g.master is not None, g.last_advert))
            del self.groups[victim.key]
            self.evictions[victim.key[0]][EvictionKind.GROUP] += 1
            events.append(Evicted(victim.key[0], EvictionKind.GROUP))
        group = self.groups[key] = Group(key, first_seen=now)
        return group

    def _new_speaker(
        self, group: Group, packet: Captured, now: float, events: list[SegmentEvent]
    ) -> Speaker:
        if len(group.speakers) >= self.limits.max_speakers:
            victim = min(
                (s for s in group.speakers.values() if s is not group.master),
                key=lambda s: (s.total_adverts > 1, s.last_seen),
            )
            del group.speakers[victim.key]
            self.evictions[packet.interface][EvictionKind.SPEAKER] += 1
            events.append(Evicted(packet.interface, EvictionKind.SPEAKER))
        speaker = Speaker(packet.source, packet.mac, now, now, now)
        group.speakers[speaker.key] = speaker
        return speaker

    def _refresh(self, group: Group, now: float, events: list[SegmentEvent]) -> None:
        """Recompute the group's master, advertising count, disagreements and next deadline."""
        retention = self.limits.speaker_retention
        for speaker in list(group.speakers.values()):
            if now >= speaker.last_seen + retention and speaker is not group.master:
                del group.speakers[speaker.key]
        live = sorted(
            (s for s in group.speakers.values() if s.advertising(now)), key=_rank, reverse=True
        )
        for index, speaker in enumerate(live):
            speaker.yielded = any(speaker.yields_to(higher) for higher in live[:index])
        group.advertising = sum(not s.yielded for s in live)
        best = live[0] if live else None
        if best is not group.master:
            old = group.master
            if old is not None:
                group.previous = PastMaster(
                    old.address, old.mac, old.last_seen, old.priority == PRIORITY_RELEASE
                )
            previous = group.previous
            # The same master back after a silence is an outage, not a failover.
            if (
                best is not None
                and previous is not None
                and (previous.address, previous.mac) != best.key
            ):
                failover = Failover(
                    group.key,
                    previous,
                    best.address,
                    best.mac,
                    max(0.0, best.run_start - previous.last_seen),
                    now,
                )
                group.failovers += 1
                group.last_failover = failover
                events.append(failover)
            group.master = best
            group.master_since = now
            if best is not None:
                group.last_master = best
        group.disagreements = _disagreements(group.speakers.values())
        group.deadline = min(
            (
                s.last_seen + (s.window if s.advertising(now) else retention)
                for s in group.speakers.values()
            ),
            default=NEVER,
        )


def _rank(speaker: Speaker) -> tuple[int, int]:
    return (speaker.priority, int(speaker.address))


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=8, person=b"havip-mon").digest()


def address_list_hash(addresses: tuple[IPAddress, ...]) -> int:
    """A 32-bit hash of an address list as a set (order aside), exact as a Prometheus value.

    Two groups or speakers with the same hash almost surely carry the same virtual addresses;
    the hash lets a dashboard compare lists without an address in a label.
    """
    packed = b"".join(a.packed for a in sorted(addresses, key=lambda a: (a.version, int(a))))
    return int.from_bytes(hashlib.blake2b(packed, digest_size=4).digest(), "big")


def _disagreements(speakers: Iterable[Speaker]) -> frozenset[Field]:
    """The fields on which the retained speakers of one group differ.

    The password is compared among PASS speakers only, and the checksum form among VRRPv3
    speakers over IPv4 only (the one case with a choice), so one difference is flagged once.
    """
    values: dict[Field, set[object]] = {f: set() for f in Field}
    for speaker in speakers:
        values[Field.INTERVAL].add(speaker.interval_cs)
        values[Field.VERSION].add(speaker.version)
        values[Field.AUTH_TYPE].add(speaker.auth_type)
        if speaker.auth_type == AUTH_PASS:
            values[Field.PASSWORD].add(speaker.password_digest)
        values[Field.ADDRESS_LIST].add(speaker.address_hash)
        if speaker.version == 3 and isinstance(speaker.address, IPv4Address):
            values[Field.CHECKSUM_FORM].add(speaker.checksum)
    return frozenset(f for f, seen in values.items() if len(seen) > 1)
