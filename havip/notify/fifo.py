"""keepalived's `notify_fifo` / `vrrp_notify_fifo`: one line per state change, written in order.

Consumers written for keepalived (doc/samples/sample_notify_fifo.sh and the like) read lines of
the form `INSTANCE "VI_1" MASTER 100` or `GROUP "G1" BACKUP 0`, so the format is keepalived's
byte for byte. As keepalived does, the FIFO is created if missing (and removed again on close
only if we created it) and opened read-write and non-blocking: opening never waits for a
reader, and a write never stalls the agent. A line that does not fit because no one reads the
FIFO is dropped and counted, never waited for.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress
from typing import Literal

NotifyKind = Literal["INSTANCE", "GROUP"]
NotifyState = Literal["MASTER", "BACKUP", "FAULT", "STOP"]

NOTIFY_STATES: dict[str, NotifyState] = {
    "master": "MASTER",
    "backup": "BACKUP",
    "fault": "FAULT",
    "stop": "STOP",
}
"""havip's state values (havip.proto.model.State) to keepalived's notify words; INIT has none."""

PriorityEvent = Literal["MASTER_PRIORITY", "BACKUP_PRIORITY"]
"""keepalived's FIFO-only events for `notify_priority_changes`: the effective priority moved
while MASTER, or in any other running state."""

_log = logging.getLogger("havip")

FIFO_MODE = 0o644
"""keepalived's mkfifo mode: S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH."""


def fifo_line(
    kind: NotifyKind, name: str, state: NotifyState | PriorityEvent, priority: int
) -> str:
    """keepalived's notify FIFO line: `INSTANCE "VI_1" MASTER 100` (a group's priority is 0),
    or `INSTANCE "VI_1" BACKUP_PRIORITY 90` for a priority change."""
    return f'{kind} "{name}" {state} {priority}\n'


class NotifyFifo:
    """One notify FIFO, opened for the life of the agent.

    `owner` (uid, gid): given to a FIFO this creates, as keepalived's `notify_fifo PATH USER
    GROUP` does, so a reader running as that user can open it."""

    def __init__(self, path: str, owner: tuple[int, int] | None = None) -> None:
        self.path = path
        self.owner = owner
        self.dropped = 0
        """Lines that could not be written (FIFO full or closed)."""
        self._fd: int | None = None
        self._created = False

    def open(self) -> None:
        """Create the FIFO if nothing exists at the path, then open it; OSError if that fails.

        Like keepalived, an existing path is opened whatever it is (a regular file collects the
        lines, which is handy for debugging), but never through a symbolic link.
        """
        try:
            os.mkfifo(self.path, FIFO_MODE)
            self._created = True
        except FileExistsError:
            self._created = False
        if self._created and self.owner is not None:
            self._give_to_owner(*self.owner)
        flags = os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            self._fd = os.open(self.path, flags)
        except OSError:
            self._remove_if_created()
            raise

    def _give_to_owner(self, uid: int, gid: int) -> None:
        """chown the new FIFO (only what differs from us); a failure is logged and the FIFO
        used as it is, as keepalived does."""
        ours = (os.geteuid(), os.getegid())
        if (uid, gid) == ours:
            return
        try:
            os.chown(self.path, uid if uid != ours[0] else -1, gid if gid != ours[1] else -1)
        except OSError as error:
            _log.warning("Failed to set uid:gid %d:%d for fifo %s: %s", uid, gid, self.path, error)

    def write(self, line: str) -> bool:
        """Write one whole line without blocking; False (and counted) if it was dropped.

        Lines are far shorter than PIPE_BUF, so a write is all or nothing and lines from
        several writers never interleave.
        """
        if self._fd is None:
            self.dropped += 1
            return False
        try:
            os.write(self._fd, line.encode())
        except OSError:
            self.dropped += 1
            return False
        return True

    def close(self) -> None:
        """Close the FIFO; remove it first if we created it, so a reader loop cannot reopen it."""
        self._remove_if_created()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _remove_if_created(self) -> None:
        if self._created:
            self._created = False
            with suppress(FileNotFoundError):
                os.unlink(self.path)
