"""A notify FIFO read by the chaos run: every line a daemon writes, in order, in memory.

The reader opens its end read-write, so it never blocks on open and never sees end-of-file
when a daemon dies and the next one opens the FIFO; each daemon lifetime gets its own FIFO, so
the lines of a killed daemon and of its successor are never mixed.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from pathlib import Path

POLL = 0.05
"""Seconds a read waits before it looks at the stop flag again."""


class FifoReader:
    """Creates a FIFO at `path` and collects its lines in a thread until `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self._lines: list[str] = []
        self._partial = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name=f"fifo {path.name}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], POLL)
            if not ready:
                continue
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                continue
            *complete, self._partial = (self._partial + data).split(b"\n")
            with self._lock:
                self._lines.extend(line.decode(errors="replace") for line in complete)

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
