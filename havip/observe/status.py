"""The /status document and the table `havip status` prints from it.

/status answers what metrics cannot carry as labels: who the master is (its address), which
peers were heard and when, and when the next timer fires. Times are Unix seconds so the
document means the same thing on another machine; durations are seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from havip.observe.metrics import sorted_vips
from havip.observer import InstanceRuntime

CountersSource = Callable[[InstanceRuntime], dict[str, Any] | None]
"""Gives an instance's counters (MetricsObserver.counters), None if it has none."""
TraceIdSource = Callable[[InstanceRuntime], str | None]
"""Gives the trace id of an instance's latest transition (TracingObserver.latest_trace_id)."""

TABLE_COLUMNS = (
    "INSTANCE",
    "VRID",
    "INTERFACE",
    "STATE",
    "PRIO BASE/EFF",
    "MASTER",
    "MASTER PRIO",
    "SINCE",
    "ADVERTS SENT/RCVD",
    "REJECTED",
)


def build_status(
    instances: Sequence[InstanceRuntime],
    now: float,
    wall_offset: float,
    *,
    counters: CountersSource | None = None,
    trace_id: TraceIdSource | None = None,
) -> dict[str, Any]:
    """A JSON-serialisable picture of every instance at agent time `now`."""
    return {
        "time": now + wall_offset,
        "instances": [
            _instance_status(runtime, now, wall_offset, counters, trace_id) for runtime in instances
        ],
    }


def _instance_status(
    runtime: InstanceRuntime,
    now: float,
    wall_offset: float,
    counters: CountersSource | None,
    trace_id: TraceIdSource | None,
) -> dict[str, Any]:
    machine = runtime.machine
    deadline = machine.get_timer()
    since = machine.state_since
    master = machine.master_address
    peers = sorted(list(runtime.peers.items()), key=lambda item: (item[0].version, int(item[0])))
    return {
        "name": runtime.name,
        "vrid": runtime.vrid,
        "interface": runtime.interface,
        "family": runtime.family.label,
        "version": runtime.version,
        "vips": sorted_vips(runtime.vips),
        "sync_group": runtime.sync_group,
        "state": machine.state.value,
        "since": None if since is None else since + wall_offset,
        "trace_id": None if trace_id is None else trace_id(runtime),
        "priority": {"base": machine.settings.priority, "effective": machine.effective_priority},
        "master": {
            "address": None if master is None else str(master),
            "priority": machine.master_priority,
        },
        "faults": list(machine.faults),
        "timers": {
            "advert_interval": machine.settings.interval_cs / 100,
            "master_advert_interval": machine.master_interval_cs / 100,
            "master_down_interval": machine.master_down_interval,
            "next_deadline_in": None if deadline is None else max(0.0, deadline - now),
        },
        "peers": [
            {"address": str(address), "priority": priority, "last_seen": heard + wall_offset}
            for address, (priority, heard) in peers
        ],
        "counters": (counters(runtime) if counters is not None else None) or {},
    }


def format_status_table(status: dict[str, Any]) -> str:
    """The instances as an aligned text table, one row each (for `havip status`)."""
    now = float(status.get("time", 0.0))
    rows = [list(TABLE_COLUMNS)]
    for instance in status.get("instances", []):
        counters = instance.get("counters") or {}
        priority = instance["priority"]
        master = instance["master"]
        rows.append(
            [
                instance["name"],
                str(instance["vrid"]),
                instance["interface"],
                instance["state"].upper(),
                f"{priority['base']}/{priority['effective']}",
                master["address"] or "-",
                str(master["priority"]) if master["address"] else "-",
                _age(now, instance["since"]),
                f"{counters.get('adverts_sent', 0)}/{counters.get('adverts_received', 0)}",
                str(counters.get("packets_rejected", 0)),
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(TABLE_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _age(now: float, since: float | None) -> str:
    """How long ago `since` was, compactly: 45s, 12m03s, 5h07m, 3d04h."""
    if since is None:
        return "-"
    seconds = max(0, int(now - since))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
