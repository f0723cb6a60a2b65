"""A record on disk of the VIPs this havip holds, so a restart after SIGKILL can remove them.

The IFA_PROTO tag tells havip's addresses from an operator's, but kernels before 6.1 do not
store it, and the tag only helps for VIPs the new configuration still names: a VIP removed from
keepalived.conf before the restart belongs to no instance any more, and nothing would ever
remove it. So the netlink layer rewrites this small file whenever the set of VIPs it added
changes, and a new havip removes every VIP the file names before it starts its instances.

The file lives under /run (tmpfs: a reboot clears it along with the addresses). It is replaced
atomically (written beside, then renamed), so a kill mid-write leaves the old or the new
version, never half of one. A file that cannot be read or written costs only this safety net:
it is logged once, and VIPs are added and removed as usual.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface, ip_interface
from pathlib import Path

DEFAULT_PATH = Path("/run/havip/vips.json")
FORMAT = 1
MAX_BYTES = 1 << 20
IFNAMSIZ = 16

log = logging.getLogger("havip")


@dataclass(frozen=True, slots=True)
class RecordedVip:
    """One VIP as the record keeps it: enough to delete it again (device, address/prefix)."""

    device: str
    interface: IPv4Interface | IPv6Interface

    def sort_key(self) -> tuple[str, int, int, int]:
        """Devices, then IPv4 before IPv6 (ipaddress cannot order the two families)."""
        interface = self.interface
        return (self.device, interface.version, int(interface.ip), interface.network.prefixlen)


class VipRecord:
    """The record file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_failed = False

    def load(self) -> list[RecordedVip]:
        """The VIPs recorded by the last writer; [] if there is no usable record."""
        try:
            with self.path.open("rb") as file:
                data = file.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return []
        except OSError as error:
            log.warning("cannot read the VIP record %s: %s", self.path, error.strerror)
            return []
        try:
            if len(data) > MAX_BYTES:
                raise ValueError("too large")
            document = json.loads(data)
            if document.get("format") != FORMAT:
                raise ValueError(f"unknown format {document.get('format')!r}")
            return sorted((_entry(item) for item in document["vips"]), key=RecordedVip.sort_key)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.warning("ignoring the unreadable VIP record %s: %s", self.path, error)
            return []

    def save(self, vips: Iterable[RecordedVip]) -> None:
        """Replace the record with `vips`."""
        ordered = sorted(set(vips), key=RecordedVip.sort_key)
        document = {
            "format": FORMAT,
            "pid": os.getpid(),
            "vips": [{"device": vip.device, "address": str(vip.interface)} for vip in ordered],
        }
        temporary = self.path.with_name(self.path.name + ".new")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with open(fd, "w") as file:
                json.dump(document, file)
            os.replace(temporary, self.path)
        except OSError as error:
            if not self._write_failed:
                log.warning(
                    "cannot write the VIP record %s (%s): after a crash, VIPs that kernels "
                    "before 6.1 or a changed configuration leave behind will not be removed",
                    self.path,
                    error.strerror,
                )
            self._write_failed = True
            return
        self._write_failed = False


def _entry(item: object) -> RecordedVip:
    if not isinstance(item, dict):
        raise TypeError("an entry is not an object")
    device, address = item["device"], item["address"]
    if not isinstance(device, str) or not 0 < len(device) < IFNAMSIZ or "/" in device:
        raise ValueError(f"bad device name {device!r}")
    if not isinstance(address, str):
        raise TypeError("an address is not a string")
    return RecordedVip(device, ip_interface(address))
