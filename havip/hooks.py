"""The configuration's hooks into the world around the router, for the agent.

In: vrrp_script and vrrp_track_file trackers. Out: notify scripts and notify FIFOs.

vrrp_script and vrrp_track_file trackers feed `TrackerChanged` events to every instance that
tracks them (a sync group's trackers to all its members), and notify scripts and FIFOs hear
every transition, delivered in order per instance. Scripts are checked once, at start-up, by
keepalived's rules: one keepalived would refuse is logged and disabled, and without
`enable_script_security` an insecure one draws keepalived's SECURITY VIOLATION warning.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Sequence

import trio

from havip.config.model import LoadedConfig, SyncGroup, VrrpInstance
from havip.notify.fifo import NOTIFY_STATES, NotifyFifo, NotifyKind, PriorityEvent
from havip.notify.runner import (
    NotifyDispatcher,
    NotifyRun,
    NotifyScripts,
    RunAs,
    ScriptCommand,
    run_command,
)
from havip.notify.security import (
    SECURITY_VIOLATION,
    ScriptUserError,
    check_script_security,
    resolve_run_as,
    script_problem,
)
from havip.observer import ProcessTracked, ScriptChanged, ScriptRan
from havip.proto.events import Output, PriorityChanged, StateChanged, TrackerChanged
from havip.proto.model import State
from havip.proto.trackers import Tracking, file_events, process_events, script_events
from havip.track.files import FileTracker, initialise_track_file
from havip.track.processes import (
    ProcessPattern,
    ProcessQuorum,
    ProcessTracker,
    TrackedProcessSpec,
)
from havip.track.scripts import ScriptTracker, TrackScript

log = logging.getLogger("havip")

Feed = Callable[[str, TrackerChanged], None]
"""(instance name, event): hands a tracker's change to one instance."""

NO_NOTIFY = NotifyScripts()

STOP_NOTIFY_GRACE = 0.8
"""How long shutdown waits for notify_stop scripts, so that havip still exits within 1 s."""


