"""The havip agent: trio drivers that feed the VRRP state machines and carry out their actions.

One nursery holds everything: a receive task per VRRP endpoint (one per interface and family,
demultiplexed by VRID), one timer scheduler serving every state machine's `get_timer()`
deadline, a link watcher and the signal handler. Each step runs the same way: the state machine
returns outputs, observers hear about them, then the actions are carried out in order (adverts,
VIPs, announcements). Everything that touches the OS goes through one `Net`.

A receive task handles at most RECEIVE_BATCH packets per wake, each stamped with its own
time, then yields: whoever sends fastest cannot hold the loop, so a due advert or master-down
timer waits one batch at most.
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from havip import syncgroup
from havip.config.model import LoadedConfig, TrackedInterface
from havip.config.model import VrrpInstance as InstanceConfig
from havip.health import Health
from havip.net.netlink import LinkInfo, VipSpec
from havip.net.system import Net, SystemNet, VrrpEndpoint
from havip.net.vrrpsock import Datagram
from havip.notify.runner import NotifyRun
from havip.observe.tracking_metrics import TrackingMetrics
from havip.proto.events import (
    AdvertReceived,
    Announce,
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
    Advertisement,
    ChecksumMode,
    DecodeError,
    IPAddress,
    Reason,
    RejectReason,
    State,
)
from havip.proto.packet import decode, encode
from havip.reload import plan_reload
from havip.runtime import InstanceRuntime, Observer
from havip.scheduler import TimerScheduler
from havip.track.weights import file_tracker, script_tracker, weighted_event

log = logging.getLogger("havip")

ConfigLoader = Callable[[], LoadedConfig]

RECEIVE_BATCH = 16
"""Packets a receive task handles per wake before it yields (16 x ~30 us: under 1 ms)."""
RECEIVE_RETRY = 0.001
"""Pause after a failed receive, so a socket that keeps failing cannot spin the loop."""
PEERS_PER_INSTANCE = 16
"""Routers remembered per instance (/status, the peers gauge); spoofed sources cannot grow it."""


def settings_for(config: InstanceConfig, skip_check_adv_addr: bool) -> InstanceSettings:
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
    )


def vip_specs(config: InstanceConfig) -> tuple[VipSpec, ...]:
    """Every address the instance adds when master, as netlink needs them."""
    return tuple(
        VipSpec(v.interface, v.device or config.interface, v.label, v.scope, v.broadcast)
        for v in (*config.vips, *config.excluded_vips)
    )


def interface_tracker(name: str) -> str:
    """The tracker name under which an interface's link state reaches the state machine."""
    return f"interface {name}"


def address_tracker(name: str) -> str:
    return f"no address on {name}"


@dataclass(eq=False)
class _Driven:
    """An instance as the agent drives it: runtime view plus the I/O it needs."""

    config: InstanceConfig
    runtime: InstanceRuntime
    vip_specs: tuple[VipSpec, ...]
    retired_specs: tuple[VipSpec, ...] = ()
    """The VIP specs before an in-place reload, for the VIPs it removes."""
    socket_key: tuple[str, int] | None = None
    source: IPAddress | None = None
    encoded_for: Advertisement | None = None
    encoded: list[tuple[IPAddress, bytes]] = field(default_factory=list)

    @property
    def machine(self) -> VrrpInstance:
        return self.runtime.machine


