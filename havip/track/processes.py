"""`vrrp_track_process`: whether enough copies of a process run, read from /proc.

keepalived learns of forks, execs and exits from the kernel's process connector; havip polls
/proc instead (every `POLL_INTERVAL`), which needs no netlink connector or privilege and sees
the same processes, at most one poll late. What keepalived decides is kept exactly
(keepalived/core/track_process.c, vrrp_parser.c):

* A process matches by its `comm` name (what `ps -o comm` and pgrep show, at most 15 bytes),
  or with `full_command` (or any `param_match`, or parameters after the name) by `argv[0]` of
  its command line. Zombies never match.
* Parameters: `process NAME ARG...` means `param_match exact` unless told otherwise: the
  arguments must be exactly ARG...; `partial`: they must begin with ARG... (whole words);
  `initial`: likewise, but the last ARG may be the beginning of a word. `param_match` without
  arguments in `process` means: no arguments (exact), or any (initial, partial).
* It is up while `quorum` <= matching processes <= `quorum_max` (defaults 1 and unlimited).
* A change to up caused only by forks (the new processes are children of matching ones) is
  reported after `fork_delay`; one caused by exits after `terminate_delay`; if the status is
  back before the delay ends, nothing is reported. A change caused by a new program (exec) is
  reported at once. `delay` sets both delays. The first reading, at start-up, counts at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import trio

from havip.config.model import ParamMatch

_log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
"""Seconds between two readings of /proc."""
ProcessChange = Callable[[str, bool], None]
"""on_change(vrrp_track_process name, up)."""


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One process as /proc shows it: pid, parent, `comm` name and command line words."""

    pid: int
    ppid: int
    comm: str
    argv: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProcessPattern:
    """Which processes a vrrp_track_process counts."""

    name: str
    params: tuple[str, ...] | None = None
    param_match: ParamMatch = "none"
    full_command: bool = False

    def matches(self, process: ProcessInfo) -> bool:
        if not self.full_command:
            return process.comm == self.name
        if not process.argv or process.argv[0] != self.name:
            return False
        return self._params_match(process.argv[1:])

    def _params_match(self, actual: tuple[str, ...]) -> bool:
        wanted = self.params
        if self.param_match == "none":
            return True
        if self.param_match == "exact":
            return actual == (wanted or ())
        if not wanted:
            return True
        if len(actual) < len(wanted):
            return False
        if self.param_match == "partial":
            return actual[: len(wanted)] == wanted
        head, last = wanted[:-1], wanted[-1]
        return actual[: len(head)] == head and actual[len(head)].startswith(last)


@dataclass(frozen=True, slots=True)
class ProcessQuorum:
    """How many matching processes make the tracker up, and how long a change must last."""

    quorum: int = 1
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0

    def holds(self, count: int) -> bool:
        return self.quorum <= count and (self.quorum_max is None or count <= self.quorum_max)


class ProcessCount:
    """The tracker's decisions, pure: fed the matching processes of each reading."""

    def __init__(self, quorum: ProcessQuorum) -> None:
        self.quorum = quorum
        self.up: bool | None = None
        """The status last reported (None before the first reading)."""
        self.pids: dict[int, int] = {}
        """The matching processes of the last reading: pid -> parent pid."""
        self._pending: tuple[bool, float] | None = None

    def update(self, matching: dict[int, int], now: float) -> bool | None:
        """A reading (pid -> parent pid of each matching process) at `now`; returns the new
        status when it is to be reported now, else None."""
        before = self.pids
        self.pids = dict(matching)
        up = self.quorum.holds(len(matching))
        if self.up is None:
            return self._report(up)
        if up == self.up:
            self._pending = None  # back before its delay ended: nothing happened
            return None
        if self._pending is not None:
            return None  # already waiting for this change
        delay = self._delay(before, matching)
        if delay <= 0:
            return self._report(up)
        self._pending = (up, now + delay)
        return None

    def due(self, now: float) -> bool | None:
        """The delayed change, if its time has come and it still holds."""
        if self._pending is None or now < self._pending[1]:
            return None
        self._pending = None
        up = self.quorum.holds(len(self.pids))
        return self._report(up) if up != self.up else None

    def deadline(self) -> float | None:
        return None if self._pending is None else self._pending[1]

    def _delay(self, before: dict[int, int], now: dict[int, int]) -> float:
        """terminate_delay for exits; fork_delay if every new process is a fork of a matching
        one; nothing for a newly started program."""
        if len(now) < len(before):
            return self.quorum.terminate_delay
        new = [pid for pid in now if pid not in before]
        if new and all(now[pid] in before or now[pid] in now for pid in new):
            return self.quorum.fork_delay
        return 0.0

    def _report(self, up: bool) -> bool:
        self.up = up
        self._pending = None
        return up


