"""Running external scripts without ever blocking the protocol, and delivering notify scripts.

Tracking and notify scripts share one primitive, `run_command`: it starts the script in a
session of its own (so the script and everything it forks form one process group), waits for it
in the calling trio task, and, when the timeout expires or the waiting task is cancelled, kills
the whole group with SIGKILL before reaping the leader. The leader is reaped only after the kill,
so the group id cannot have been reused by then.

A script line is run like keepalived runs it: split into words (shell quoting rules) and
executed directly; only a line that needs a shell (pipes, redirections, `&&`, globbing,
variable expansion...) goes through `/bin/sh -c`. stdin, stdout and stderr are /dev/null, as in
keepalived, so a chatty script can never fill a pipe and hang, and the environment is the small
one of havip.notify.environment, never havip's own (which may hold OTLP credentials).

`NotifyDispatcher` builds on it to deliver keepalived's notify scripts and FIFO lines for
instances and sync groups: in order, one at a time per instance, never waited on by the agent.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Literal, cast

import trio

from havip.notify.environment import current_script_environment
from havip.notify.fifo import NotifyFifo, NotifyKind, NotifyState, PriorityEvent, fifo_line

_log = logging.getLogger(__name__)

SHELL = "/bin/sh"
REAP_GRACE = 5.0
"""Seconds to wait for a SIGKILLed group leader to be reaped before giving up on it."""

_SHELL_SPECIAL = frozenset("|&;<>()*?[]{}~\n")
"""Characters that mean something to /bin/sh when they are not quoted."""

CommandResult = Literal["success", "failure", "timeout", "error"]
"""success: exit 0; failure: non-zero exit or killed by someone else's signal;
timeout: killed by us at its timeout; error: could not be started at all."""

_OpenProcess = Callable[..., Awaitable[trio.Process]]
_open_process = cast(_OpenProcess, trio.lowlevel.open_process)
"""trio's signature lists only some Popen options; `user`/`group`/`extra_groups` pass through."""


@dataclass(frozen=True, slots=True)
class RunAs:
    """The user and group a script runs as (keepalived: `user`, `script_user`)."""

    uid: int
    gid: int
    user: str = ""

    def popen_options(self) -> dict[str, object]:
        """Popen options that switch to this user in the child, or none if we already are it.

        Like keepalived, the supplementary groups are reduced to the script's group.
        """
        if self.uid == os.geteuid() and self.gid == os.getegid():
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": [self.gid]}


@dataclass(frozen=True, slots=True)
class ScriptCommand:
    """A configured script line (`script "/usr/local/bin/check --quick"`) and who runs it."""

    line: str
    run_as: RunAs | None = None

    @property
    def uses_shell(self) -> bool:
        """Whether the line needs /bin/sh: unquoted shell syntax, or quotes that do not close."""
        return _needs_shell(self.line)

    @property
    def words(self) -> tuple[str, ...]:
        """The line split with shell quoting rules (whitespace-split if the quotes are broken)."""
        try:
            return tuple(shlex.split(self.line))
        except ValueError:
            return tuple(self.line.split())

    def argv(self, extra: Sequence[str] = ()) -> list[str]:
        """The argument vector to execute, with `extra` arguments appended (notify's four)."""
        if self.uses_shell:
            quoted = " ".join(shlex.quote(arg) for arg in extra)
            return [SHELL, "-c", f"{self.line} {quoted}" if quoted else self.line]
        return [*self.words, *extra]


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """How one run ended. Times are trio's clock (the agent's monotonic clock)."""

    result: CommandResult
    returncode: int | None
    pid: int | None
    began: float
    ended: float
    detail: str

    @property
    def duration(self) -> float:
        return self.ended - self.began


