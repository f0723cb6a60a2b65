"""`vrrp_script`: run a check every `interval` and turn its exit codes into up/down.

The counting is keepalived's (vrrp_script_child_thread), kept in `RiseFall`: a script is up
after `rise` consecutive successes and down after `fall` consecutive failures; while up, a
success restores the full margin, and while down, a failure restarts the count. Exit status 0
is success; anything else, a timeout, a kill by signal or a failure to start is a failure.

Before its first result a script is neither up nor down (keepalived's INIT state): it moves no
priority, and one result of either kind decides it. With `init_fail` it starts down instead,
and needs `rise` successes to come up. `timeout` defaults to `interval`, as in keepalived.

Runs never overlap: the next run starts on the next `interval` tick after the previous one
ended. Each run happens in the tracker's own task through `run_command`, so a hanging script
only delays its own next result; at its timeout its whole process group is killed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio

from havip.notify.runner import CommandOutcome, CommandResult, RunAs, ScriptCommand, run_command

_log = logging.getLogger(__name__)

ResultCallback = Callable[[str, bool, float, CommandResult], None]
"""on_result(script name, ok, duration in seconds, result label)."""
ChangeCallback = Callable[[str, bool], None]
"""on_change(script name, up)."""
CommandRunner = Callable[[Sequence[str], float, RunAs | None], Awaitable[CommandOutcome]]

_EXIT_TYPES: dict[CommandResult, str] = {
    "success": "succeeded",
    "failure": "failed",
    "timeout": "timed_out",
    "error": "failed",
}
"""keepalived's words in `VRRP_Script(name) succeeded|failed|timed_out`."""


@dataclass(frozen=True, slots=True)
class TrackScript:
    """One vrrp_script block, as the tracker needs it."""

    name: str
    command: ScriptCommand
    interval: float = 1.0
    timeout: float | None = None
    rise: int = 1
    fall: int = 1
    init_fail: bool = False

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError(f"vrrp_script {self.name}: interval must be positive")
        if self.rise < 1 or self.fall < 1:
            raise ValueError(f"vrrp_script {self.name}: rise and fall must be at least 1")

    @property
    def run_timeout(self) -> float:
        """keepalived: `timeout` if set, else `interval`."""
        return self.timeout if self.timeout else self.interval


class RiseFall:
    """keepalived's result counter for one script, without any I/O.

    The count runs from 0 to rise+fall-1 and the script is up when it is at least `rise`.
    """

    def __init__(self, rise: int, fall: int, init_fail: bool) -> None:
        self.rise = rise
        self.fall = fall
        self._count = 0 if init_fail else rise - 1
        self._known = init_fail

    @property
    def up(self) -> bool | None:
        """True or False once decided; None before the first result (unless init_fail)."""
        return self._count >= self.rise if self._known else None

    def record(self, ok: bool) -> bool | None:
        """Count one result; return the new health if it changed, else None."""
        initial = not self._known
        self._known = True
        top = self.rise + self.fall - 1
        if ok:
            if self._count < self.rise - 1:
                self._count += 1
                return None
            changed = self._count < self.rise
            self._count = top
            return True if changed else None
        if self._count > self.rise:
            self._count -= 1
            return None
        changed = self._count == self.rise or initial
        self._count = 0
        return False if changed else None


class ScriptTracker:
    """Runs one vrrp_script forever and reports every result and every change of health."""

    def __init__(
        self,
        script: TrackScript,
        *,
        on_result: ResultCallback,
        on_change: ChangeCallback,
        runner: CommandRunner = run_command,
    ) -> None:
        self.script = script
        self._on_result = on_result
        self._on_change = on_change
        self._runner = runner
        self._counter = RiseFall(script.rise, script.fall, script.init_fail)
        self._last_status: int | None = None

    @property
    def up(self) -> bool | None:
        """The script's health: None until its first result (never None with init_fail)."""
        return self._counter.up

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the script now and then every `interval` until cancelled."""
        script = self.script
        argv = script.command.argv()
        task_status.started()
        next_run = trio.current_time()
        while True:
            outcome = await self._runner(argv, script.run_timeout, script.command.run_as)
            self._report(outcome)
            now = trio.current_time()
            next_run += script.interval
            if next_run < now:
                next_run = now
            await trio.sleep_until(next_run)

    def _report(self, outcome: CommandOutcome) -> None:
        name = self.script.name
        ok = outcome.result == "success"
        if outcome.returncode is not None and outcome.returncode >= 0:
            if outcome.returncode != self._last_status:
                _log.info("Script `%s` now returning %d", name, outcome.returncode)
            self._last_status = outcome.returncode
        self._on_result(name, ok, outcome.duration, outcome.result)
        changed = self._counter.record(ok)
        if changed is None:
            return
        exit_type = _EXIT_TYPES[outcome.result]
        if changed:
            _log.info("VRRP_Script(%s) %s", name, exit_type)
        else:
            _log.warning("VRRP_Script(%s) %s (%s)", name, exit_type, outcome.detail)
        self._on_change(name, changed)
