"""The environment notify and track scripts run with: a small fixed one, never havip's own.

havip's environment holds things no script should see: `OTEL_EXPORTER_OTLP_HEADERS` (often a
collector's API key), `NOTIFY_SOCKET` (with which a script could tell systemd that havip is
ready or stopping), `HAVIP_*` settings. keepalived 2.2 hands its scripts its whole environment
(checked with the Debian package: a track script sees an `OTEL_EXPORTER_OTLP_HEADERS` set for
keepalived), which under systemd is small because systemd starts services with a small one.
havip makes that small environment explicit whatever started it: the search path, the locale
and time zone (they shape what scripts print and parse), and the identity variables of the user
the script runs as, as `su -` or cron would set them. Nothing else.
"""

from __future__ import annotations

import functools
import os
import pwd
from collections.abc import Mapping

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""What a script gets when havip itself has no PATH (systemd's default for services)."""
PASSED_THROUGH = ("PATH", "LANG", "LANGUAGE", "TZ")
"""Variables copied from havip's environment when set, with every LC_* one."""


def script_environment(parent: Mapping[str, str], uid: int) -> dict[str, str]:
    """The environment for a script run as `uid`, built from havip's `parent` environment."""
    env = {
        name: value
        for name, value in parent.items()
        if name in PASSED_THROUGH or name.startswith("LC_")
    }
    env.setdefault("PATH", DEFAULT_PATH)
    env.update(_identity(uid))
    return env


@functools.lru_cache(maxsize=16)
def _identity(uid: int) -> tuple[tuple[str, str], ...]:
    """HOME, USER, LOGNAME and SHELL from the passwd entry of `uid` (none if it has none).

    Cached: scripts run every second or so and the entry is looked up once per user.
    """
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return ()
    return (
        ("HOME", entry.pw_dir),
        ("USER", entry.pw_name),
        ("LOGNAME", entry.pw_name),
        ("SHELL", entry.pw_shell or "/bin/sh"),
    )


def current_script_environment(uid: int | None = None) -> dict[str, str]:
    """`script_environment` of this process's environment, for `uid` (default: ours)."""
    return script_environment(os.environ, os.geteuid() if uid is None else uid)
