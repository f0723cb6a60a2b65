"""`track_file` (alias `vrrp_track_file`): a file holding a number that moves priorities.

keepalived reads the file when it is closed after writing, moved in or deleted (inotify);
havip polls it, by default once a second, which needs no kernel interface and sees the same
values. The value is read exactly as keepalived reads it: at most 127 bytes, parsed like C's
`strtol(buf, NULL, 0)` (leading blanks, optional sign, decimal, 0x hex or 0 octal, anything
after the number ignored, no number at all is 0), clamped to -254..254; a missing or unreadable
file counts as 0. To avoid acting on a file caught half-written by a poll (`echo 5 > f`
truncates before it writes), a changed value is only reported once two reads a moment apart
agree.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import trio

from havip.proto.trackers import FILE_VALUE_LIMIT

POLL_INTERVAL = 1.0
SETTLE_DELAY = 0.05
"""Seconds between the two reads that must agree before a change is reported."""
SETTLE_ATTEMPTS = 5
READ_LIMIT = 127
"""keepalived reads the file into a 128-byte buffer."""

_NUMBER = re.compile(rb"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")

_log = logging.getLogger(__name__)

FileChange = Callable[[str, int], None]
"""on_change(track file name, new value)."""


def parse_track_value(data: bytes) -> int:
    """The number at the start of `data` as strtol(data, NULL, 0) reads it, clamped to ±254."""
    match = _NUMBER.match(data)
    if match is None:
        return 0
    sign, digits = match.groups()
    if digits[:2] in (b"0x", b"0X"):
        value = int(digits[2:], 16)
    elif digits.startswith(b"0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    if sign == b"-":
        value = -value
    return max(-FILE_VALUE_LIMIT, min(FILE_VALUE_LIMIT, value))


def read_track_file(path: str) -> int:
    """The file's value now; 0 if it is missing or unreadable, as in keepalived."""
    try:
        with open(path, "rb") as file:
            return parse_track_value(file.read(READ_LIMIT))
    except OSError:
        return 0


def initialise_track_file(path: str, value: int, overwrite: bool) -> str | None:
    """keepalived's `init_file [VALUE] [overwrite]`: write `value` if the file is missing (or
    always, with overwrite). Returns the problem if the file could not be written."""
    try:
        with open(path, "w" if overwrite else "x") as file:
            file.write(f"{value}\n")
    except FileExistsError:
        return None
    except OSError as exc:
        return f"Unable to initialise track file {path}: {exc.strerror}"
    return None


class FileTracker:
    """Watches one track file and reports each change of its value."""

    def __init__(
        self,
        name: str,
        path: str,
        on_change: FileChange,
        *,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.name = name
        self.path = path
        self._on_change = on_change
        self._poll_interval = poll_interval
        self.value = read_track_file(path)
        """The value now: read at construction, as keepalived reads it before instances start."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll the file until cancelled, calling on_change(name, value) when the value changes."""
        task_status.started()
        while True:
            await trio.sleep(self._poll_interval)
            value = await self._read()
            if value == self.value:
                continue
            value = await self._settled(value)
            if value != self.value:
                _log.info("Track file %s (%s) now has value %d", self.name, self.path, value)
                self.value = value
                self._on_change(self.name, value)

    async def _read(self) -> int:
        return await trio.to_thread.run_sync(read_track_file, self.path)

    async def _settled(self, value: int) -> int:
        """Re-read until two reads in a row agree (or give up and take the latest)."""
        for _ in range(SETTLE_ATTEMPTS):
            await trio.sleep(SETTLE_DELAY)
            again = await self._read()
            if again == value:
                return value
            value = again
        return value
