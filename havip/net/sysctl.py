"""Per-interface settings (net.ipv4.conf.IF.*) havip changes on interfaces it did not create.

A VMAC's base interface and `promote_secondaries` change the operator's own interfaces, so
each setting's value is read once, before havip's first write, and put back when havip stops:
the machine is left as havip found it. /proc/sys/net is the namespace's own (havip runs in
the namespace whose interfaces it manages).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("havip")

PROC_NET = Path("/proc/sys/net")


class InterfaceSettings:
    """Writes per-interface sysctls, remembering each one's first value to restore it."""

    def __init__(self, proc_net: Path = PROC_NET) -> None:
        self._proc_net = proc_net
        self._found: dict[Path, str] = {}

    def set(self, family: str, interface: str, setting: str, value: str) -> None:
        """net.`family`.conf.`interface`.`setting` = `value` (OSError if it cannot be)."""
        path = self._proc_net / family / "conf" / interface / setting
        if path not in self._found:
            self._found[path] = path.read_text().strip()
        path.write_text(value)

    def restore(self) -> None:
        """Put every setting back as it was found; a failure (the interface gone) is logged."""
        for path, value in self._found.items():
            try:
                path.write_text(value)
            except OSError as error:
                log.error("cannot restore %s: %s", path, error)
        self._found.clear()