class Hooks:
    """The trackers and notify delivery one configuration asks for."""

    def __init__(
        self,
        config: LoadedConfig,
        feed: Feed,
        report: Callable[[ScriptRan | ScriptChanged | ProcessTracked], None],
        on_notify: Callable[[NotifyRun], None],
    ) -> None:
        self._config = config
        self._feed = feed
        self._report = report
        self._on_notify = on_notify
        self._script_trackings: dict[str, list[Tracking]] = {}
        self._file_trackings: dict[str, list[Tracking]] = {}
        self._process_trackings: dict[str, list[Tracking]] = {}
        self._collect_trackings()
        self._insecure = False
        self.scripts = self._script_trackers()
        self.files = self._file_trackers()
        self.processes = self._process_tracker()
        self._process_status = self.processes.first_reading() if self.processes else {}
        if self._insecure and not config.global_defs.enable_script_security:
            log.warning("%s", SECURITY_VIOLATION)
        self.instance_notify = {i.name: self._notify_scripts(i) for i in config.instances}
        self.group_notify = {g.name: self._notify_scripts(g) for g in config.sync_groups}
        self._priority_notify = {i.name for i in config.instances if i.notify_priority_changes}
        self._fifo_scripts: list[tuple[ScriptCommand, str]] = []
        self.dispatcher = NotifyDispatcher(on_done=self._notify_done, fifos=self._fifos())
        self._fifo_scripts_running = 0
        self._fifo_scripts_done = trio.Event()

    # --- wiring -------------------------------------------------------------------------------

    def _collect_trackings(self) -> None:
        config = self._config
        for instance in config.instances:
            self._add_trackings(instance, [instance.name])
            self._add_process_trackings(instance, [instance.name])
        for group in config.sync_groups:
            self._add_trackings(group, list(group.members))
            self._add_process_trackings(group, list(group.members))

    def _add_trackings(self, owner: VrrpInstance | SyncGroup, members: list[str]) -> None:
        for tracked in owner.track_scripts:
            script = self._config.scripts.get(tracked.name)
            if script is None:
                continue
            for member in members:
                self._script_trackings.setdefault(tracked.name, []).append(
                    Tracking.resolve(
                        member,
                        tracked.weight,
                        tracked.reverse,
                        default_weight=script.weight,
                        default_reverse=script.reverse,
                    )
                )
        for tracked_file in owner.track_files:
            track_file = self._config.track_files.get(tracked_file.name)
            if track_file is None:
                continue
            for member in members:
                self._file_trackings.setdefault(tracked_file.name, []).append(
                    Tracking.resolve(
                        member,
                        tracked_file.weight,
                        tracked_file.reverse,
                        default_weight=track_file.weight,
                        default_reverse=track_file.reverse,
                    )
                )

    def _add_process_trackings(self, owner: VrrpInstance | SyncGroup, members: list[str]) -> None:
        for tracked in owner.track_processes:
            process = self._config.track_processes.get(tracked.name)
            if process is None:
                continue
            for member in members:
                self._process_trackings.setdefault(tracked.name, []).append(
                    Tracking.resolve(
                        member,
                        tracked.weight,
                        tracked.reverse,
                        default_weight=process.weight,
                        default_reverse=process.reverse,
                    )
                )

    def _process_tracker(self) -> ProcessTracker | None:
        """One poller for every tracked vrrp_track_process (None when none is tracked)."""
        if not self._process_trackings:
            return None
        specs = []
        for name in self._process_trackings:
            process = self._config.track_processes[name]
            pattern = ProcessPattern(
                process.process, process.params, process.param_match, process.full_command
            )
            quorum = ProcessQuorum(
                process.quorum, process.quorum_max, process.fork_delay, process.terminate_delay
            )
            specs.append(TrackedProcessSpec(name, pattern, quorum))
        return ProcessTracker(specs, self._process_changed)

    def _run_as(self, user: str | None, group: str | None, what: str) -> RunAs | None:
        defs = self._config.global_defs
        try:
            return resolve_run_as(
                user,
                group,
                script_user=defs.script_user,
                script_group=defs.script_group,
                script_security=defs.enable_script_security,
            )
        except ScriptUserError as error:
            log.error("%s disabled: %s", what, error)
            return None

    def _command(self, line: str, run_as: RunAs, what: str) -> ScriptCommand | None:
        """The command, or None (logged) when keepalived would refuse to run it."""
        command = ScriptCommand(line, run_as)
        security = self._config.global_defs.enable_script_security
        problem = script_problem(command, run_as, script_security=security)
        if problem is not None:
            log.error("%s disabled: %s", what, problem)
            return None
        if not security and command.words:
            with contextlib.suppress(OSError):
                if check_script_security(command.words[0], run_as.uid, run_as.gid) is not None:
                    self._insecure = True
        return command

    def _script_trackers(self) -> dict[str, ScriptTracker]:
        trackers: dict[str, ScriptTracker] = {}
        for name in self._script_trackings:
            script = self._config.scripts[name]
            run_as = self._run_as(script.user, script.group, f"vrrp_script {name}")
            command = (
                self._command(script.script, run_as, f"vrrp_script {name}") if run_as else None
            )
            if command is None:
                continue
            track = TrackScript(
                name,
                command,
                script.interval,
                script.timeout,
                script.rise,
                script.fall,
                script.init_fail,
            )
            trackers[name] = ScriptTracker(
                track, on_result=self._script_result, on_change=self._script_changed
            )
        return trackers

    def _file_trackers(self) -> dict[str, FileTracker]:
        trackers: dict[str, FileTracker] = {}
        for name in self._file_trackings:
            track_file = self._config.track_files[name]
            if track_file.init_file is not None:
                problem = initialise_track_file(
                    track_file.path, track_file.init_file, track_file.init_overwrite
                )
                if problem is not None:
                    log.error("vrrp_track_file %s: %s", name, problem)
            trackers[name] = FileTracker(name, track_file.path, self._file_changed)
        return trackers

    def _notify_scripts(self, owner: VrrpInstance | SyncGroup) -> NotifyScripts:
        lines = (owner.notify, owner.notify_master, owner.notify_backup)
        if not any((*lines, owner.notify_fault, owner.notify_stop)):
            return NO_NOTIFY  # no user lookup for the many instances without notify lines
        what = f"notify script of {owner.name}"
        run_as = self._run_as(None, None, what)

        def command(line: str | None) -> ScriptCommand | None:
            if line is None or run_as is None:
                return None
            return self._command(line, run_as, what)

        return NotifyScripts(
            notify=command(owner.notify),
            master=command(owner.notify_master),
            backup=command(owner.notify_backup),
            fault=command(owner.notify_fault),
            stop=command(owner.notify_stop),
        )

    def _fifos(self) -> list[NotifyFifo]:
        """Open the notify FIFOs (one per path), and note the scripts that read them."""
        fifos = []
        defs = self._config.global_defs
        configs = {c.path: c for c in (defs.notify_fifo, defs.vrrp_notify_fifo) if c}
        for path, config in configs.items():
            owner = self._run_as(config.user, config.group, f"notify FIFO {path}")
            if owner is None:
                continue
            fifo = NotifyFifo(path, (owner.uid, owner.gid))
            try:
                fifo.open()
            except OSError as error:
                log.error("notify FIFO %s cannot be opened: %s", path, error)
                continue
            fifos.append(fifo)
            if config.script is not None:
                what = f"notify_fifo_script of {path}"
                run_as = self._run_as(config.script_user, config.script_group, what)
                command = self._command(config.script, run_as, what) if run_as else None
                if command is not None:
                    self._fifo_scripts.append((command, path))
        return fifos

    async def _run_fifo_script(self, command: ScriptCommand, path: str) -> None:
        """keepalived's notify_fifo_script: started once with the FIFO's path as its last
        argument and never timed out; a reader ends when the FIFO is closed (shutdown)."""
        try:
            outcome = await run_command(command.argv((path,)), math.inf, command.run_as)
            log.info("notify fifo script %s terminated: %s", command.line, outcome.detail)
        finally:
            self._fifo_scripts_running -= 1
            if not self._fifo_scripts_running:
                self._fifo_scripts_done.set()

    # --- events -------------------------------------------------------------------------------

    def initial_events(self, *, scripts: bool = True) -> list[tuple[str, TrackerChanged]]:
        """What is known before the instances start: track files, and init_fail scripts
        unless `scripts` is False (a reloaded instance keeps its scripts' last results)."""
        events: list[tuple[str, TrackerChanged]] = []
        for name, tracker in self.scripts.items() if scripts else ():
            if tracker.up is not None:
                events += script_events(name, tracker.up, self._script_trackings[name])
        for name, file_tracker in self.files.items():
            events += file_events(name, file_tracker.value, self._file_trackings[name])
        for name, up in self._process_status.items():
            self._report(ProcessTracked(name, up))
            events += process_events(name, up, self._process_trackings[name])
        return events

    def _process_changed(self, name: str, up: bool) -> None:
        self._process_status[name] = up
        self._report(ProcessTracked(name, up))
        for instance, event in process_events(name, up, self._process_trackings[name]):
            self._feed(instance, event)

    def _script_result(self, name: str, ok: bool, duration: float, result: str) -> None:
        self._report(ScriptRan(name, ok, duration, result))

    def _script_changed(self, name: str, up: bool) -> None:
        self._report(ScriptChanged(name, up))
        for instance, event in script_events(name, up, self._script_trackings[name]):
            self._feed(instance, event)

    def _file_changed(self, name: str, value: int) -> None:
        log.info("VRRP_Track_File(%s) value is now %d", name, value)
        for instance, event in file_events(name, value, self._file_trackings[name]):
            self._feed(instance, event)

    def _notify_done(self, run: NotifyRun) -> None:
        self._on_notify(run)
        if run.result != "ok":
            log.error("notify %s for %s %s: %s", run.command, run.name, run.result, run.detail)

    def outputs(self, name: str, outputs: Sequence[Output]) -> None:
        """Notify scripts for every transition of instance `name`, and the FIFO line of each
        priority change if it asked for `notify_priority_changes`."""
        for output in outputs:
            if isinstance(output, StateChanged):
                self.notify("INSTANCE", name, output.new, output.priority)
            elif isinstance(output, PriorityChanged) and name in self._priority_notify:
                self._priority_changed(name, output.state, output.new)

    def _priority_changed(self, name: str, state: State, priority: int) -> None:
        """keepalived's MASTER_PRIORITY / BACKUP_PRIORITY line; none before start or after stop."""
        if state in (State.INIT, State.STOP):
            return
        event: PriorityEvent = "MASTER_PRIORITY" if state is State.MASTER else "BACKUP_PRIORITY"
        self.dispatcher.write_fifos("INSTANCE", name, event, priority)

    def notify(self, kind: NotifyKind, name: str, state: State, priority: int) -> None:
        word = NOTIFY_STATES.get(state.value)
        if word is None:
            return
        scripts = self.instance_notify if kind == "INSTANCE" else self.group_notify
        try:
            self.dispatcher.notify(kind, name, word, priority, scripts.get(name, NotifyScripts()))
        except RuntimeError:  # only after the agent's nursery has closed, never in service
            log.error("%s %s %s: notify dropped, the agent is stopping", kind, name, word)

    # --- running ------------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Notify delivery and every tracker, until cancelled."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.dispatcher.run)
            for command, path in self._fifo_scripts:
                self._fifo_scripts_running += 1
                nursery.start_soon(self._run_fifo_script, command, path)
            for tracker in self.scripts.values():
                nursery.start_soon(tracker.run)
            for file_tracker in self.files.values():
                nursery.start_soon(file_tracker.run)
            if self.processes is not None:
                nursery.start_soon(self.processes.run)
            task_status.started()

    async def drain_stop_notifications(self) -> None:
        """Wait (a little) for the STOP notify scripts, then close the FIFOs and let their
        reading scripts finish the lines (they see the end of their input)."""
        with trio.move_on_after(STOP_NOTIFY_GRACE):
            await self.dispatcher.drain()
            if self._fifo_scripts_running:
                self.dispatcher.close()
                await self._fifo_scripts_done.wait()

    def close(self) -> None:
        """Release what the configuration opened (the notify FIFOs)."""
        self.dispatcher.close()
