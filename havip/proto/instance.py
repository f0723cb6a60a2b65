"""One VRRP instance as a sans-IO state machine (RFC 3768 section 6.4, RFC 5798 section 6.4).

Time is an argument: `handle(event, now)` and `handle_timer(now)` return the actions the
adapter must carry out, in order, interleaved with notifications for subscribers, and
`get_timer()` says when `handle_timer` is due next. Nothing here sleeps, reads a clock or
touches a socket, so tests can move `now` by hand and replay a whole election in microseconds.

Where keepalived departs from the RFC in ways operators rely on, keepalived wins and the
docstring says so: `state MASTER` as a start hint, `nopreempt`, `preempt_delay`, tracker
weights, FAULT, `down_timer_adverts`, and a master answering a lower-priority master with an
immediate advert (unless `lower_prio_no_advert`, which strict mode implies, as the RFC says)
or, with `higher_prio_send_advert`, sending one last advert to a higher-priority one.
"""

from __future__ import annotations

from dataclasses import dataclass

from havip.proto.events import (
    AdvertAnomaly,
    AdvertReceived,
    Announce,
    Event,
    InstallVips,
    LocalAddressChanged,
    MasterConflict,
    Output,
    PacketRejected,
    PeerHeard,
    PriorityChanged,
    Reconfigure,
    ReleaseVips,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
    SyncTo,
    TrackerChanged,
    UpdateVips,
    WantsMaster,
)
from havip.proto.model import (
    AUTH_NONE,
    AUTH_PASS,
    PRIORITY_OWNER,
    PRIORITY_RELEASE,
    Advertisement,
    Anomaly,
    IPAddress,
    Reason,
    RejectReason,
    State,
)
from havip.proto.timers import (
    DOWN_TIMER_ADVERTS,
    hinted_master_down_interval,
    master_down_interval,
    skew_time,
)

AUTH_DATA_LENGTH = 8


@dataclass(frozen=True, slots=True)
class InstanceSettings:
    """What the protocol needs to know about one configured VRRP instance."""

    name: str
    vrid: int
    version: int = 3
    priority: int = 100
    interval_cs: int = 100
    addresses: tuple[IPAddress, ...] = ()
    auth_type: int = AUTH_NONE
    password: bytes = b""
    preempt: bool = True
    preempt_delay: float = 0.0
    start_as_master: bool = False
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    check_address_list: bool = True
    strict: bool = False
    unicast_peers: tuple[IPAddress, ...] = ()
    awaited_trackers: frozenset[str] = frozenset()
    """Trackers whose first result the instance waits for in INIT (weight-0 scripts)."""
    sync_group: bool = False
    """In a vrrp_sync_group: a BACKUP whose down timer fires asks the group (`WantsMaster`)
    and becomes master only when the group sends it (`SyncTo`)."""
    answer_lower_priority: bool = True
    """A master answers a lower-priority advert with its own at once (keepalived's "forcing
    new election"); False is keepalived's `lower_prio_no_advert` and the RFC's discard."""
    answer_higher_priority: bool = False
    """keepalived's `higher_prio_send_advert`: a master overthrown by a higher priority sends
    one advert of its own before it becomes backup."""
    down_timer_adverts: int = DOWN_TIMER_ADVERTS
    """keepalived's `down_timer_adverts`: how many of the master's intervals (plus
    Skew_Time) a backup waits before it takes over."""
    garp_lower_prio_repeat: int = 0
    """keepalived's `garp_lower_prio_repeat`: a master that hears a lower-priority master
    announces its VIPs again with this many gratuitous ARPs / NAs (0: not at all), so the
    clients the other one claimed come back."""
    garp_lower_prio_delay: float = 0.0
    """...and once more this long after (0: no second round)."""


def effective_priority(base: int, trackers: dict[str, tuple[bool, int]]) -> int:
    """Base priority moved by weighted trackers, clamped to 1..254; an owner stays 255.

    keepalived's rule: a positive weight counts while its tracker is up, a negative weight
    while it is down.
    """
    if base == PRIORITY_OWNER:
        return base
    total = base
    for up, weight in trackers.values():
        if (weight > 0 and up) or (weight < 0 and not up):
            total += weight
    return max(1, min(254, total))


