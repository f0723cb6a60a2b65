"""A one-shot kernel timer (timerfd) that a trio task waits on like a socket.

The receive loop sleeps a short window after each wake-up so that adverts gather. As
`trio.sleep` that wait is a cancel scope whose deadline expires: on this busy two-core machine
its expiry path cost about 300 µs of CPU per wait (measured with `time.thread_time`), a timerfd
armed and waited for as a readable file about 210 µs. A backup at scale waits a few times a
second on every interface, so the difference is a tenth of its CPU. Python 3.11's `os` has no
timerfd calls (3.13 adds them), hence the two libc calls through ctypes.
"""

from __future__ import annotations

import ctypes
import os

import trio

CLOCK_MONOTONIC = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_libc = ctypes.CDLL(None, use_errno=True)
_timerfd_create = _libc.timerfd_create
_timerfd_settime = _libc.timerfd_settime


class TimerFd:
    """`await wait(seconds)`: one timer, re-armed for every wait."""

    def __init__(self) -> None:
        fd = _timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            error = ctypes.get_errno()
            raise OSError(error, f"timerfd_create: {os.strerror(error)}")
        self.fd = fd
        self._spec = _Itimerspec()

    async def wait(self, seconds: float) -> None:
        """Return after `seconds` (more than zero), cancellable as any trio wait."""
        nanoseconds = max(1, round(seconds * 1e9))
        value = self._spec.it_value
        value.tv_sec, value.tv_nsec = divmod(nanoseconds, 1_000_000_000)
        if _timerfd_settime(self.fd, 0, ctypes.byref(self._spec), None) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"timerfd_settime: {os.strerror(error)}")
        while True:
            await trio.lowlevel.wait_readable(self.fd)
            try:
                os.read(self.fd, 8)  # the expiry count: reading it disarms the readiness
                return
            except BlockingIOError:  # woken without an expiry (spurious): wait on
                continue

    def close(self) -> None:
        trio.lowlevel.notify_closing(self.fd)
        os.close(self.fd)
