"""The monitor's /status document (the census of a segment) and the table drawn from it.

/status carries what metrics must not: each speaker's address and MAC, what each one
advertises, and who the previous master was. Times are Unix seconds. The document is built
in the HTTP server's worker thread from a copy of the group table, and the table is a pure
function of the document, so `havip monitor --table` and a test draw the same thing.
"""

from __future__ import annotations

from typing import Any

from havip.monitor.segment import (
    Field,
    Group,
    PastMaster,
    Segment,
    Speaker,
)
from havip.proto.model import AUTH_PASS, ChecksumMode

TABLE_COLUMNS = (
    "INTERFACE",
    "FAMILY",
    "VRID",
    "MASTER",
    "PRIO",
    "INTERVAL",
    "VER",
    "AUTH",
    "CHECKSUM",
    "VIPS",
    "SPEAKERS",
    "FAILOVERS",
    "LAST ADVERT",
    "CONDITION",
)


def build_census(segment: Segment, now: float, wall_offset: float) -> dict[str, Any]:
    """A JSON-serialisable census of the segment at monitor time `now`."""
    groups = sorted(list(segment.groups.values()), key=lambda g: g.key)
    return {
        "time": now + wall_offset,
        "interfaces": {
            interface: {
                "malformed": {
                    reason.value: count
                    for reason, count in list(segment.malformed[interface].items())
                    if count
                },
                "evictions": {
                    kind.value: count for kind, count in segment.evictions[interface].items()
                },
            }
            for interface in list(segment.malformed)
        },
        "groups": [_group(group, now, wall_offset) for group in groups],
    }


def conditions(group: Group) -> list[str]:
    """What is wrong with a group, in words the alerts also use."""
    found = []
    if group.silent:
        found.append("silent")
    if group.advertising > 1:
        found.append("split_brain")
    found += [f"mismatch:{field.value}" for field in Field if field in group.disagreements]
    return found


def _group(group: Group, now: float, wall_offset: float) -> dict[str, Any]:
    interface, family, vrid = group.key
    speakers = sorted(list(group.speakers.values()), key=lambda s: (-s.priority, str(s.address)))
    failover = group.last_failover
    return {
        "interface": interface,
        "family": family.label,
        "vrid": vrid,
        "master": None if group.master is None else str(group.master.address),
        "last_master": _speaker(group.last_master, now, wall_offset),
        "master_since": group.master_since + wall_offset,
        "previous_master": _past(group.previous, wall_offset),
        "advertising": group.advertising,
        "conditions": conditions(group),
        "adverts": {cls.value: count for cls, count in group.adverts.items()},
        "priority_zero_handoffs": group.handoffs,
        "failovers": group.failovers,
        "last_failover": None
        if failover is None
        else {
            "from": str(failover.old.address),
            "to": str(failover.new_address),
            "duration": failover.duration,
            "at": failover.at + wall_offset,
            "released": failover.old.released,
        },
        "last_advert": group.last_advert + wall_offset,
        "speakers": [_speaker(s, now, wall_offset) for s in speakers],
    }


def _speaker(speaker: Speaker | None, now: float, wall_offset: float) -> dict[str, Any] | None:
    if speaker is None:
        return None
    return {
        "address": str(speaker.address),
        "mac": speaker.mac.hex(":"),
        "priority": speaker.priority,
        "interval": speaker.interval_cs / 100,
        "version": speaker.version,
        "auth_type": speaker.auth_type,
        "checksum": speaker.checksum.value,
        "addresses": [str(a) for a in speaker.addresses],
        "address_hash": speaker.address_hash,
        "advertising": speaker.claims_master(now),
        "first_seen": speaker.first_seen + wall_offset,
        "run_start": speaker.run_start + wall_offset,
        "last_seen": speaker.last_seen + wall_offset,
        "adverts": {cls.value: count for cls, count in speaker.adverts.items()},
    }


def _past(previous: PastMaster | None, wall_offset: float) -> dict[str, Any] | None:
    if previous is None:
        return None
    return {
        "address": str(previous.address),
        "mac": previous.mac.hex(":"),
        "last_seen": previous.last_seen + wall_offset,
        "released": previous.released,
    }


def table_rows(census: dict[str, Any]) -> list[list[str]]:
    """One row per group, then one indented row per other speaker heard in it."""
    rows: list[list[str]] = []
    now = census["time"]
    for group in census["groups"]:
        shown = group["last_master"] or {}
        master = group["master"] or f"({shown.get('address', '-')})"
        rows.append(
            [
                group["interface"],
                group["family"],
                str(group["vrid"]),
                master,
                str(shown["priority"]) if group["master"] else "-",
                _interval(shown.get("interval")),
                str(shown.get("version", "-")),
                _auth(shown.get("auth_type")),
                _checksum(shown),
                ",".join(shown.get("addresses", [])) or "-",
                f"{group['advertising']}/{len(group['speakers'])}",
                str(group["failovers"]),
                f"{max(0.0, now - group['last_advert']):.1f}s ago",
                ",".join(group["conditions"]) or "ok",
            ]
        )
        for speaker in group["speakers"]:
            if speaker["address"] == group["master"] or (
                not group["master"] and speaker["address"] == shown.get("address")
            ):
                continue
            rows.append(
                [
                    "",
                    "",
                    "",
                    f"  {speaker['address']}",
                    str(speaker["priority"]),
                    _interval(speaker["interval"]),
                    str(speaker["version"]),
                    _auth(speaker["auth_type"]),
                    _checksum(speaker),
                    ",".join(speaker["addresses"]) or "-",
                    "advertising" if speaker["advertising"] else "quiet",
                    "",
                    f"{max(0.0, now - speaker['last_seen']):.1f}s ago",
                    "",
                ]
            )
    return rows


def format_census_table(census: dict[str, Any]) -> str:
    """The census as an aligned text table (the `havip monitor --table` view)."""
    rows = [list(TABLE_COLUMNS), *table_rows(census)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    malformed = {
        name: sum(info["malformed"].values())
        for name, info in census["interfaces"].items()
        if info["malformed"]
    }
    if malformed:
        lines.append(
            "malformed packets: " + ", ".join(f"{n} on {name}" for name, n in malformed.items())
        )
    if not census["groups"]:
        lines.append("(no VRRP advertisement heard yet)")
    return "\n".join(lines) + "\n"


def _interval(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:g}s"


def _auth(auth_type: int | None) -> str:
    if auth_type is None:
        return "-"
    return "PASS" if auth_type == AUTH_PASS else "none"


def _checksum(speaker: dict[str, Any]) -> str:
    if not speaker:
        return "-"
    if speaker["version"] == 2:
        return "v2"
    return "pseudo" if speaker["checksum"] == ChecksumMode.PSEUDO_HEADER.value else "message"