async def run_command(
    argv: Sequence[str], timeout: float, run_as: RunAs | None = None
) -> CommandOutcome:
    """Run `argv` to completion or until `timeout` seconds, whichever comes first.

    The process group is killed on timeout and on cancellation of the caller; a script that
    exits normally keeps whatever it started in the background (keepalived does the same).
    """
    began = trio.current_time()
    options: dict[str, object] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "start_new_session": True,
        "env": current_script_environment(run_as.uid if run_as is not None else None),
    }
    if run_as is not None:
        options.update(run_as.popen_options())
    try:
        process = await _open_process(list(argv), **options)
    except (OSError, subprocess.SubprocessError) as exc:
        return CommandOutcome(
            "error", None, None, began, trio.current_time(), f"could not start: {exc}"
        )
    timed_out = False
    try:
        with trio.move_on_after(timeout) as scope:
            await process.wait()
        timed_out = scope.cancelled_caught
    finally:
        if process.returncode is None:
            _kill_group(process.pid)
            with trio.CancelScope(shield=True), trio.move_on_after(REAP_GRACE):
                await process.wait()
    ended = trio.current_time()
    if timed_out:
        return CommandOutcome(
            "timeout",
            process.returncode,
            process.pid,
            began,
            ended,
            f"timed out after {timeout:g}s",
        )
    code = cast(int, process.returncode)
    if code == 0:
        return CommandOutcome("success", code, process.pid, began, ended, "exited with status 0")
    detail = f"killed by signal {_signal_name(-code)}" if code < 0 else f"exited with status {code}"
    return CommandOutcome("failure", code, process.pid, began, ended, detail)


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _needs_shell(line: str) -> bool:
    """Scan `line` like /bin/sh would tokenise it and report any syntax only a shell handles."""
    quote = ""
    escaped = False
    word_start = True
    for char in line:
        if escaped:
            escaped, word_start = False, False
            continue
        if quote == "'":
            quote = "" if char == "'" else quote
            continue
        if char == "\\":
            escaped = True
            continue
        if char in "$`":
            return True
        if quote == '"':
            quote = "" if char == '"' else quote
            continue
        if char in "'\"":
            quote, word_start = char, False
            continue
        if char in _SHELL_SPECIAL or (char in "#!" and word_start):
            return True
        word_start = char in " \t"
    if quote or escaped:
        return True
    first = line.split(maxsplit=1)[:1]
    return bool(first) and "=" in first[0]


# --- notify delivery -------------------------------------------------------------------------

NotifyResult = Literal["ok", "failed", "timeout", "dropped"]
"""The `result` label of havip_notify_runs_total."""

DEFAULT_NOTIFY_TIMEOUT = 30.0
"""keepalived never waits for notify scripts; havip runs them in order, so one that hangs must
be killed for the next to run."""
STOP_TIMEOUT = 1.0
"""keepalived kills a STOP notify script's process group after one second (it is shutting down)."""
DEFAULT_QUEUE_SIZE = 32
"""Script runs waiting per instance or group before the oldest is dropped."""

_RESULTS: dict[CommandResult, NotifyResult] = {
    "success": "ok",
    "failure": "failed",
    "error": "failed",
    "timeout": "timeout",
}


@dataclass(frozen=True, slots=True)
class NotifyScripts:
    """The notify scripts of one vrrp_instance or vrrp_sync_group (None: not configured)."""

    notify: ScriptCommand | None = None
    master: ScriptCommand | None = None
    backup: ScriptCommand | None = None
    fault: ScriptCommand | None = None
    stop: ScriptCommand | None = None

    def for_state(self, state: NotifyState) -> ScriptCommand | None:
        """The state's own script (`notify_master`...): keepalived runs it without arguments."""
        return {
            "MASTER": self.master,
            "BACKUP": self.backup,
            "FAULT": self.fault,
            "STOP": self.stop,
        }[state]


@dataclass(frozen=True, slots=True)
class NotifyRun:
    """One notify script run, as reported to `on_done` (metric, log, child span of the transition).

    `began`/`ended` are trio's clock; both are None for a run that was dropped unstarted.
    """

    kind: NotifyKind
    name: str
    state: NotifyState
    priority: int
    command: str
    result: NotifyResult
    began: float | None
    ended: float | None
    detail: str


@dataclass(frozen=True, slots=True)
class _Job:
    kind: NotifyKind
    name: str
    state: NotifyState
    priority: int
    command: ScriptCommand
    argv: tuple[str, ...]


@dataclass(eq=False)
class _Queue:
    """The pending runs of one instance or group and the worker that runs them one at a time."""

    pending: deque[_Job] = field(default_factory=deque)
    wakeup: trio.Event = field(default_factory=trio.Event)


