"""Helpers for tests that start real scripts: write them, and watch their process groups."""

from __future__ import annotations

import os
from pathlib import Path

import trio


def write_script(path: Path, body: str) -> Path:
    """An executable /bin/sh script at `path`, owned by whoever runs the tests, mode 0755."""
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def live_group_members(pgid: int) -> list[int]:
    """Processes of group `pgid` that are still alive (zombies are dead, only not yet reaped)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            members.append(int(entry))
    return members


async def wait_for_group_gone(pgid: int) -> None:
    """Return once no process of group `pgid` is alive (SIGKILL is delivered asynchronously)."""
    while live_group_members(pgid):
        await trio.sleep(0.01)


async def wait_for_file(path: Path) -> str:
    """The content of `path` once it exists and is not empty."""
    while not path.exists() or not path.read_text().strip():
        await trio.sleep(0.01)
    return path.read_text()