class VrrpInstance:
    """The state machine of one VRRP instance (one VRID on one interface and family)."""

    def __init__(self, settings: InstanceSettings, local_address: IPAddress | None = None):
        self.settings = settings
        self.local_address = local_address
        self.state = State.INIT
        self.state_since: float | None = None
        self.effective_priority = settings.priority
        self.master_interval_cs = settings.interval_cs
        self.master_address: IPAddress | None = None
        self.master_priority = 0
        self.last_master_heard: float | None = None
        self._trackers: dict[str, tuple[bool, int]] = {}
        self._auth_data = settings.password[:AUTH_DATA_LENGTH].ljust(AUTH_DATA_LENGTH, b"\0")
        self._vip_set = frozenset(settings.addresses)
        self._advert = self._make_advert(settings.priority)
        self._down_deadline: float | None = None
        self._down_reason = Reason.MASTER_DOWN
        self._advert_deadline: float | None = None
        self._announce_deadline: float | None = None
        self._refresh_deadline: float | None = None
        self._lower_announce_deadline: float | None = None
        self._lower_announced_at: float | None = None
        self._preempt_at: float | None = None
        self._start_requested = False
        self._start_deadline: float | None = None
        self.wants_master = False
        """A sync group member held in BACKUP until its whole group wants MASTER."""
        self._refreshable = False
        """Whether the last event was an advert that only moved the master-down deadline,
        so that the same advert again may take `heard_again` (see there)."""

    # --- what the adapter and subscribers read ------------------------------------------------

    @property
    def faults(self) -> tuple[str, ...]:
        """Names of failing trackers without a weight: any of them means FAULT."""
        return tuple(name for name, (up, weight) in self._trackers.items() if not up and not weight)

    @property
    def awaiting(self) -> tuple[str, ...]:
        """The awaited trackers that have not reported yet (they hold the instance in INIT)."""
        return tuple(n for n in sorted(self.settings.awaited_trackers) if n not in self._trackers)

    @property
    def skew_time(self) -> float:
        return skew_time(self.settings.version, self.effective_priority, self.master_interval_cs)

    @property
    def master_down_interval(self) -> float:
        settings = self.settings
        return master_down_interval(
            settings.version,
            self.effective_priority,
            self.master_interval_cs,
            settings.down_timer_adverts,
        )

    @property
    def advert(self) -> Advertisement:
        """The advertisement this instance sends as master (cached until priority changes)."""
        return self._advert

    @property
    def refreshable(self) -> bool:
        """The last event was a plain advert from the master: the same bytes again from the
        same source may take `heard_again` instead of `handle`."""
        return self._refreshable

    def heard_again(self, now: float) -> None:
        """The fast path for the common case: the master's advert again, byte for byte.

        Valid only while `refreshable` (the adapter compares the bytes and the source): the
        full path would do nothing but move the master-down deadline and note the time, so
        this does exactly that, without building events or outputs. A backup hears this
        hundreds of times a second at scale; anything else (a state change, a tracker, a new
        priority) clears `refreshable` and the next advert takes the full path again.
        """
        self.last_master_heard = now
        self._down_deadline = now + self.master_down_interval

    def get_timer(self) -> float | None:
        """The earliest time `handle_timer` must be called, or None if nothing is pending."""
        earliest = self._down_deadline
        for deadline in (
            self._start_deadline,
            self._advert_deadline,
            self._announce_deadline,
            self._refresh_deadline,
            self._lower_announce_deadline,
        ):
            if deadline is not None and (earliest is None or deadline < earliest):
                earliest = deadline
        return earliest

    # --- inputs -------------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Output]:
        """Apply one event at time `now`; return the actions and notifications, in order."""
        self._refreshable = False
        if isinstance(event, AdvertReceived):
            return self._on_advert(event.advert, event.source, now)
        if isinstance(event, TrackerChanged):
            return self._on_tracker(event, now)
        if isinstance(event, Start):
            return self._on_start(event, now)
        if isinstance(event, Shutdown):
            return self._on_shutdown(event.reason, now)
        if isinstance(event, LocalAddressChanged):
            self.local_address = event.address
            return []
        if isinstance(event, SyncTo):
            return self._on_sync(event.state, now)
        if isinstance(event, Reconfigure):
            return self._on_reconfigure(event, now)
        raise TypeError(f"not a VRRP instance event: {event!r}")

    def handle_timer(self, now: float) -> list[Output]:
        """Fire every deadline that is due at `now`."""
        out: list[Output] = []
        if self._start_deadline is not None and now >= self._start_deadline:
            self._start_deadline = None
            self._try_start(now, out)
        if self._down_deadline is not None and now >= self._down_deadline:
            self._down_deadline = None
            if self.state is State.BACKUP and self.settings.sync_group:
                self._ask_group(now, out)
            elif self.state is State.BACKUP:
                self._become_master(self._down_reason, now, out)
        if self._advert_deadline is not None and now >= self._advert_deadline:
            interval = self.settings.interval_cs / 100.0
            following = self._advert_deadline + interval
            self._advert_deadline = following if following > now else now + interval
            out.append(SendAdvert(self._advert))
        if self._announce_deadline is not None and now >= self._announce_deadline:
            self._announce_deadline = None
            out.append(Announce(self.settings.garp_master_repeat))
        if self._refresh_deadline is not None and now >= self._refresh_deadline:
            self._refresh_deadline = now + self.settings.garp_master_refresh
            out.append(Announce(self.settings.garp_master_refresh_repeat, refresh=True))
        if self._lower_announce_deadline is not None and now >= self._lower_announce_deadline:
            self._lower_announce_deadline = None
            out.append(Announce(self.settings.garp_lower_prio_repeat))
        return out

    # --- event handlers -----------------------------------------------------------------------

    def _on_start(self, event: Start, now: float) -> list[Output]:
        out: list[Output] = []
        if self.state is not State.INIT or self._start_requested:
            return out
        self._start_requested = True
        if event.not_before > now:
            self._start_deadline = event.not_before
            return out
        self._try_start(now, out)
        return out

    def _try_start(self, now: float, out: list[Output]) -> None:
        """Leave INIT once start was asked for, the start delay is over and every awaited
        tracker has reported."""
        if (
            self.state is not State.INIT
            or not self._start_requested
            or self._start_deadline is not None
            or self.awaiting
        ):
            return
        if self.settings.preempt_delay > 0:
            self._preempt_at = now + self.settings.preempt_delay
        if self.faults:
            self._transition(State.FAULT, Reason.FAULT, now, out, detail=", ".join(self.faults))
        elif self.settings.priority == PRIORITY_OWNER:
            self._become_master(Reason.OWNER, now, out)
        else:
            self._enter_backup(Reason.STARTUP, now, out, hinted=self.settings.start_as_master)

    def _on_shutdown(self, reason: Reason, now: float) -> list[Output]:
        out: list[Output] = []
        if self.state is State.STOP:
            return out
        if self.state is State.MASTER:
            out.append(SendAdvert(self._make_advert(PRIORITY_RELEASE)))
            out.append(ReleaseVips())
        self._clear_deadlines()
        self._transition(State.STOP, reason, now, out)
        return out

    def _on_tracker(self, event: TrackerChanged, now: float) -> list[Output]:
        out: list[Output] = []
        was_faulty = bool(self.faults)
        self._trackers[event.name] = (event.up, event.weight)
        new_priority = effective_priority(self.settings.priority, self._trackers)
        if new_priority != self.effective_priority:
            out.append(
                PriorityChanged(self.effective_priority, new_priority, event.name, self.state)
            )
            self.effective_priority = new_priority
            self._advert = self._make_advert(new_priority)
            if self.state is State.MASTER:
                self.master_priority = new_priority
        faulty = bool(self.faults)
        if self.state is State.INIT:
            self._try_start(now, out)
        elif faulty and not was_faulty and self.state in (State.BACKUP, State.MASTER):
            self._enter_fault(event.name, now, out)
        elif was_faulty and not faulty and self.state is State.FAULT:
            if self.settings.priority == PRIORITY_OWNER:
                self._become_master(Reason.FAULT_CLEARED, now, out)
            else:
                self._enter_backup(Reason.FAULT_CLEARED, now, out)
        return out

    def _on_reconfigure(self, event: Reconfigure, now: float) -> list[Output]:
        """New settings in place: a master keeps its VIPs (adding and removing only the
        difference) and tells the group its new advert at once; nobody changes state, except
        an instance whose only faults came from trackers the reload removed."""
        out: list[Output] = []
        old = self.settings
        new = event.settings
        was_faulty = bool(self.faults)
        self.settings = new
        self._auth_data = new.password[:AUTH_DATA_LENGTH].ljust(AUTH_DATA_LENGTH, b"\0")
        self._vip_set = frozenset(new.addresses)
        self._trackers = {n: v for n, v in self._trackers.items() if n in event.trackers}
        priority = effective_priority(new.priority, self._trackers)
        if priority != self.effective_priority:
            out.append(PriorityChanged(self.effective_priority, priority, "reload", self.state))
            self.effective_priority = priority
        advert = self._make_advert(priority)
        changed_advert = advert != self._advert
        self._advert = advert
        if self.state is State.MASTER:
            self._reconfigure_master(old, changed_advert, now, out)
        elif was_faulty and not self.faults and self.state is State.FAULT:
            self._enter_backup(Reason.FAULT_CLEARED, now, out)
        elif self.state is State.INIT:
            self._try_start(now, out)
        return out

    def _reconfigure_master(
        self, old: InstanceSettings, changed_advert: bool, now: float, out: list[Output]
    ) -> None:
        new = self.settings
        self.master_priority = self.effective_priority
        self.master_interval_cs = new.interval_cs
        kept = frozenset(old.addresses)
        added = tuple(a for a in new.addresses if a not in kept)
        removed = tuple(a for a in old.addresses if a not in self._vip_set)
        if added or removed:
            out.append(UpdateVips(added, removed))
        if added:
            out.append(Announce(new.garp_master_repeat))
        if changed_advert:
            out.append(SendAdvert(self._advert))
            self._advert_deadline = now + new.interval_cs / 100.0
        if new.garp_master_refresh != old.garp_master_refresh:
            refresh = new.garp_master_refresh
            self._refresh_deadline = now + refresh if refresh > 0 else None

    def _ask_group(self, now: float, out: list[Output]) -> None:
        """keepalived's vrrp_sync_can_goto_master: want MASTER and wait for the group, checking
        again after another master-down interval."""
        if not self.wants_master:
            self.wants_master = True
            out.append(WantsMaster(True))
        self._down_deadline = now + self.master_down_interval
        self._refreshable = False  # the next advert must take the full path and withdraw it

    def _on_sync(self, state: State, now: float) -> list[Output]:
        out: list[Output] = []
        if state is State.MASTER and self.state is State.BACKUP:
            # The member whose own timer fired reports its own reason; the others follow.
            reason = self._down_reason if self.wants_master else Reason.SYNC_GROUP
            self._become_master(reason, now, out)
        elif state is State.BACKUP and self.state is State.MASTER:
            self._clear_deadlines()
            out.append(ReleaseVips())
            self._transition(State.BACKUP, Reason.SYNC_GROUP, now, out)
            self.master_address = None
            self._down_reason = Reason.MASTER_DOWN
            self._down_deadline = now + self.master_down_interval
        return out

    def _on_advert(self, advert: Advertisement, source: IPAddress, now: float) -> list[Output]:
        if self.state in (State.INIT, State.STOP):
            return []
        rejected = self._check(advert, source)
        if rejected is not None:
            return [rejected]
        out: list[Output] = [PeerHeard(source, advert.priority, advert.interval_cs, now)]
        self._note_anomalies(advert, source, out)
        if self.state is State.BACKUP:
            self._refreshable = self._backup_heard(advert, source, now, out) and len(out) == 1
        elif self.state is State.MASTER:
            self._master_heard(advert, source, now, out)
        return out

    def _check(self, advert: Advertisement, source: IPAddress) -> PacketRejected | None:
        """Instance-level validation after decoding (RFC 3768 7.1, RFC 5798 7.1)."""
        settings = self.settings
        if source == self.local_address:
            return PacketRejected(RejectReason.OWN_ADVERT, source, "our own advertisement")
        if settings.unicast_peers and source not in settings.unicast_peers:
            return PacketRejected(
                RejectReason.UNKNOWN_PEER, source, "not a configured unicast_peer"
            )
        if advert.version != settings.version:
            return PacketRejected(
                RejectReason.VERSION,
                source,
                f"version {advert.version}, this instance runs version {settings.version}",
            )
        if settings.version == 2:
            if advert.auth_type != settings.auth_type:
                return PacketRejected(
                    RejectReason.AUTH_MISMATCH,
                    source,
                    f"auth type {advert.auth_type}, expected {settings.auth_type}",
                )
            if settings.auth_type == AUTH_PASS and advert.auth_data != self._auth_data:
                return PacketRejected(RejectReason.AUTH_PASSWORD, source, "wrong password")
            if advert.interval_cs != settings.interval_cs:
                return PacketRejected(
                    RejectReason.INTERVAL,
                    source,
                    f"interval {advert.interval:g}s, ours is {settings.interval_cs / 100:g}s",
                )
        if settings.strict and self._address_list_differs(advert):
            return PacketRejected(
                RejectReason.ADDRESS_LIST, source, self._address_list_detail(advert)
            )
        return None

    def _address_list_differs(self, advert: Advertisement) -> bool:
        return self.settings.check_address_list and frozenset(advert.addresses) != self._vip_set

    def _address_list_detail(self, advert: Advertisement) -> str:
        """keepalived 2.3.3's wording (its log greps keep working)."""
        if len(advert.addresses) != len(self._vip_set):
            return f"expected {len(self._vip_set)} VIPs but received {len(advert.addresses)}"
        missing = ",".join(sorted(map(str, self._vip_set.difference(advert.addresses))))
        return (
            f"ip address associated with VRID {self.settings.vrid} not present in advert: {missing}"
        )

    def _note_anomalies(self, advert: Advertisement, source: IPAddress, out: list[Output]) -> None:
        """Deviations an accepted advert is counted and logged for (RFC 5798 7.1: log, go on).

        Outside `vrrp_strict`, a different address list is accepted as keepalived 2.3.3+ does:
        dropping it makes a second master of every router whose VIPs differ mid-migration.
        """
        if self._address_list_differs(advert):
            out.append(
                AdvertAnomaly(Anomaly.ADDRESS_LIST, source, self._address_list_detail(advert))
            )
        if advert.trailer:
            out.append(
                AdvertAnomaly(
                    Anomaly.TRAILING_BYTES,
                    source,
                    f"{len(advert.trailer)} bytes after the VRRP message (keepalived auth_hmac?)",
                )
            )

    def _backup_heard(
        self, advert: Advertisement, source: IPAddress, now: float, out: list[Output]
    ) -> bool:
        """Follow the master; True when this only moved the master-down deadline in a way
        the same advert at a later time would repeat (see `heard_again`)."""
        self.master_address = source
        self.master_priority = advert.priority
        self.last_master_heard = now
        if advert.priority == PRIORITY_RELEASE:
            self._down_reason = Reason.PRIORITY_ZERO
            self._down_deadline = now + self.skew_time
            return False
        if advert.priority >= self.effective_priority:
            self._preempt_at = None
        elif self._may_preempt(now):
            self._down_reason = Reason.PREEMPT
            return False
        if self.settings.version == 3:
            self.master_interval_cs = advert.interval_cs
        self._down_reason = Reason.MASTER_DOWN
        self._down_deadline = now + self.master_down_interval
        if self.wants_master:  # a master is accepted again: back to wanting BACKUP
            self.wants_master = False
            out.append(WantsMaster(False))
        # A lower priority is only kept by nopreempt or a running preempt_delay; the delay
        # depends on `now`, so only nopreempt makes it repeatable.
        return advert.priority >= self.effective_priority or not self.settings.preempt

    def _may_preempt(self, now: float) -> bool:
        """Whether a lower-priority master may be overthrown now (nopreempt, preempt_delay)."""
        if not self.settings.preempt:
            return False
        if self.settings.preempt_delay <= 0:
            return True
        if self._preempt_at is None:
            self._preempt_at = now + self.settings.preempt_delay
        return now >= self._preempt_at

    def _master_heard(
        self, advert: Advertisement, source: IPAddress, now: float, out: list[Output]
    ) -> None:
        if advert.priority == PRIORITY_RELEASE:
            out.append(SendAdvert(self._advert))
            self._advert_deadline = now + self.settings.interval_cs / 100.0
            return
        theirs_wins = advert.priority > self.effective_priority or (
            advert.priority == self.effective_priority and _outranks(source, self.local_address)
        )
        out.append(MasterConflict(source, advert.priority, won=not theirs_wins))
        if not theirs_wins:
            # keepalived's "forcing new election": answer at once, keep the schedule.
            if self.settings.answer_lower_priority:
                out.append(SendAdvert(self._advert))
            self._announce_again(now, out)
            return
        if self.settings.answer_higher_priority:
            out.append(SendAdvert(self._advert))
        self._clear_deadlines()
        out.append(ReleaseVips())
        self._transition(State.BACKUP, Reason.HIGHER_PRIORITY, now, out)
        self.master_address = source
        self.master_priority = advert.priority
        self.last_master_heard = now
        if self.settings.version == 3:
            self.master_interval_cs = advert.interval_cs
        self._down_reason = Reason.MASTER_DOWN
        self._down_deadline = now + self.master_down_interval

    def _announce_again(self, now: float, out: list[Output]) -> None:
        """garp_lower_prio_repeat: the other master may have claimed our VIPs' clients.

        keepalived announces for every lower-priority advert; havip at most once per advert
        interval, so a flood of forged lower-priority adverts cannot make the master an
        amplifier of gratuitous ARPs (a real second master sends one advert per interval)."""
        settings = self.settings
        if not settings.garp_lower_prio_repeat:
            return
        last = self._lower_announced_at
        if last is not None and now - last < settings.interval_cs / 100.0:
            return
        self._lower_announced_at = now
        out.append(Announce(settings.garp_lower_prio_repeat))
        if settings.garp_lower_prio_delay > 0:
            self._lower_announce_deadline = now + settings.garp_lower_prio_delay

    # --- transitions --------------------------------------------------------------------------

    def _become_master(self, reason: Reason, now: float, out: list[Output]) -> None:
        self._transition(State.MASTER, reason, now, out)
        self.master_address = self.local_address
        self.master_priority = self.effective_priority
        self.master_interval_cs = self.settings.interval_cs
        out.append(InstallVips())
        out.append(SendAdvert(self._advert))
        out.append(Announce(self.settings.garp_master_repeat))
        settings = self.settings
        self._down_deadline = None
        self._advert_deadline = now + settings.interval_cs / 100.0
        if settings.garp_master_delay > 0:
            self._announce_deadline = now + settings.garp_master_delay
        if settings.garp_master_refresh > 0:
            self._refresh_deadline = now + settings.garp_master_refresh

    def _enter_backup(
        self, reason: Reason, now: float, out: list[Output], hinted: bool = False
    ) -> None:
        self._transition(State.BACKUP, reason, now, out)
        self.master_interval_cs = self.settings.interval_cs
        self.master_address = None
        self.master_priority = 0
        self._down_reason = Reason.MASTER_DOWN
        if hinted:
            delay = hinted_master_down_interval(self.settings.version, self.master_interval_cs)
        else:
            delay = self.master_down_interval
        self._down_deadline = now + delay

    def _enter_fault(self, tracker: str, now: float, out: list[Output]) -> None:
        if self.state is State.MASTER:
            out.append(SendAdvert(self._make_advert(PRIORITY_RELEASE)))
            out.append(ReleaseVips())
        self._clear_deadlines()
        self._transition(State.FAULT, Reason.FAULT, now, out, detail=tracker)
        self.master_address = None
        self.master_priority = 0

    def _transition(
        self, new: State, reason: Reason, now: float, out: list[Output], detail: str = ""
    ) -> None:
        out.append(
            StateChanged(
                old=self.state,
                new=new,
                reason=reason,
                at=now,
                priority=self.effective_priority,
                master=self.master_address,
                last_master_heard=self.last_master_heard,
                detail=detail,
            )
        )
        self.state = new
        self.state_since = now
        self.wants_master = False  # the group learns a new state from StateChanged
        self._refreshable = False

    def _clear_deadlines(self) -> None:
        self._start_deadline = None
        self._down_deadline = None
        self._advert_deadline = None
        self._announce_deadline = None
        self._refresh_deadline = None
        self._lower_announce_deadline = None
        self._lower_announced_at = None

    def _make_advert(self, priority: int) -> Advertisement:
        settings = self.settings
        return Advertisement(
            version=settings.version,
            vrid=settings.vrid,
            priority=priority,
            interval_cs=settings.interval_cs,
            addresses=settings.addresses,
            auth_type=settings.auth_type if settings.version == 2 else AUTH_NONE,
            auth_data=self._auth_data if settings.auth_type == AUTH_PASS else b"",
        )


def _outranks(theirs: IPAddress, ours: IPAddress | None) -> bool:
    """RFC tie-break: the higher primary address wins, compared as unsigned integers."""
    if ours is None:
        return True
    return int(theirs) > int(ours)
