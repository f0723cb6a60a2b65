"""The havip agent: one thin trio loop around the pure `Supervisor`.

It reads from a `Net` (packets through `Receivers`, link changes), feeds the supervisor with
trio's clock, carries out the effects the supervisor returns, in order (reports to observers,
OS work through the `Executor`), and re-arms one timer scheduler. Start-up and reload take the
same path; trackers and notify scripts run in `Hooks`.
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections.abc import Callable

import trio

from havip import effects as fx
from havip.collector import LoopCollector
from havip.config.model import LoadedConfig
from havip.executor import Executor
from havip.hooks import Hooks
from havip.net.netlink import LinkInfo
from havip.net.system import Net, SystemNet
from havip.notify.runner import NotifyRun
from havip.observer import (
    InstanceRuntime,
    InstancesChanged,
    InterfaceTracked,
    Notified,
    Observer,
    PacketDropped,
    Report,
    Started,
    Stepped,
    TookOver,
)
from havip.proto.events import Event
from havip.proto.model import Reason, RejectReason, State
from havip.receiving import Receivers
from havip.scheduler import TimerScheduler
from havip.supervisor import Driven, Supervisor

log = logging.getLogger("havip")

ConfigLoader = Callable[[], LoadedConfig]

RELOAD_BATCH = 50
"""Instances changed in place per loop turn during a reload (about 5 ms of work)."""


class HeldReports:
    """Reports held back while a batch of effects is carried out (see Agent._carry_out); the
    executor reports here too."""

    def __init__(self) -> None:
        self.pending: list[Report] = []

    def observe(self, report: Report) -> None:
        self.pending.append(report)

    def take(self) -> list[Report]:
        pending, self.pending = self.pending, []
        return pending


def _uptime() -> float | None:
    """Seconds since the machine booted (/proc/uptime), for vrrp_delay_after_boot."""
    try:
        with open("/proc/uptime") as uptime:
            return float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class Agent:
    """Runs every configured VRRP instance until cancelled or signalled."""

    def __init__(
        self,
        config: LoadedConfig,
        observer: Observer,
        reload_config: ConfigLoader | None = None,
        net: Callable[[], Net] = SystemNet,
    ) -> None:
        self.supervisor = Supervisor(config)
        self.observer = observer
        self.reload_config = reload_config
        self.hooks = Hooks(config, self._feed, observer.observe, self._notified)
        self.wall_offset = 0.0
        self.stopped = trio.Event()
        self._open_net = net
        self._net: Net | None = None
        self._executor: Executor | None = None
        self._hooks_scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._receivers: Receivers | None = None
        self._reports = HeldReports()
        self._collector = LoopCollector()
        self._timers: TimerScheduler[Driven | fx.PacerKey] = TimerScheduler(
            self._on_timer, self._carry_out
        )

    @property
    def runtimes(self) -> list[InstanceRuntime]:
        return self.supervisor.runtimes

    def request_stop(self) -> None:
        self.stopped.set()

    # --- life cycle ---------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Bring every instance up, then serve until SIGTERM/SIGINT (or cancellation)."""
        net = self._net = self._open_net()
        supervisor = self.supervisor
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._receivers = Receivers(
                    net,
                    nursery,
                    supervisor.datagram,
                    self._on_receive_error,
                    supervisor.receive_window,
                    self._carry_out,
                )
                self._executor = Executor(
                    net, self._reports, self._receivers.endpoints, supervisor.link
                )
                nursery.start_soon(self._timers.run)
                self.wall_offset = time.time() - trio.current_time()
                self.observer.observe(Started(supervisor.create_all(), self.wall_offset))
                await nursery.start(self._run_hooks, self.hooks)
                supervisor.links = self._read_links()
                self._executor.remove_recorded()
                supervisor.remove_leftovers()
                self._carry_out()
                for name, event in self.hooks.initial_events():
                    self._feed(name, event)
                uptime = _uptime()
                now = trio.current_time()
                supervisor.bring_up(now=now, uptime=uptime)
                if supervisor.start_delay(now) > 0:  # keepalived's line
                    log.info("Delaying startup for %g seconds", supervisor.start_delay(now))
                self._carry_out()
                nursery.start_soon(self._watch_links)
                nursery.start_soon(self._watch_signals)
                gc.freeze()  # start-up objects live forever: keep them out of every collection
                gc.disable()  # ... and collect on the loop's own time: LoopCollector
                nursery.start_soon(self._collector.fallback)
                task_status.started()
                await self.stopped.wait()
                supervisor.shutdown(Reason.SHUTDOWN, trio.current_time())
                self._carry_out()
                await self.hooks.drain_stop_notifications()
                nursery.cancel_scope.cancel()
        finally:
            gc.enable()
            with trio.CancelScope(shield=True):
                supervisor.shutdown(Reason.SHUTDOWN, trio.current_time())
                self._carry_out()
            self.hooks.close()
            if self._receivers is not None:
                self._receivers.close_all()
            net.close()

    async def _run_hooks(
        self, hooks: Hooks, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with trio.CancelScope() as scope:
            self._hooks_scope = scope
            await hooks.run(task_status=task_status)

    async def _watch_signals(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    await self.reload()
                else:
                    log.info("Stopping (signal %s)", signal.Signals(signum).name)
                    self.request_stop()

    # --- inputs -------------------------------------------------------------------------------

    def _feed(self, name: str, event: Event) -> None:
        """A tracker's result for one instance (Hooks calls this)."""
        self.supervisor.feed(name, event, trio.current_time())
        self._carry_out()

    def _on_timer(self, key: Driven | fx.PacerKey, now: float) -> None:
        """A deadline came; the scheduler carries out the effects of its whole wake-up once,
        in the order they were made, after its last fire (`_carry_out` as `after_batch`)."""
        if not isinstance(key, Driven):
            self.supervisor.announce_due(key, now)
            return
        driven, machine = key, key.machine
        if machine.state is State.BACKUP and driven.endpoint is not None:
            deadline = machine.get_timer()
            if deadline is not None and deadline <= now and self._receivers is not None:
                # About to take over: an advert may be waiting out its receive window.
                self._receivers.drain(driven.endpoint)
        self.supervisor.timer(driven, now)

    def _notified(self, run: NotifyRun) -> None:
        driven = self.supervisor.driven.get(run.name) if run.kind == "INSTANCE" else None
        self.observer.observe(Notified(run, None if driven is None else driven.runtime))

    def _on_receive_error(self, key: fx.EndpointKey, error: OSError) -> None:
        detail = f"receive failed: {error}"
        reason = RejectReason.RECEIVE_ERROR
        self.observer.observe(PacketDropped(key[0], reason, None, None, detail))

    async def _watch_links(self) -> None:
        assert self._net is not None
        net = self._net
        while True:
            await net.link_changes()
            self.supervisor.links_changed(self._read_links(), trio.current_time())
            self._carry_out()

    def _read_links(self) -> dict[str, LinkInfo | None]:
        """Every interface the configuration names, as the OS reports it now."""
        assert self._net is not None
        return {name: self._net.link(name) for name in self.supervisor.interfaces()}

    # --- reload -------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read the file again off the loop, then apply it in one step.

        Unchanged instances keep everything; changed ones are updated in place. Removed
        instances hand over (priority 0) and their STOP notifications run to completion on
        the old notify dispatcher; the new one runs before any instance can report to it. A
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
        assert self._net is not None and self._nursery is not None
        supervisor = self.supervisor
        old_hooks, old_scope = self.hooks, self._hooks_scope
        pending = supervisor.reload_stop(new, trio.current_time())
        self._carry_out()
        old_hooks.close()  # FIFO lines are written at once; the new dispatcher reopens them
        self.hooks = Hooks(new, self._feed, self.observer.observe, self._notified)
        await self._nursery.start(self._run_hooks, self.hooks)
        supervisor.links = self._read_links()
        changes = pending.plan.changed
        changed_runtimes: list[InstanceRuntime] = []
        for start in range(0, len(changes), RELOAD_BATCH):
            batch = changes[start : start + RELOAD_BATCH]
            changed_runtimes += supervisor.reconfigure(batch, trio.current_time())
            self._carry_out()
            await trio.lowlevel.checkpoint()  # a reload of every instance must not stall adverts
        added = supervisor.create_added(pending, changed_runtimes)
        self._carry_out()
        changed = {runtime.name for runtime in changed_runtimes}
        for name, event in self.hooks.initial_events():
            if name in added:
                self._feed(name, event)
        for name, event in self.hooks.initial_events(scripts=False):
            if name in changed:  # it keeps its script states; a track file's value is current
                self._feed(name, event)
        supervisor.bring_up(added, trio.current_time())
        self._carry_out()
        log.info(
            "Reloaded configuration: %d unchanged, %d changed in place, %d stopped, %d started",
            len(pending.plan.unchanged),
            len(changed),
            len(pending.removed),
            len(added),
        )
        await old_hooks.drain_stop_notifications()
        if old_scope is not None:
            old_scope.cancel()

    # --- effects ------------------------------------------------------------------------------

    def _carry_out(self) -> None:
        """Carry out the supervisor's effects in order, the OS work first.

        Reports wait in `_reports` until the batch's adverts are sent and its VIPs moved and
        announced, then reach the observers (and the notify hooks) in their original order,
        with the times they were made. Logging a takeover and building its spans costs more
        than the takeover itself; held back, it no longer delays the VIPs.
        """
        reports = self._reports.pending
        executor = self._executor
        assert executor is not None
        for effect in self.supervisor.take():
            if isinstance(effect, fx.Transmit):
                executor.transmit(effect)
            elif isinstance(effect, fx.Rearm):
                self._timers.set(effect.driven, effect.driven.armed)
            elif isinstance(effect, (Stepped, PacketDropped)):
                reports.append(effect)
            elif isinstance(effect, fx.ChangeVips):
                executor.change_vips(effect)
            elif isinstance(effect, fx.Firewall):
                executor.firewall(effect)
            elif isinstance(effect, fx.Announce):
                executor.announce(effect)
            elif isinstance(effect, fx.TakeoverDone):
                reports.append(TookOver(effect.runtime, effect.change, trio.current_time()))
            else:
                self._carry_out_rare(effect)
        executor.settle()
        if reports:
            self._deliver_reports()
        self._collector.after_batch(trio.current_time())

    def _deliver_reports(self) -> None:
        observe = self.observer.observe
        for report in self._reports.take():
            observe(report)
            if isinstance(report, Stepped):
                self.hooks.outputs(report.runtime.name, report.outputs)

    def _carry_out_rare(self, effect: fx.Effect) -> None:
        """The effects of start-up, reload, link changes and sync groups."""
        assert self._executor is not None
        assert self._receivers is not None
        if isinstance(effect, fx.OpenEndpoint):
            if not self._receivers.open(effect.key, effect.link, effect.group):
                self.supervisor.endpoint_failed(effect.key)
        elif isinstance(effect, fx.CloseEndpoint):
            self._receivers.close(effect.key)
        elif isinstance(effect, fx.RearmPacer):
            self._timers.set(effect.key, effect.deadline)
        elif isinstance(effect, fx.ChangeRouting):
            self._executor.change_routing(effect)
        elif isinstance(effect, fx.PromoteSecondaries):
            self._executor.promote_secondaries(effect)
        elif isinstance(effect, fx.ListenForVips):
            self._executor.listen_for_vips(effect)
        elif isinstance(effect, fx.RemoveLeftovers):
            self._executor.remove_leftovers(effect)
        elif isinstance(effect, fx.CreateVmac):
            self._executor.create_vmac(effect)
        elif isinstance(effect, fx.GroupNotify):
            log.info("%s", effect.change.log_message)
            self.hooks.notify("GROUP", effect.change.group, effect.change.new, 0)
        elif isinstance(effect, InterfaceTracked | InstancesChanged):
            self._reports.observe(effect)