class NotifyDispatcher:
    """Delivers notify scripts and notify FIFO lines for instances and sync groups.

    `notify()` is synchronous and never waits: the agent calls it from its observer hook. Each
    instance or group has its own bounded queue and worker task, so its scripts run in the
    order of its transitions, one at a time, each under a timeout that kills its process group;
    different instances do not wait for each other. When a queue is full the oldest waiting run
    is dropped, logged and reported. FIFO lines are written at once, in order, without blocking.
    """

    def __init__(
        self,
        *,
        on_done: Callable[[NotifyRun], None],
        fifos: Sequence[NotifyFifo] = (),
        timeout: float = DEFAULT_NOTIFY_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._on_done = on_done
        self._fifos = tuple(fifos)
        self._timeout = timeout
        self._stop_timeout = stop_timeout
        self._queue_size = queue_size
        self._queues: dict[tuple[NotifyKind, str], _Queue] = {}
        self._nursery: trio.Nursery | None = None
        self._outstanding = 0
        self._idle = trio.Event()
        self._idle.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Host the worker tasks until cancelled (start it with `nursery.start`)."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None
                self._queues.clear()
                self._outstanding = 0
                self._idle.set()

    def notify(
        self,
        kind: NotifyKind,
        name: str,
        state: NotifyState,
        priority: int,
        scripts: NotifyScripts,
    ) -> None:
        """Schedule keepalived's notifications for `name` entering `state`, without waiting.

        As keepalived: the state's own script first (no arguments), then the generic `notify`
        script with `INSTANCE|GROUP name STATE priority` appended, and a FIFO line on every
        configured FIFO. A group's priority is 0.
        """
        if self._nursery is None:
            raise RuntimeError("NotifyDispatcher.run() is not running")
        self.write_fifos(kind, name, state, priority)
        own = scripts.for_state(state)
        if own is not None:
            self._enqueue(_Job(kind, name, state, priority, own, tuple(own.argv())))
        if scripts.notify is not None:
            extra = (kind, name, state, str(priority))
            argv = tuple(scripts.notify.argv(extra))
            self._enqueue(_Job(kind, name, state, priority, scripts.notify, argv))

    def write_fifos(
        self, kind: NotifyKind, name: str, event: NotifyState | PriorityEvent, priority: int
    ) -> None:
        """One line on every notify FIFO, at once (a priority change has no scripts)."""
        for fifo in self._fifos:
            if not fifo.write(fifo_line(kind, name, event, priority)):
                _log.error(
                    "%s notify FIFO %s is full or closed: %s event dropped",
                    _prefix(kind, name),
                    fifo.path,
                    event,
                )

    async def drain(self) -> None:
        """Wait until every scheduled script has run (shutdown waits for STOP scripts)."""
        while self._outstanding:
            await self._idle.wait()

    def close(self) -> None:
        """Close the notify FIFOs (a reload opens them again for the new dispatcher)."""
        for fifo in self._fifos:
            fifo.close()

    def _enqueue(self, job: _Job) -> None:
        assert self._nursery is not None
        key = (job.kind, job.name)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
            self._nursery.start_soon(self._work, queue)
        if len(queue.pending) >= self._queue_size:
            self._drop(queue.pending.popleft())
        queue.pending.append(job)
        self._outstanding += 1
        if self._idle.is_set():
            self._idle = trio.Event()
        queue.wakeup.set()

    async def _work(self, queue: _Queue) -> None:
        while True:
            while not queue.pending:
                await queue.wakeup.wait()
                queue.wakeup = trio.Event()
            job = queue.pending.popleft()
            timeout = self._stop_timeout if job.state == "STOP" else self._timeout
            run_as = job.command.run_as
            outcome = await run_command(job.argv, timeout, run_as)
            result = _RESULTS[outcome.result]
            if result != "ok":
                _log.warning(
                    "%s notify script `%s` for %s %s: %s",
                    _prefix(job.kind, job.name),
                    job.command.line,
                    job.state,
                    result,
                    outcome.detail,
                )
            self._finish(
                NotifyRun(
                    job.kind,
                    job.name,
                    job.state,
                    job.priority,
                    job.command.line,
                    result,
                    outcome.began,
                    outcome.ended,
                    outcome.detail,
                )
            )

    def _drop(self, job: _Job) -> None:
        _log.error(
            "%s notify queue full (%d waiting): dropped `%s` for %s",
            _prefix(job.kind, job.name),
            self._queue_size,
            job.command.line,
            job.state,
        )
        self._finish(
            NotifyRun(
                job.kind,
                job.name,
                job.state,
                job.priority,
                job.command.line,
                "dropped",
                None,
                None,
                "queue full",
            )
        )

    def _finish(self, run: NotifyRun) -> None:
        self._outstanding -= 1
        if not self._outstanding:
            self._idle.set()
        try:
            self._on_done(run)
        except Exception:
            _log.exception("notify on_done callback failed")


def _prefix(kind: NotifyKind, name: str) -> str:
    return f"VRRP_Instance({name})" if kind == "INSTANCE" else f"VRRP_Group({name})"