@dataclass(eq=False)
class _SocketEntry:
    sock: VrrpEndpoint
    by_vrid: dict[int, _Driven] = field(default_factory=dict)
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class Agent:
    """Runs every configured VRRP instance until cancelled or signalled."""

    def __init__(
        self,
        config: LoadedConfig,
        observer: Observer,
        reload_config: ConfigLoader | None = None,
        tracking_metrics: TrackingMetrics | None = None,
        net: Callable[[], Net] = SystemNet,
    ) -> None:
        self.config = config
        self.observer = observer
        self.reload_config = reload_config
        self.tracking_metrics = tracking_metrics
        self.health = Health(config, self._feed_named, tracking_metrics, self._notified)
        self._health_scope: trio.CancelScope | None = None
        self._groups = self._sync_groups(config)
        self.driven: dict[str, _Driven] = {}
        self._sockets: dict[tuple[str, int], _SocketEntry] = {}
        self._links: dict[str, LinkInfo | None] = {}
        self._checksum_mode = ChecksumMode(config.global_defs.v3_checksum_mode)
        self._open_net = net
        self._net: Net | None = None
        self._nursery: trio.Nursery | None = None
        self._timers: TimerScheduler[_Driven] = TimerScheduler(self._on_timer)
        self.wall_offset = 0.0
        self.stopped = trio.Event()

    @property
    def runtimes(self) -> list[InstanceRuntime]:
        return [d.runtime for d in self.driven.values()]

    # --- life cycle ---------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Bring every instance up, then serve until SIGTERM/SIGINT (or cancellation)."""
        self._net = self._open_net()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._timers.run)
                self.wall_offset = time.time() - trio.current_time()
                added = [self._create(c) for c in self.config.instances]
                self.observer.started([d.runtime for d in added], self.wall_offset)
                await nursery.start(self._run_health, self.health)
                for driven in added:
                    self._remove_leftovers(driven)
                for name, event in self.health.initial_events():
                    self._feed_named(name, event)
                for driven in added:
                    self._bring_up(driven)
                nursery.start_soon(self._watch_links)
                nursery.start_soon(self._watch_signals)
                gc.freeze()  # start-up objects live forever: keep them out of every collection
                task_status.started()
                await self.stopped.wait()
                self._stop_all(Reason.SHUTDOWN)
                await self.health.drain_stop_notifications()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                self._stop_all(Reason.SHUTDOWN)
            for entry in self._sockets.values():
                entry.sock.close()
            self.health.close()
            self._net.close()

    async def _run_health(
        self,
        health: Health,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        with trio.CancelScope() as scope:
            self._health_scope = scope
            await health.run(task_status=task_status)

    def request_stop(self) -> None:
        self.stopped.set()

    def _stop_all(self, reason: Reason) -> None:
        now = trio.current_time()
        for driven in list(self.driven.values()):
            self._step(driven, driven.machine.handle(Shutdown(reason), now), now)

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    await self.reload()
                else:
                    log.info("Stopping (signal %s)", signal.Signals(signum).name)
                    self.request_stop()

    # --- instances ----------------------------------------------------------------------------

    def _create(self, config: InstanceConfig) -> _Driven:
        settings = settings_for(config, self.config.global_defs.skip_check_adv_addr)
        specs = vip_specs(config)
        runtime = InstanceRuntime(
            name=config.name,
            vrid=config.vrid,
            interface=config.interface,
            family=config.family,
            version=config.version,
            vips=tuple(sorted(str(v.interface.ip) for v in config.vips)),
            machine=VrrpInstance(settings),
            sync_group=next(
                (g.name for g in self.config.sync_groups if config.name in g.members), None
            ),
        )
        driven = _Driven(config, runtime, specs)
        self.driven[config.name] = driven
        return driven

    def _bring_up(self, driven: _Driven) -> None:
        """Feed the instance its interface and tracker state, then start it."""
        self._feed_links(driven)
        self._feed(driven, Start())

    def _feed_links(self, driven: _Driven) -> None:
        self._apply_link_state(driven, self._link(driven.config.interface))
        for tracked in self._tracked_interfaces(driven):
            link = self._link(tracked.name)
            self._track_interface(driven, tracked, link is not None and link.up)

    def _tracker_names(self, driven: _Driven) -> frozenset[str]:
        """Every tracker the current configuration feeds this instance."""
        config = driven.config
        names = {interface_tracker(config.interface), address_tracker(config.interface)}
        names.update(interface_tracker(t.name) for t in self._tracked_interfaces(driven))
        scripts = [t.name for t in config.track_scripts]
        files = [t.name for t in config.track_files]
        for group in self.config.sync_groups:
            if config.name in group.members:
                names.add(syncgroup.group_tracker(group.name))
                scripts += [t.name for t in group.track_scripts]
                files += [t.name for t in group.track_files]
        names.update(script_tracker(name) for name in scripts)
        names.update(file_tracker(name) for name in files)
        return frozenset(names)

    def _tracked_interfaces(self, driven: _Driven) -> list[TrackedInterface]:
        """The instance's track_interface lines and those of its sync group."""
        tracked = list(driven.config.track_interfaces)
        for group in self.config.sync_groups:
            if driven.config.name in group.members:
                tracked += group.track_interfaces
        return tracked

    def _track_interface(self, driven: _Driven, tracked: TrackedInterface, up: bool) -> None:
        if self.tracking_metrics is not None:
            self.tracking_metrics.interface_changed(tracked.name, up)
        tracker = interface_tracker(tracked.name)
        self._feed(driven, weighted_event(tracker, up, tracked.weight, tracked.reverse))

    def _remove_leftovers(self, driven: _Driven) -> None:
        """After a crash, remove this instance's VIPs that still carry havip's tag."""
        for device in {spec.device for spec in driven.vip_specs}:
            link = self._link(device)
            if link is None:
                continue
            specs = [s for s in driven.vip_specs if s.device == device]
            assert self._net is not None
            removed, failures = self._net.remove_leftovers(link.index, specs)
            if removed:
                log.info("VRRP_Instance(%s) removing leftover VIPs %s", driven.config.name, removed)
            for failure in failures:
                log.error(
                    "VRRP_Instance(%s) cannot remove leftover VIP %s", driven.config.name, failure
                )

    def _notified(self, run: NotifyRun) -> None:
        driven = self.driven.get(run.name) if run.kind == "INSTANCE" else None
        if driven is not None:
            self.observer.notified(driven.runtime, run)

    def _feed_named(self, name: str, event: Event) -> None:
        driven = self.driven.get(name)
        if driven is not None:
            self._feed(driven, event)

    def _feed(self, driven: _Driven, event: Event) -> None:
        now = trio.current_time()
        self._step(driven, driven.machine.handle(event, now), now)

    def _on_timer(self, driven: _Driven, now: float) -> None:
        if self.driven.get(driven.config.name) is driven:
            self._step(driven, driven.machine.handle_timer(now), now)

    # --- one step: observers, then actions ----------------------------------------------------

    def _step(self, driven: _Driven, outputs: Sequence[Output], now: float) -> None:
        group = self._groups.get(driven.config.name)
        if not outputs:
            if group is not None:
                self._follow(group.member_faults(driven.config.name, driven.machine.faults))
            return
        runtime = driven.runtime
        self.observer.outputs(runtime, outputs, now)
        self.health.outputs(runtime.name, outputs)
        takeover: StateChanged | None = None
        for output in outputs:
            if isinstance(output, PeerHeard):
                _remember_peer(runtime, output, now)
            elif isinstance(output, SendAdvert):
                self._send(driven, output.advert)
            elif isinstance(output, InstallVips):
                self._change_vips(driven, "add")
            elif isinstance(output, ReleaseVips):
                self._change_vips(driven, "remove")
            elif isinstance(output, UpdateVips):
                self._update_vips(driven, output)
            elif isinstance(output, Announce):
                self._announce(driven, output.count)
            elif isinstance(output, StateChanged) and output.new is State.MASTER:
                takeover = output
        if takeover is not None:
            self.observer.took_over(runtime, takeover, trio.current_time())
        self._timers.set(driven, driven.machine.get_timer())
        if group is not None:
            name = driven.config.name
            orders = group.member_faults(name, driven.machine.faults)
            for output in outputs:
                if isinstance(output, StateChanged):
                    orders += group.member_state(name, output.old, output.new)
            self._follow(orders)

    # --- sync groups --------------------------------------------------------------------------

    @staticmethod
    def _sync_groups(config: LoadedConfig) -> dict[str, syncgroup.SyncGroup]:
        """Each member instance's sync group (keepalived: an instance is in at most one)."""
        by_member: dict[str, syncgroup.SyncGroup] = {}
        for group in config.sync_groups:
            state = syncgroup.SyncGroup(group.name, group.members)
            for member in group.members:
                by_member[member] = state
        return by_member

    def _follow(self, orders: Sequence[syncgroup.SyncOutput]) -> None:
        for order in orders:
            if isinstance(order, syncgroup.FeedMember):
                self._feed_named(order.member, order.event)
            elif isinstance(order, syncgroup.FollowGroup):
                self._feed_named(order.member, SyncTo(order.state))
            else:
                log.info("%s", order.log_message)
                self.health.notify("GROUP", order.group, order.new, 0)

    def _send(self, driven: _Driven, advert: Advertisement) -> None:
        entry = self._sockets.get(driven.socket_key) if driven.socket_key else None
        source = driven.source
        if entry is None or source is None:
            return
        if advert is not driven.encoded_for:
            destinations = driven.config.unicast_peers or (entry.sock.group,)
            driven.encoded = [
                (
                    dst,
                    encode(
                        advert, source=source, destination=dst, checksum_mode=self._checksum_mode
                    ),
                )
                for dst in destinations
            ]
            driven.encoded_for = advert
        for destination, payload in driven.encoded:
            try:
                entry.sock.send(payload, source, destination)
            except OSError as error:
                log.warning(
                    "VRRP_Instance(%s) cannot send advert to %s: %s",
                    driven.config.name,
                    destination,
                    error,
                )

    def _change_vips(
        self, driven: _Driven, op: str, specs: Sequence[VipSpec] | None = None
    ) -> None:
        """Add or remove `specs` (default: all the instance's VIPs) and report the outcome."""
        assert self._net is not None
        chosen = driven.vip_specs if specs is None else specs
        began = trio.current_time()
        changed: list[str] = []
        failures: list[str] = []
        for device in dict.fromkeys(spec.device for spec in chosen):
            on_device = [s for s in chosen if s.device == device]
            link = self._link(device)
            if link is None:
                failures.extend(f"{s.interface}: no interface {device}" for s in on_device)
                continue
            if op == "add":
                done, failed = self._net.add_vips(link.index, on_device)
            else:
                done, failed = self._net.release_vips(link.index, on_device)
            changed.extend(done)
            failures.extend(failed)
        self.observer.vips_changed(
            driven.runtime,
            "add" if op == "add" else "remove",
            changed,
            failures,
            began,
            trio.current_time(),
        )

    def _update_vips(self, driven: _Driven, update: UpdateVips) -> None:
        """A master's VIPs changed by reload: remove the retired, add the new, keep the rest."""
        removed = set(update.removed)
        added = set(update.added)
        retired = [s for s in driven.retired_specs if s.interface.ip in removed]
        if retired:
            self._change_vips(driven, "remove", retired)
        fresh = [s for s in driven.vip_specs if s.interface.ip in added]
        if fresh:
            self._change_vips(driven, "add", fresh)

    def _announce(self, driven: _Driven, count: int) -> None:
        assert self._net is not None
        for device in dict.fromkeys(spec.device for spec in driven.vip_specs):
            link = self._link(device)
            if link is None or not link.up:
                continue
            addresses = tuple(s.interface.ip for s in driven.vip_specs if s.device == device)
            for kind, family in (("garp", 4), ("na", 6)):
                mine = tuple(a for a in addresses if a.version == family)
                if not mine:
                    continue
                began = trio.current_time()
                try:
                    sent = sum(self._net.announce(device, link.mac, mine) for _ in range(count))
                except OSError as error:
                    log.error("cannot open a packet socket on %s: %s", device, error)
                    return
                self.observer.announced(
                    driven.runtime,
                    "garp" if kind == "garp" else "na",
                    sent,
                    began,
                    trio.current_time(),
                )

    # --- receiving ----------------------------------------------------------------------------

    def _socket_for(self, driven: _Driven, link: LinkInfo) -> None:
        """Attach the instance to the shared socket of its interface and family."""
        key = (link.name, driven.config.family)
        entry = self._sockets.get(key)
        if entry is None:
            defs = self.config.global_defs
            group = defs.mcast_group4 if driven.config.family == 4 else defs.mcast_group6
            assert self._net is not None
            try:
                sock = self._net.open_vrrp(link, driven.config.family, group)
            except OSError as error:
                log.error("cannot open a VRRP socket on %s: %s", link.name, error)
                return
            entry = _SocketEntry(sock)
            self._sockets[key] = entry
            assert self._nursery is not None
            self._nursery.start_soon(self._receive, entry)
        entry.by_vrid[driven.config.vrid] = driven
        driven.socket_key = key

    def _detach_socket(self, driven: _Driven) -> None:
        key = driven.socket_key
        driven.socket_key = None
        entry = self._sockets.get(key) if key else None
        if entry is None or key is None:
            return
        if entry.by_vrid.get(driven.config.vrid) is driven:
            del entry.by_vrid[driven.config.vrid]
        if not entry.by_vrid:
            entry.scope.cancel()
            entry.sock.close()
            del self._sockets[key]

    async def _receive(self, entry: _SocketEntry) -> None:
        """Serve one endpoint: a bounded batch per wake, each packet stamped on arrival."""
        with entry.scope:
            sock = entry.sock
            while True:
                await sock.wait_readable()
                for _ in range(RECEIVE_BATCH):
                    try:
                        item = sock.receive()
                    except OSError as error:
                        detail = f"receive failed: {error}"
                        self.observer.packet_dropped(
                            sock.interface, RejectReason.RECEIVE_ERROR, None, None, detail
                        )
                        await trio.sleep(RECEIVE_RETRY)
                        break
                    if item is None:
                        break
                    self._on_datagram(entry, item, trio.current_time())

    def _on_datagram(self, entry: _SocketEntry, item: Datagram | DecodeError, now: float) -> None:
        interface = entry.sock.interface
        if isinstance(item, DecodeError):
            self.observer.packet_dropped(interface, item.reason, None, None, item.detail)
            return
        assert isinstance(item, Datagram)
        payload = item.payload
        claimed = entry.by_vrid.get(payload[1]) if len(payload) > 1 else None
        runtime = claimed.runtime if claimed is not None else None
        if item.ttl != 255:
            self.observer.packet_dropped(
                interface, RejectReason.TTL, item.source, runtime, f"TTL {item.ttl}, expected 255"
            )
            return
        try:
            advert = decode(payload, source=item.source, destination=item.destination)
        except DecodeError as error:
            self.observer.packet_dropped(
                interface, error.reason, item.source, runtime, error.detail
            )
            return
        if claimed is None:
            self.observer.packet_dropped(
                interface,
                RejectReason.VRID,
                item.source,
                None,
                f"no instance for VRID {advert.vrid}",
            )
            return
        self._step(claimed, claimed.machine.handle(AdvertReceived(advert, item.source), now), now)

    # --- links --------------------------------------------------------------------------------

    def _link(self, name: str) -> LinkInfo | None:
        if name not in self._links:
            assert self._net is not None
            self._links[name] = self._net.link(name)
        return self._links[name]

    async def _watch_links(self) -> None:
        assert self._net is not None
        while True:
            await self._net.link_changes()
            self._refresh_links()

    def _refresh_links(self) -> None:
        assert self._net is not None
        before = dict(self._links)
        for name in before:
            self._links[name] = self._net.link(name)
        for driven in list(self.driven.values()):
            name = driven.config.interface
            if self._links.get(name) != before.get(name):
                self._apply_link_state(driven, self._links.get(name))
            for tracked in self._tracked_interfaces(driven):
                old, new = before.get(tracked.name), self._links.get(tracked.name)
                if (old is not None and old.up) != (new is not None and new.up):
                    self._track_interface(driven, tracked, new is not None and new.up)

    def _apply_link_state(self, driven: _Driven, link: LinkInfo | None) -> None:
        """Socket, source address and interface fault of an instance from its link's state."""
        config = driven.config
        name = config.interface
        if link is None:
            self._detach_socket(driven)
            self._set_source(driven, None)
            self._feed(driven, TrackerChanged(interface_tracker(name), False, 0))
            return
        if driven.socket_key is None:
            self._socket_for(driven, link)
        if config.family == 4:
            source = config.unicast_src_ip or config.mcast_src_ip or link.ipv4
        else:
            source = config.unicast_src_ip or config.mcast_src_ip or link.ipv6_link_local
        self._set_source(driven, source)
        up = link.up or config.dont_track_primary
        self._feed(driven, TrackerChanged(interface_tracker(name), up, 0))

    def _set_source(self, driven: _Driven, source: IPAddress | None) -> None:
        name = driven.config.interface
        if source != driven.source:
            driven.source = source
            driven.encoded_for = None
            self._feed(driven, LocalAddressChanged(source))
        has_address = source is not None or self._links.get(name) is None
        self._feed(driven, TrackerChanged(address_tracker(name), has_address, 0))

    # --- reload -------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read the file again off the loop, then apply it in one step.

        Unchanged instances keep their state and VIPs. Removed instances hand over (priority
        0) and their STOP notifications run to completion on the old configuration's notify
        dispatcher; the new dispatcher is running before any instance can report to it. A
        file with errors changes nothing.
        """
        if self.reload_config is None:
            return
        try:
            new = await trio.to_thread.run_sync(self.reload_config)
        except Exception as error:  # a ConfigError lists every problem; anything else too
            log.error("Reload refused, keeping the running configuration: %s", error)
            for diagnostic in getattr(error, "diagnostics", ()):
                log.error("%s", diagnostic)
            return
        old_health, old_scope = self.health, self._health_scope
        plan = plan_reload(self.config, new)
        removed = self._stop(plan.removed)
        old_health.close()  # FIFO lines are written at once; the new dispatcher reopens them
        self.config = new
        self._checksum_mode = ChecksumMode(new.global_defs.v3_checksum_mode)
        self._groups = self._sync_groups(new)
        self.health = Health(new, self._feed_named, self.tracking_metrics, self._notified)
        assert self._nursery is not None
        await self._nursery.start(self._run_health, self.health)
        changed = [self._reconfigure(self.driven[old.name], cfg) for old, cfg in plan.changed]
        added = [self._create(c) for c in plan.added]
        self.observer.instances_changed([d.runtime for d in added], removed, changed)
        added_names = {d.config.name for d in added}
        changed_names = {runtime.name for runtime in changed}
        for name, event in self.health.initial_events():
            # a changed instance keeps its script states; a track file's value is current
            if name in added_names or (name in changed_names and event.name.startswith("file ")):
                self._feed_named(name, event)
        for driven in added:
            self._bring_up(driven)
        log.info(
            "Reloaded configuration: %d unchanged, %d changed in place, %d stopped, %d started",
            len(plan.unchanged),
            len(changed),
            len(removed),
            len(added),
        )
        await old_health.drain_stop_notifications()
        if old_scope is not None:
            old_scope.cancel()

    def _stop(self, configs: Sequence[InstanceConfig]) -> list[InstanceRuntime]:
        """Stop these instances for good (priority 0 from a master); return their runtimes."""
        removed: list[InstanceRuntime] = []
        now = trio.current_time()
        for config in configs:
            driven = self.driven.pop(config.name)
            self._step(driven, driven.machine.handle(Shutdown(Reason.RELOAD), now), now)
            self._timers.discard(driven)
            self._detach_socket(driven)
            removed.append(driven.runtime)
        return removed

    def _reconfigure(self, driven: _Driven, config: InstanceConfig) -> InstanceRuntime:
        """Apply a changed configuration to a running instance, in place."""
        driven.retired_specs = driven.vip_specs
        driven.config = config
        driven.vip_specs = vip_specs(config)
        driven.encoded_for = None
        runtime = driven.runtime
        runtime.vips = tuple(sorted(str(v.interface.ip) for v in config.vips))
        runtime.sync_group = next(
            (g.name for g in self.config.sync_groups if config.name in g.members), None
        )
        settings = settings_for(config, self.config.global_defs.skip_check_adv_addr)
        self._feed(driven, Reconfigure(settings, self._tracker_names(driven)))
        driven.retired_specs = ()
        self._feed_links(driven)
        return runtime


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
