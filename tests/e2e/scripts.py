"""keepalived.conf pieces and script files for the tracking, notify and sync-group e2e tests.

The tests describe routers exactly as an operator writes keepalived.conf: top-level
`vrrp_script` and `vrrp_sync_group` blocks next to the `vrrp_instance` blocks that
`havip.lab.configs.keepalived_conf` generates. The scripts they run are real files in the
test's tmp_path, which every lab namespace sees (namespaces share the file system).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from havip.lab.configs import RouterSpec, keepalived_conf

SCRIPT_GLOBALS = ("script_user root",)
"""Scripts run as root whether or not a `keepalived_script` user exists on this machine, so a
script in the (root-only) pytest tmp_path can always be executed; `enable_script_security`
stays off, as the brief for these tests asks."""


def config(
    first: RouterSpec,
    *more: RouterSpec,
    scripts: Sequence[str] = (),
    blocks: Sequence[str] = (),
) -> str:
    """A keepalived.conf: the global_defs of `first`, `scripts`, every instance, then `blocks`.

    `vrrp_script` blocks come before the instances that track them, as keepalived needs;
    `vrrp_sync_group` blocks may come after.
    """
    return keepalived_conf(first, *more, before=scripts, after=blocks)


def vrrp_script(
    name: str,
    script: str,
    *,
    interval: int = 1,
    weight: int = 0,
    fall: int = 1,
    rise: int = 1,
    timeout: int | None = None,
) -> str:
    """A top-level `vrrp_script` block; `script` is written inside double quotes."""
    if '"' in script:
        raise ValueError("a keepalived.conf quoted string cannot contain a double quote")
    lines = [
        f"vrrp_script {name} {{",
        f'    script "{script}"',
        f"    interval {interval}",
        f"    weight {weight}",
        f"    fall {fall}",
        f"    rise {rise}",
    ]
    if timeout is not None:
        lines.append(f"    timeout {timeout}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def sync_group(name: str, members: Sequence[str], extra: Sequence[str] = ()) -> str:
    """A top-level `vrrp_sync_group` block with its members and any further lines."""
    lines = [f"vrrp_sync_group {name} {{", "    group {"]
    lines += [f"        {member}" for member in members]
    lines.append("    }")
    lines += [f"    {line}" for line in extra]
    lines.append("}")
    return "\n".join(lines) + "\n"


def track_block(keyword: str, names: Sequence[str]) -> tuple[str, ...]:
    """`track_script { ... }` / `track_interface { ... }` lines for RouterSpec.extra."""
    return (f"{keyword} {{", *(f"    {name}" for name in names), "}")


def file_exists_check(flag: Path) -> str:
    """The haproxy-style health check line: healthy while `flag` exists.

    Written the way operators often do, through an explicit `/bin/sh -c '...'` with the shell
    code in single quotes inside keepalived's double-quoted string.
    """
    if "'" in str(flag) or " " in str(flag):
        raise ValueError(f"{flag}: the check line cannot quote this path")
    return f"/bin/sh -c 'test -e {flag}'"


def write_recorder(directory: Path, log: Path) -> Path:
    """An executable script that appends its arguments, as one line, to `log`.

    Notify scripts are configured as `"<recorder> master"`, `"<recorder> notify"` and so on,
    so the log shows which script ran (first word) and what the agent appended after it.
    One `echo >>` per run: each line is a single append, never interleaved with another.
    """
    script = directory / "record.sh"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    os.chmod(script, 0o755)
    return script


def read_lines(path: Path) -> list[str]:
    """The lines a recorder wrote so far (none before its first run)."""
    if not path.exists():
        return []
    return path.read_text().splitlines()
