"""The whole router as one pure object: every instance, sync group and tracker, no I/O.

The supervisor owns every VRRP instance by name (and, for receiving, by interface, family and
VRID), the sync groups, which tracker feeds which instance, the links as last reported, and
what a reload does. Its inputs are values with `now` (a datagram, a link snapshot, a tracker
result, a due timer, a parsed configuration, shutdown); each call appends the effects to carry
out, in order, to `effects`, which the trio loop in `havip.agent` takes and carries out: send,
change VIPs, announce, run notify, open or close an endpoint, re-arm a timer, and the reports
observers hear. Nothing here sleeps, reads a clock or touches the OS, so it is tested by
calling it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address
from typing import Literal

from havip.config.model import LoadedConfig, TrackedInterface
from havip.config.model import VrrpInstance as InstanceConfig
from havip.effects import (
    Announce,
    ChangeRouting,
    ChangeVips,
    CloseEndpoint,
    CreateVmac,
    Effect,
    EndpointKey,
    Firewall,
    GroupNotify,
    ListenForVips,
    OpenEndpoint,
    PacerKey,
    PromoteSecondaries,
    Rearm,
    RearmPacer,
    RemoveLeftovers,
    TakeoverDone,
    Transmit,
)
from havip.net.firewall import FirewallTable
from havip.net.netlink import LinkInfo, VipSpec
from havip.net.vmac import solicited_node_group, virtual_mac
from havip.net.vrrpsock import Datagram
from havip.observer import (
    AnnouncementKind,
    InstanceRuntime,
    InstancesChanged,
    InterfaceTracked,
    PacketDropped,
    Stepped,
)
from havip.pacing import Frame, Pacer
from havip.proto import events, syncgroup
from havip.proto.events import (
    AdvertReceived,
    Event,
    InstallVips,
    LocalAddressChanged,
    Output,
    PeerHeard,
    Reconfigure,
    ReleaseVips,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
    SyncTo,
    TrackerChanged,
    UpdateVips,
)
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import (
    AUTH_NONE,
    AUTH_PASS,
    VRRP_TTL,
    Advertisement,
    ChecksumMode,
    DecodeError,
    IPAddress,
    Reason,
    RejectReason,
    State,
)
from havip.proto.packet import decode, encode
from havip.proto.trackers import file_tracker, process_tracker, script_tracker, weighted_event
from havip.reload import ReloadPlan, plan_reload

log = logging.getLogger("havip")

_ANNOUNCEMENTS: tuple[tuple[AnnouncementKind, int], ...] = (("garp", 4), ("na", 6))
"""Gratuitous ARP for a device's IPv4 VIPs, unsolicited NA for its IPv6 ones."""

RECEIVE_WINDOW_SHARE = 20
"""An endpoint's receive window is its smallest advert interval divided by this."""
RECEIVE_WINDOW_MAX = 0.05
"""...and at most 50 ms: how much later a master hears a higher priority, at worst."""

REARM_AHEAD = 1.5
"""In the master's advert intervals: a backup's fast path re-arms its master-down deadline
only when the armed one is nearer than this, so the next advert (due in one interval, with
half an interval for jitter) normally re-arms it first: about one heap push per three adverts."""

PEERS_PER_INSTANCE = 16
"""Routers remembered per instance (/status, the peers gauge); spoofed sources cannot grow it."""


def settings_for(
    config: InstanceConfig,
    skip_check_adv_addr: bool,
    awaited_trackers: frozenset[str] = frozenset(),
    sync_group: bool = False,
) -> InstanceSettings:
    """The protocol's view of one configured instance."""
    auth = config.authentication
    return InstanceSettings(
        name=config.name,
        vrid=config.vrid,
        version=config.version,
        priority=config.priority,
        interval_cs=round(config.advert_int * 100),
        addresses=tuple(vip.interface.ip for vip in config.vips),
        auth_type=AUTH_PASS if auth is not None and config.version == 2 else AUTH_NONE,
        password=auth.password if auth is not None else b"",
        preempt=not config.nopreempt,
        preempt_delay=config.preempt_delay,
        start_as_master=config.initial_state == "MASTER",
        garp_master_delay=config.garp_master_delay,
        garp_master_repeat=config.garp_master_repeat,
        garp_master_refresh=config.garp_master_refresh,
        garp_master_refresh_repeat=config.garp_master_refresh_repeat,
        check_address_list=not (config.skip_check_adv_addr or skip_check_adv_addr),
        strict=config.strict_mode,
        unicast_peers=config.unicast_peers,
        awaited_trackers=awaited_trackers,
        sync_group=sync_group,
        answer_lower_priority=not config.lower_prio_no_advert,
        answer_higher_priority=config.higher_prio_send_advert,
        down_timer_adverts=config.down_timer_adverts,
        garp_lower_prio_repeat=config.garp_lower_prio_repeat,
        garp_lower_prio_delay=config.garp_lower_prio_delay,
    )