def read_processes(proc: str = "/proc", need_argv: bool = True) -> list[ProcessInfo]:
    """Every live (non-zombie) process; one that exits while being read is skipped."""
    found = []
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        process = _read_process(entry.path, int(entry.name), need_argv)
        if process is not None:
            found.append(process)
    return found


def _read_process(path: str, pid: int, need_argv: bool) -> ProcessInfo | None:
    try:
        with open(f"{path}/stat", "rb") as stat:
            text = stat.read()
        argv: tuple[str, ...] = ()
        if need_argv:
            with open(f"{path}/cmdline", "rb") as cmdline:
                raw = cmdline.read()
            argv = tuple(w.decode(errors="replace") for w in raw.split(b"\0")[:-1])
    except OSError:
        return None
    # "pid (comm) S ppid ...": comm may itself hold spaces and parentheses
    start, end = text.find(b"("), text.rfind(b")")
    fields = text[end + 2 :].split()
    if start < 0 or end < 0 or len(fields) < 2 or fields[0] == b"Z":
        return None
    return ProcessInfo(pid, int(fields[1]), text[start + 1 : end].decode(errors="replace"), argv)


@dataclass(frozen=True, slots=True)
class TrackedProcessSpec:
    """One vrrp_track_process block as the tracker needs it."""

    name: str
    pattern: ProcessPattern
    quorum: ProcessQuorum


class ProcessTracker:
    """Polls /proc for every vrrp_track_process of a configuration in one task."""

    def __init__(
        self,
        specs: Iterable[TrackedProcessSpec],
        on_change: ProcessChange,
        reader: Callable[[], list[ProcessInfo]] | None = None,
        poll_interval: float = POLL_INTERVAL,
        in_thread: bool = True,
    ) -> None:
        """`reader` defaults to /proc, read in a worker thread so that a slow /proc never
        delays the loop (`in_thread=False` reads on the loop, for a reader that cannot block)."""
        self.specs = {spec.name: spec for spec in specs}
        self.counts = {name: ProcessCount(spec.quorum) for name, spec in self.specs.items()}
        self._on_change = on_change
        need_argv = any(spec.pattern.full_command for spec in self.specs.values())
        self._reader = reader or (lambda: read_processes(need_argv=need_argv))
        self._poll_interval = poll_interval
        self._in_thread = in_thread

    def first_reading(self) -> dict[str, bool]:
        """Read /proc once, synchronously, before the instances start: every status."""
        self._read(self._reader(), 0.0, report=False)
        return {name: bool(count.up) for name, count in self.counts.items()}

    async def run(self) -> None:
        """Poll until cancelled, reporting changes through on_change."""
        next_poll = trio.current_time() + self._poll_interval
        while True:
            deadlines = [d for c in self.counts.values() if (d := c.deadline()) is not None]
            await trio.sleep_until(min([next_poll, *deadlines]))
            now = trio.current_time()
            if now >= next_poll:
                if self._in_thread:
                    processes = await trio.to_thread.run_sync(self._reader)
                else:
                    processes = self._reader()
                self._read(processes, trio.current_time(), report=True)
                next_poll = now + self._poll_interval
            for name, count in self.counts.items():
                up = count.due(trio.current_time())
                if up is not None:
                    self._changed(name, up, count)

    def _read(self, processes: list[ProcessInfo], now: float, report: bool) -> None:
        for name, spec in self.specs.items():
            matching = {p.pid: p.ppid for p in processes if spec.pattern.matches(p)}
            count = self.counts[name]
            up = count.update(matching, now)
            if up is not None and report:
                self._changed(name, up, count)

    def _changed(self, name: str, up: bool, count: ProcessCount) -> None:
        _log.info(
            "VRRP_Track_Process(%s) is now %s (%d processes)",
            name,
            "up" if up else "down",
            len(count.pids),
        )
        self._on_change(name, up)
