"""keepalived's process settings for the VRRP daemon: nice, real-time scheduling, no swap.

An agent that is descheduled or paging misses its adverts, and its backups take over. So
keepalived lets an operator raise the VRRP process's priority (`vrrp_priority`, a nice value),
make it real-time (`vrrp_rt_priority`, SCHED_RR), bound how long it may run real-time without
blocking (`vrrp_rlimit_rttime`, RLIMIT_RTTIME) and lock it in memory (`vrrp_no_swap`). havip
applies them with the same meaning to the thread that runs its event loop.

As in keepalived, real-time scheduling is set with SCHED_RESET_ON_FORK: worker threads
(rendering /metrics, reading a reload) and notify and track scripts start as ordinary
SCHED_OTHER tasks, so none of them can starve the machine. Unlike keepalived, havip sets
RLIMIT_RTTIME only when `vrrp_rlimit_rttime` asks for it: keepalived's 10 ms default suits a C
loop, while a saturating packet flood keeps a Python loop busy without blocking for longer,
and the hard limit is SIGKILL, which would hand the VIPs over. Like keepalived, the soft limit
is half the hard one, and the SIGXCPU it raises is logged, not fatal.

A setting the OS refuses (no CAP_SYS_NICE, or a systemd unit with RestrictRealtime=yes) is
logged and havip runs on, as keepalived does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from havip.config.model import GlobalDefs

log = logging.getLogger("havip")

MCL_CURRENT = 1
MCL_FUTURE = 2


class ProcessOs(Protocol):
    """The calls the settings need: the real `SystemProcessOs`, or a fake in tests."""

    def set_nice(self, value: int) -> None: ...

    def set_round_robin(self, priority: int) -> None: ...

    def set_rttime_limit(self, soft: int, hard: int) -> None: ...

    def lock_memory(self) -> None: ...


class SystemProcessOs:
    """`ProcessOs` over the calling thread and process. Every call raises OSError on refusal."""

    def set_nice(self, value: int) -> None:
        os.setpriority(os.PRIO_PROCESS, 0, value)

    def set_round_robin(self, priority: int) -> None:
        os.sched_setscheduler(0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(priority))

    def set_rttime_limit(self, soft: int, hard: int) -> None:
        signal.signal(signal.SIGXCPU, _warn_rttime)
        resource.setrlimit(resource.RLIMIT_RTTIME, (soft, hard))

    def lock_memory(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))


def _warn_rttime(_signum: int, _frame: object) -> None:
    log.warning("vrrp_rlimit_rttime: the loop used half its real-time CPU without blocking")


@dataclass(frozen=True, slots=True)
class Applied:
    """What was set, for the start-up log line and the tests."""

    settings: tuple[str, ...]
    refused: tuple[str, ...]


def apply_process_settings(defs: GlobalDefs, system: ProcessOs | None = None) -> Applied:
    """Apply the global_defs process settings to this (the loop's) thread; log refusals."""
    system = SystemProcessOs() if system is None else system
    done: list[str] = []
    refused: list[str] = []

    def attempt(name: str, call: Callable[..., None], *args: int) -> None:
        try:
            call(*args)
        except OSError as error:
            refused.append(name)
            log.warning("Unable to apply %s: %s (running without it)", name, error.strerror)
        else:
            done.append(name)

    if defs.process_priority is not None:
        attempt(f"vrrp_priority {defs.process_priority}", system.set_nice, defs.process_priority)
    if defs.realtime_priority is not None:
        attempt(
            f"vrrp_rt_priority {defs.realtime_priority}",
            system.set_round_robin,
            defs.realtime_priority,
        )
        if defs.rlimit_rttime is not None:
            attempt(
                f"vrrp_rlimit_rttime {defs.rlimit_rttime}",
                system.set_rttime_limit,
                defs.rlimit_rttime // 2,
                defs.rlimit_rttime,
            )
    if defs.no_swap:
        attempt("vrrp_no_swap", system.lock_memory)
    if done:
        log.info("Process settings: %s", ", ".join(done))
    return Applied(tuple(done), tuple(refused))