def routing(config: InstanceConfig, runtime: InstanceRuntime) -> ChangeRouting | None:
    """What a master of `config` adds after its VIPs (removed as `replace(..., op=...)`)."""
    if not config.virtual_routes and not config.virtual_rules:
        return None
    return ChangeRouting(runtime, "add", config.virtual_routes, config.virtual_rules)


def vip_specs(config: InstanceConfig) -> tuple[VipSpec, ...]:
    """Every address the instance adds when master, as netlink needs them."""
    return tuple(
        VipSpec(
            v.interface, v.device or config.vmac or config.interface, v.label, v.scope, v.broadcast
        )
        for v in (*config.vips, *config.excluded_vips)
    )


def interface_tracker(name: str) -> str:
    """The tracker name under which an interface's link state reaches the state machine."""
    return f"interface {name}"


def address_tracker(name: str) -> str:
    return f"no address on {name}"


NO_PEER_FAULT = "no unicast peer"
"""The tracker that holds an instance with `unicast_fault_no_peer` and no peers in FAULT."""


@dataclass(eq=False)
class Driven:
    """One instance as the supervisor drives it: config, runtime view, wire details."""

    config: InstanceConfig
    runtime: InstanceRuntime
    vip_specs: tuple[VipSpec, ...]
    routing: ChangeRouting | None
    """The routes and rules a master adds (None: it has none)."""
    listening: ListenForVips | None = None
    """The solicited-node groups an IPv6 master with a VMAC joined (left when it leaves)."""
    retired_specs: tuple[VipSpec, ...] = ()
    """The VIP specs before an in-place reload, for the VIPs it removes."""
    endpoint: EndpointKey | None = None
    source: IPAddress | None = None
    encoded_for: Advertisement | None = None
    encoded: tuple[tuple[IPAddress, bytes], ...] = ()
    heard: Datagram | None = None
    """The last advert the machine found plain: while it stays `refreshable`, the same
    datagram again (often the very object: the socket hands it back) takes its fast path."""
    armed: float | None = None
    """The deadline the loop was last told to arm (by `rearm`): the one it holds."""
    transmit: Transmit | None = None
    """The last advert's Transmit: the same value again while advert, source and route are."""
    rearm: Rearm = field(init=False)
    """This instance's one Rearm: a master asks for it every interval, so it is made once."""

    def __post_init__(self) -> None:
        self.rearm = Rearm(self)

    @property
    def machine(self) -> VrrpInstance:
        return self.runtime.machine


@dataclass(frozen=True, slots=True)
class PendingReload:
    """A reload between its halves: what it does, and the runtimes it has stopped."""

    plan: ReloadPlan
    removed: tuple[InstanceRuntime, ...]


@dataclass(eq=False)
class _Endpoint:
    group: IPAddress
    by_vrid: dict[int, Driven] = field(default_factory=dict)
    window: float | None = None
    """The receive window, computed when first asked after its instances changed."""


class Supervisor:
    """Every instance of one configuration, fed values, answering with effects."""

    def __init__(self, config: LoadedConfig) -> None:
        self.config = config
        self.effects: list[Effect] = []
        self.driven: dict[str, Driven] = {}
        self.links: dict[str, LinkInfo | None] = {}
        self._endpoints: dict[EndpointKey, _Endpoint] = {}
        self._pacers: dict[PacerKey, Pacer] = {}
        self._vmacs_requested: set[str] = set()
        self._start_not_before: float | None = None
        self._groups = _sync_groups(config)
        self._checksum_mode = ChecksumMode(config.global_defs.v3_checksum_mode)

    def take(self) -> list[Effect]:
        """The effects so far, in order, handed over once."""
        effects, self.effects = self.effects, []
        return effects

    @property
    def runtimes(self) -> list[InstanceRuntime]:
        return [d.runtime for d in self.driven.values()]

    def link(self, name: str) -> LinkInfo | None:
        """The interface called `name` as last reported (None: absent or not reported)."""
        return self.links.get(name)

    def receive_window(self, key: EndpointKey) -> float:
        """How long endpoint `key` lets adverts gather after a wake-up (see havip.receiving).

        A twentieth of the smallest advert interval among its instances, configured or
        heard (v3 backups adopt the master's), at most RECEIVE_WINDOW_MAX.
        """
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            return 0.0
        if endpoint.window is None:
            smallest = min(
                (
                    min(d.machine.settings.interval_cs, d.machine.master_interval_cs)
                    for d in endpoint.by_vrid.values()
                ),
                default=0,
            )
            endpoint.window = min(RECEIVE_WINDOW_MAX, smallest / 100 / RECEIVE_WINDOW_SHARE)
        return endpoint.window

    def interfaces(self) -> set[str]:
        """Every interface the configuration names: the links the loop must report."""
        names: set[str] = set()
        for driven in self.driven.values():
            names.add(driven.config.interface)
            names.update(spec.device for spec in driven.vip_specs)
            names.update(t.name for t in self._tracked_interfaces(driven))
        return names

    # --- start-up and shutdown ----------------------------------------------------------------

    def create_all(self) -> list[InstanceRuntime]:
        """Create every configured instance (in INIT) and return their runtimes."""
        return [self._create(c).runtime for c in self.config.instances]

    def remove_leftovers(self) -> None:
        """After a crash, remove the VIPs and routes a previous havip left (tagged as havip's)."""
        for driven in self.driven.values():
            if driven.routing is not None:
                self.effects.append(replace(driven.routing, op="remove"))
            for device in dict.fromkeys(spec.device for spec in driven.vip_specs):
                link = self.links.get(device)
                if link is not None:
                    specs = tuple(s for s in driven.vip_specs if s.device == device)
                    self.effects.append(RemoveLeftovers(driven.runtime, link.index, specs))

    def bring_up(
        self, names: Sequence[str] | None = None, now: float = 0.0, uptime: float | None = None
    ) -> None:
        """Feed instances (default: all, at start-up) their link and tracker state, then start
        them; none leaves INIT before `vrrp_startup_delay` after start-up has passed, nor
        before `vrrp_delay_after_boot` after boot (`uptime`: seconds since then, if known)."""
        if self._start_not_before is None:
            defs = self.config.global_defs
            delay = defs.startup_delay
            if uptime is not None:
                delay = max(delay, defs.delay_after_boot - uptime)
            self._start_not_before = now + delay
        start = Start(not_before=self._start_not_before)
        for name in self.driven if names is None else names:
            driven = self.driven[name]
            self._feed_links(driven, now)
            self._feed(driven, start, now)
            self._rearm(driven)  # a start delay is a deadline without outputs

    def start_delay(self, now: float) -> float:
        """How long instances are still held in INIT by the start-up delays."""
        return 0.0 if self._start_not_before is None else max(0.0, self._start_not_before - now)

    def shutdown(self, reason: Reason, now: float) -> None:
        """Stop every instance: a master sends priority 0 and releases its VIPs."""
        for driven in list(self.driven.values()):
            self._feed(driven, Shutdown(reason), now)

    # --- inputs -------------------------------------------------------------------------------

    def feed(self, name: str, event: Event, now: float) -> None:
        """An event (a tracker's result) for the instance called `name`, if it exists."""
        driven = self.driven.get(name)
        if driven is not None:
            self._feed(driven, event, now)

    def timer(self, driven: Driven, now: float) -> None:
        """`driven`'s deadline came (ignored if a reload replaced it meanwhile).

        The master's periodic advert, by far the most common timer, skips the step report:
        it only counts, sends and re-arms. A timer that finds nothing due (a drain before a
        takeover moved the deadline) is just re-armed.
        """
        if self.driven.get(driven.config.name) is not driven:
            return
        machine = driven.machine
        outputs = machine.handle_timer(now)
        if len(outputs) == 1:
            output = outputs[0]
            if isinstance(output, SendAdvert) and output.advert is machine.advert:
                driven.runtime.adverts_sent += 1
                self._transmit(driven, output.advert)
                self._rearm(driven)
                return
        self._step(driven, outputs, now)
        if not outputs:
            self._rearm(driven)

    def datagram(self, key: EndpointKey, item: Datagram | DecodeError, now: float) -> None:
        """A packet received on endpoint `key` at `now`: checked, decoded, handed to its VRID."""
        interface = key[0]
        if isinstance(item, DecodeError):
            self.effects.append(
                PacketDropped(interface, item.reason, None, None, item.detail, item.count)
            )
            return
        endpoint = self._endpoints.get(key)
        payload = item.payload
        claimed = endpoint.by_vrid.get(payload[1]) if endpoint and len(payload) > 1 else None
        if (
            claimed is not None
            and claimed.machine.refreshable
            and (claimed.heard is item or claimed.heard == item)
            and item.ttl == VRRP_TTL
        ):
            self._heard_again(claimed, item.source, now)
            return
        runtime = claimed.runtime if claimed is not None else None
        if item.ttl != VRRP_TTL:
            detail = f"TTL {item.ttl}, expected {VRRP_TTL}"
            self.effects.append(
                PacketDropped(interface, RejectReason.TTL, item.source, runtime, detail)
            )
            return
        try:
            advert = decode(payload, source=item.source, destination=item.destination)
        except DecodeError as error:
            self.effects.append(
                PacketDropped(interface, error.reason, item.source, runtime, error.detail)
            )
            return
        if claimed is None:
            detail = f"no instance for VRID {advert.vrid}"
            self.effects.append(
                PacketDropped(interface, RejectReason.VRID, item.source, None, detail)
            )
            return
        machine = claimed.machine
        interval = machine.master_interval_cs
        self._step(claimed, machine.handle(AdvertReceived(advert, item.source), now), now)
        claimed.heard = item if machine.refreshable else None
        if machine.master_interval_cs != interval and endpoint is not None:
            endpoint.window = None

    def _heard_again(self, driven: Driven, source: IPAddress, now: float) -> None:
        """The master's advert again, byte for byte: the machine's fast path, counted here.

        Same bytes from the same source and to the same destination decode, check and act
        the same, so nothing is decoded and no step is reported. The moved deadline is
        re-armed only when the armed one is less than `REARM_AHEAD` intervals away: until
        then the master's next advert is due first, so the loop holds a deadline no later
        than the real one without a heap push per advert, and never wakes for one that moved
        (should the master fall silent, the armed deadline fires early, finds nothing due,
        and is re-armed at the real one)."""
        machine = driven.machine
        machine.heard_again(now)
        runtime = driven.runtime
        runtime.adverts_received += 1
        runtime.peers[source] = (machine.master_priority, now)
        armed = driven.armed
        if armed is None or armed - now < REARM_AHEAD * machine.master_interval_cs / 100:
            self._rearm(driven)

    def _rearm(self, driven: Driven) -> None:
        """Have the loop arm `driven`'s timer at the machine's earliest deadline."""
        driven.armed = driven.machine.get_timer()
        self.effects.append(driven.rearm)

    def announce_due(self, key: PacerKey, now: float) -> None:
        """The spaced announcements waiting on `key` may go: send the ones whose turn came."""
        pacer = self._pacers.get(key)
        if pacer is None:
            return
        by_owner: dict[str, list[Frame]] = {}
        for frame in pacer.due(now):
            by_owner.setdefault(frame.owner, []).append(frame)
        device, kind = key
        for owner, frames in by_owner.items():
            driven = self.driven.get(owner)
            if driven is not None:
                addresses = tuple(f.address for f in frames)
                mac = frames[0].mac
                self.effects.append(
                    Announce(driven.runtime, device, mac, addresses, 1, kind, paced=True)
                )
        self.effects.append(RearmPacer(key, pacer.deadline()))

    def links_changed(self, links: Mapping[str, LinkInfo | None], now: float) -> None:
        """The links as they are now: faults, sources and endpoints follow them."""
        before = self.links
        self.links = dict(links)
        for driven in list(self.driven.values()):
            names = (driven.config.interface, driven.config.vmac)
            if any(self.links.get(n) != before.get(n) for n in names if n is not None):
                self._apply_link_state(driven, now)
            for tracked in self._tracked_interfaces(driven):
                old, new = before.get(tracked.name), self.links.get(tracked.name)
                if (old is not None and old.up) != (new is not None and new.up):
                    self._track_interface(driven, tracked, new is not None and new.up, now)

    def endpoint_failed(self, key: EndpointKey) -> None:
        """The loop could not open endpoint `key`: forget it, so a link change retries."""
        endpoint = self._endpoints.pop(key, None)
        if endpoint is not None:
            for driven in endpoint.by_vrid.values():
                driven.endpoint = None

    # --- reload -------------------------------------------------------------------------------

    def reload_stop(self, new: LoadedConfig, now: float) -> PendingReload:
        """First half of a reload: stop what `new` removes (priority 0, STOP notify)."""
        plan = plan_reload(self.config, new)
        for driven in self.driven.values():
            driven.heard = None  # global settings (checksum mode, address checks) may change
        removed: list[InstanceRuntime] = []
        for config in plan.removed:
            driven = self.driven.pop(config.name)
            self._step(driven, driven.machine.handle(Shutdown(Reason.RELOAD), now), now)
            self._detach(driven)
            removed.append(driven.runtime)
        self.config = new
        self._checksum_mode = ChecksumMode(new.global_defs.v3_checksum_mode)
        self._groups = _sync_groups(new)
        for (_device, kind), pacer in self._pacers.items():
            pacer.interval = self._announce_interval(kind)
        return PendingReload(plan, tuple(removed))

    def reconfigure(
        self, pairs: Sequence[tuple[InstanceConfig, InstanceConfig]], now: float
    ) -> list[InstanceRuntime]:
        """Second half, part one, once the new notify dispatcher runs: apply changed settings
        in place (no state change, no VIP gap); the loop may yield between batches."""
        changed = []
        for old, config in pairs:
            driven = self.driven[old.name]
            was_master = driven.machine.state is State.MASTER
            changed.append(self._reconfigure(driven, config))
            if driven.endpoint is not None and driven.endpoint in self._endpoints:
                self._endpoints[driven.endpoint].window = None
            settings = self._settings(config)
            self._feed(driven, Reconfigure(settings, self._tracker_names(driven)), now)
            if was_master:
                self._reroute(driven, old)
            driven.retired_specs = ()
            self._feed_links(driven, now)
        return changed

    def create_added(self, pending: PendingReload, changed: Sequence[InstanceRuntime]) -> list[str]:
        """Second half, part two: create the new instances, report the reload, and return the
        new names for `bring_up` (after the loop has fed them their initial tracker values)."""
        added = [self._create(config).runtime for config in pending.plan.added]
        self.effects.append(InstancesChanged(tuple(added), pending.removed, tuple(changed)))
        return [runtime.name for runtime in added]

    # --- instances ----------------------------------------------------------------------------

    def _create(self, config: InstanceConfig) -> Driven:
        settings = self._settings(config)
        runtime = InstanceRuntime(
            name=config.name,
            vrid=config.vrid,
            interface=config.interface,
            family=config.family,
            version=config.version,
            vips=tuple(sorted(str(v.interface.ip) for v in config.vips)),
            machine=VrrpInstance(settings),
            sync_group=self._group_of(config.name),
        )
        driven = Driven(config, runtime, vip_specs(config), routing(config, runtime))
        if config.promote_secondaries:
            self.effects.append(PromoteSecondaries(runtime, config.interface))
        self.driven[config.name] = driven
        return driven

    def _reconfigure(self, driven: Driven, config: InstanceConfig) -> InstanceRuntime:
        if config.promote_secondaries and not driven.config.promote_secondaries:
            self.effects.append(PromoteSecondaries(driven.runtime, config.interface))
        driven.retired_specs = driven.vip_specs
        driven.config = config
        driven.vip_specs = vip_specs(config)
        driven.routing = routing(config, driven.runtime)
        driven.encoded_for = None
        runtime = driven.runtime
        runtime.vips = tuple(sorted(str(v.interface.ip) for v in config.vips))
        runtime.sync_group = self._group_of(config.name)
        return runtime

    def _settings(self, config: InstanceConfig) -> InstanceSettings:
        defs = self.config.global_defs
        return settings_for(
            config,
            defs.skip_check_adv_addr,
            self._awaited_scripts(config),
            sync_group=self._group_of(config.name) is not None,
        )

    def _awaited_scripts(self, config: InstanceConfig) -> frozenset[str]:
        """The weight-0 track scripts (the instance's and its sync group's) whose first result
        the instance waits for in INIT, as keepalived does."""
        tracked = list(config.track_scripts)
        for group in self.config.sync_groups:
            if config.name in group.members:
                tracked += group.track_scripts
        scripts = self.config.scripts
        return frozenset(
            script_tracker(t.name)
            for t in tracked
            if t.name in scripts and (scripts[t.name].weight if t.weight is None else t.weight) == 0
        )

    def _group_of(self, name: str) -> str | None:
        return next((g.name for g in self.config.sync_groups if name in g.members), None)

    def _tracked_interfaces(self, driven: Driven) -> list[TrackedInterface]:
        """The instance's track_interface lines and those of its sync group."""
        tracked = list(driven.config.track_interfaces)
        for group in self.config.sync_groups:
            if driven.config.name in group.members:
                tracked += group.track_interfaces
        return tracked

    def _tracker_names(self, driven: Driven) -> frozenset[str]:
        """Every tracker the current configuration feeds this instance."""
        config = driven.config
        names = {interface_tracker(config.interface), address_tracker(config.interface)}
        if config.no_peer_fault:
            names.add(NO_PEER_FAULT)
        names.update(interface_tracker(t.name) for t in self._tracked_interfaces(driven))
        scripts = [t.name for t in config.track_scripts]
        files = [t.name for t in config.track_files]
        processes = [t.name for t in config.track_processes]
        for group in self.config.sync_groups:
            if config.name in group.members:
                names.add(syncgroup.group_tracker(group.name))
                scripts += [t.name for t in group.track_scripts]
                files += [t.name for t in group.track_files]
                processes += [t.name for t in group.track_processes]
        names.update(script_tracker(name) for name in scripts)
        names.update(file_tracker(name) for name in files)
        names.update(process_tracker(name) for name in processes)
        return frozenset(names)

    def _feed_links(self, driven: Driven, now: float) -> None:
        if driven.config.no_peer_fault:
            self._feed(driven, TrackerChanged(NO_PEER_FAULT, False, 0), now)
        self._apply_link_state(driven, now)
        for tracked in self._tracked_interfaces(driven):
            link = self.links.get(tracked.name)
            self._track_interface(driven, tracked, link is not None and link.up, now)

    def _track_interface(
        self, driven: Driven, tracked: TrackedInterface, up: bool, now: float
    ) -> None:
        self.effects.append(InterfaceTracked(tracked.name, up))
        tracker = interface_tracker(tracked.name)
        self._feed(driven, weighted_event(tracker, up, tracked.weight, tracked.reverse), now)

    def _feed(self, driven: Driven, event: Event, now: float) -> None:
        self._step(driven, driven.machine.handle(event, now), now)

    # --- one step: reports, then actions ------------------------------------------------------

    def _step(self, driven: Driven, outputs: Sequence[Output], now: float) -> None:
        group = self._groups.get(driven.config.name)
        if not outputs:
            if group is not None:
                self._follow(group.member_faults(driven.config.name, driven.machine.faults), now)
            return
        runtime = driven.runtime
        effects = self.effects
        effects.append(Stepped(runtime, outputs, now))
        takeover: StateChanged | None = None
        for output in outputs:
            if isinstance(output, PeerHeard):
                runtime.adverts_received += 1
                _remember_peer(runtime, output, now)
            elif isinstance(output, SendAdvert):
                runtime.adverts_sent += 1
                self._transmit(driven, output.advert)
            elif isinstance(output, InstallVips):
                self._firewall(driven, "block", driven.vip_specs)  # before they are reachable
                effects.append(ChangeVips(runtime, "add", driven.vip_specs))
                if driven.routing is not None:  # after the VIPs: one may be a route's source
                    effects.append(driven.routing)
                self._listen(driven)
            elif isinstance(output, ReleaseVips):
                self._stop_listening(driven)
                if driven.routing is not None:
                    effects.append(replace(driven.routing, op="remove"))
                effects.append(ChangeVips(runtime, "remove", driven.vip_specs))
                self._firewall(driven, "unblock", driven.vip_specs)
                for pacer in self._pacers.values():
                    pacer.forget(driven.config.name)
            elif isinstance(output, UpdateVips):
                self._update_vips(driven, output)
            elif isinstance(output, events.Announce):
                self._announce(driven, output.count, now)
            elif isinstance(output, StateChanged) and output.new is State.MASTER:
                takeover = output
        if takeover is not None:
            effects.append(TakeoverDone(runtime, takeover))
        self._rearm(driven)
        if group is not None:
            name = driven.config.name
            orders = group.member_faults(name, driven.machine.faults)
            for output in outputs:
                if isinstance(output, StateChanged):
                    orders += group.member_state(name, output.old, output.new)
                elif isinstance(output, events.WantsMaster):
                    orders += group.member_wants_master(name, output.wanted)
            self._follow(orders, now)

    def _follow(self, orders: Sequence[syncgroup.SyncOutput], now: float) -> None:
        for order in orders:
            if isinstance(order, syncgroup.FeedMember):
                self.feed(order.member, order.event, now)
            elif isinstance(order, syncgroup.FollowGroup):
                self.feed(order.member, SyncTo(order.state), now)
            else:
                self.effects.append(GroupNotify(order))

    def _transmit(self, driven: Driven, advert: Advertisement) -> None:
        key, source = driven.endpoint, driven.source
        if key is None or source is None:
            return
        if advert is not driven.encoded_for:
            destinations = driven.config.unicast_peers or (self._endpoints[key].group,)
            mode = self._checksum_mode
            driven.encoded = tuple(
                (dst, encode(advert, source=source, destination=dst, checksum_mode=mode))
                for dst in destinations
            )
            driven.encoded_for = advert
        config = driven.config
        via = None
        if config.vmac is not None and not config.vmac_xmit_base:
            via = self.links.get(config.vmac)  # from the base until the VMAC exists
        effect = driven.transmit
        if (
            effect is None
            or effect.packets is not driven.encoded
            or effect.source is not source
            or effect.endpoint is not key
            or effect.via is not via
        ):
            effect = driven.transmit = Transmit(key, driven.runtime, source, driven.encoded, via)
        self.effects.append(effect)

    def _reroute(self, driven: Driven, old: InstanceConfig) -> None:
        """A master's routes or rules changed by reload: remove the retired (whatever its
        state now), and add the new if it is still master (a new master added them all)."""
        new = driven.config
        retired = ChangeRouting(
            driven.runtime,
            "remove",
            tuple(r for r in old.virtual_routes if r not in new.virtual_routes),
            tuple(r for r in old.virtual_rules if r not in new.virtual_rules),
        )
        if retired.routes or retired.rules:
            self.effects.append(retired)
        fresh = ChangeRouting(
            driven.runtime,
            "add",
            tuple(r for r in new.virtual_routes if r not in old.virtual_routes),
            tuple(r for r in new.virtual_rules if r not in old.virtual_rules),
        )
        if (fresh.routes or fresh.rules) and driven.machine.state is State.MASTER:
            self.effects.append(fresh)

    def _listen(self, driven: Driven) -> None:
        """IPv6 VIPs on a VMAC: their solicited-node groups, joined on the base interface.
        Called again after a reload changed the VIPs, it joins the new groups before it
        leaves the old ones, so a group kept sends no MLD "done" in between."""
        before, driven.listening = driven.listening, None
        config = driven.config
        if config.family == 6 and config.vmac is not None and driven.endpoint is not None:
            groups = tuple(
                dict.fromkeys(
                    solicited_node_group(IPv6Address(spec.interface.ip))
                    for spec in driven.vip_specs
                    if spec.device == config.vmac
                )
            )
            if groups:
                driven.listening = ListenForVips(driven.runtime, driven.endpoint, "join", groups)
                self.effects.append(driven.listening)
        if before is not None:
            self.effects.append(replace(before, op="leave"))

    def _stop_listening(self, driven: Driven) -> None:
        if driven.listening is not None:
            self.effects.append(replace(driven.listening, op="leave"))
            driven.listening = None

    def _update_vips(self, driven: Driven, update: UpdateVips) -> None:
        """A master's VIPs changed by reload: remove the retired, add the new, keep the rest."""
        removed, added = set(update.removed), set(update.added)
        retired = tuple(s for s in driven.retired_specs if s.interface.ip in removed)
        if retired:
            self.effects.append(ChangeVips(driven.runtime, "remove", retired))
            self._firewall(driven, "unblock", retired)
        fresh = tuple(s for s in driven.vip_specs if s.interface.ip in added)
        if fresh:
            self._firewall(driven, "block", fresh)
            self.effects.append(ChangeVips(driven.runtime, "add", fresh))
        if retired or fresh:
            self._listen(driven)

    def _firewall(
        self, driven: Driven, op: Literal["block", "unblock"], specs: Sequence[VipSpec]
    ) -> None:
        """keepalived's accept mode: a master that does not own its VIPs (priority below 255)
        and is not in accept mode drops traffic to them, through nftables."""
        config = driven.config
        if config.accept or config.priority == 255:
            return
        defs = self.config.global_defs
        table = FirewallTable(
            defs.nftables or "keepalived", defs.nftables_priority, defs.nftables_counters
        )
        addresses = tuple(spec.interface.ip for spec in specs)
        self.effects.append(Firewall(driven.runtime, op, addresses, table))

    def _announce(self, driven: Driven, count: int, now: float) -> None:
        for device in dict.fromkeys(spec.device for spec in driven.vip_specs):
            link = self.links.get(device)
            if link is None or not link.up:
                continue
            addresses = tuple(s.interface.ip for s in driven.vip_specs if s.device == device)
            for kind, version in _ANNOUNCEMENTS:
                mine = tuple(a for a in addresses if a.version == version)
                if not mine:
                    continue
                interval = self._announce_interval(kind)
                if interval <= 0:
                    self.effects.append(
                        Announce(driven.runtime, device, link.mac, mine, count, kind)
                    )
                    continue
                self._announce_paced(driven, (device, kind), link.mac, mine, count, now)

    def _announce_interval(self, kind: AnnouncementKind) -> float:
        defs = self.config.global_defs
        return defs.garp_interval if kind == "garp" else defs.gna_interval

    def _announce_paced(
        self,
        driven: Driven,
        key: PacerKey,
        mac: bytes,
        addresses: tuple[IPAddress, ...],
        count: int,
        now: float,
    ) -> None:
        """`count` rounds through the device's pacer: what may go now goes, the rest waits."""
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers[key] = Pacer(self._announce_interval(key[1]))
        frames = tuple(Frame(driven.config.name, key[0], mac, a) for a in addresses)
        now_sent = tuple(f.address for f in pacer.offer(frames, count, now))
        # Reported even when all of it waits: it is the round's log line ("Sending/queueing").
        self.effects.append(Announce(driven.runtime, key[0], mac, now_sent, 1, key[1]))
        self.effects.append(RearmPacer(key, pacer.deadline()))

    # --- links and endpoints ------------------------------------------------------------------

    def _apply_link_state(self, driven: Driven, now: float) -> None:
        """Endpoint, source address and interface fault of an instance from its link's state."""
        config = driven.config
        name = config.interface
        link = self.links.get(name)
        if link is None:
            self._detach(driven)
            self._set_source(driven, None, now)
            self._feed(driven, TrackerChanged(interface_tracker(name), False, 0), now)
            return
        self._request_vmac(driven, link)
        if driven.endpoint is None:
            self._attach(driven, link)
        if config.family == 4:
            source = config.unicast_src_ip or config.mcast_src_ip or link.ipv4
        else:
            source = config.unicast_src_ip or config.mcast_src_ip or link.ipv6_link_local
        self._set_source(driven, source, now)
        up = link.up or config.dont_track_primary
        self._feed(driven, TrackerChanged(interface_tracker(name), up, 0), now)

    def _request_vmac(self, driven: Driven, base: LinkInfo) -> None:
        """use_vmac: ask for the VMAC once its base interface exists (havip.net.vmac).
        Adverts are heard on the base interface; they go out of the VMAC (`_transmit`)
        unless vmac_xmit_base."""
        config = driven.config
        if config.vmac is None or config.vmac in self._vmacs_requested:
            return
        # even if it exists: one a killed run left is adopted, set up and removed at exit
        self._vmacs_requested.add(config.vmac)
        mac = config.vmac_mac or virtual_mac(config.vrid, config.family)
        self.effects.append(CreateVmac(driven.runtime, base, config.vmac, mac, config.family))

    def _set_source(self, driven: Driven, source: IPAddress | None, now: float) -> None:
        name = driven.config.interface
        if source != driven.source:
            driven.source = source
            driven.encoded_for = None
            self._feed(driven, LocalAddressChanged(source), now)
        has_address = source is not None or self.links.get(name) is None
        self._feed(driven, TrackerChanged(address_tracker(name), has_address, 0), now)

    def _attach(self, driven: Driven, link: LinkInfo) -> None:
        """Join the shared endpoint of the instance's interface and family (opened once)."""
        key: EndpointKey = (link.name, driven.config.family)
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            defs = self.config.global_defs
            group = defs.mcast_group4 if driven.config.family == 4 else defs.mcast_group6
            endpoint = self._endpoints[key] = _Endpoint(group)
            self.effects.append(OpenEndpoint(key, link, group))
        endpoint.by_vrid[driven.config.vrid] = driven
        endpoint.window = None
        driven.endpoint = key

    def _detach(self, driven: Driven) -> None:
        key, driven.endpoint = driven.endpoint, None
        endpoint = self._endpoints.get(key) if key is not None else None
        if endpoint is None or key is None:
            return
        if endpoint.by_vrid.get(driven.config.vrid) is driven:
            del endpoint.by_vrid[driven.config.vrid]
            endpoint.window = None
        if not endpoint.by_vrid:
            del self._endpoints[key]
            self.effects.append(CloseEndpoint(key))


def _sync_groups(config: LoadedConfig) -> dict[str, syncgroup.SyncGroup]:
    """Each member instance's sync group (keepalived: an instance is in at most one)."""
    by_member: dict[str, syncgroup.SyncGroup] = {}
    for group in config.sync_groups:
        state = syncgroup.SyncGroup(group.name, group.members)
        for member in group.members:
            by_member[member] = state
    return by_member


def _remember_peer(runtime: InstanceRuntime, heard: PeerHeard, now: float) -> None:
    """Record a router heard; a new source first ages out the silent and, past the bound,
    the longest silent, so the table stays small whatever sources a flood forges."""
    peers = runtime.peers
    if heard.source not in peers:
        window = runtime.machine.master_down_interval
        for address, (_priority, at) in list(peers.items()):
            if now - at > window:
                del peers[address]
        if len(peers) >= PEERS_PER_INSTANCE:
            del peers[min(peers, key=lambda address: peers[address][1])]
    peers[heard.source] = (heard.priority, heard.at)
