"""Turn the statement tree of a whole keepalived.conf into a `LoadedConfig`.

Sections are read one by one, then the checks that need the whole file run: names defined
twice, track_script/track_file names that were never defined, sync groups naming unknown
instances, and two instances sharing a VRID on one interface and address family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Protocol, TypeVar

from havip.config.diagnostics import Diagnostics, Location, did_you_mean, in_file_order
from havip.config.global_defs import read_global_defs
from havip.config.instance import InstanceReading, read_instance
from havip.config.keepalived_keywords import SKIPPED_TOP_LEVEL
from havip.config.model import (
    LoadedConfig,
    SyncGroup,
    TrackedFile,
    TrackedProcess,
    TrackedScript,
    TrackFile,
    VrrpInstance,
    VrrpScript,
    VrrpTrackProcess,
)
from havip.config.parser import Statement
from havip.config.processes import read_track_process
from havip.config.scripts import read_track_file, read_vrrp_script
from havip.config.sections import Section, walk
from havip.config.sync_group import SyncGroupReading, read_sync_group
from havip.config.tracking import Reference

_TRACK_FILE_KEYWORDS = ("track_file", "vrrp_track_file")


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def location(self) -> Location: ...


N = TypeVar("N", bound=_Named)


@dataclass(slots=True)
class _Readings:
    global_defs: list[Statement] = field(default_factory=list)
    instances: list[Statement] = field(default_factory=list)
    scripts: list[Statement] = field(default_factory=list)
    track_files: list[Statement] = field(default_factory=list)
    track_processes: list[Statement] = field(default_factory=list)
    sync_groups: list[Statement] = field(default_factory=list)


def build_config(
    statements: Sequence[Statement], files: tuple[str, ...], diagnostics: Diagnostics
) -> LoadedConfig:
    """The configuration the statements describe; problems go to `diagnostics`."""
    found = _sort_top_level(statements, diagnostics)
    global_defs = read_global_defs(found.global_defs, diagnostics)
    scripts = _unique(
        "vrrp_script",
        _read_named(found.scripts, "vrrp_script", read_vrrp_script, diagnostics),
        diagnostics,
    )
    track_files = _unique(
        "track_file",
        _read_named(found.track_files, "track_file", read_track_file, diagnostics),
        diagnostics,
    )
    processes = _unique(
        "vrrp_track_process",
        _read_named(found.track_processes, "vrrp_track_process", read_track_process, diagnostics),
        diagnostics,
    )
    readings = _unique_readings(
        [r for s in found.instances if (r := read_instance(s, global_defs, diagnostics))],
        diagnostics,
    )
    groups = [g for s in found.sync_groups if (g := read_sync_group(s, diagnostics))]
    unique_groups = _unique("vrrp_sync_group", [g.group for g in groups], diagnostics)
    groups = [g for g in groups if unique_groups[g.group.name] is g.group]

    _check_references(readings, groups, scripts, track_files, processes, diagnostics)
    _check_vrids(readings, diagnostics)
    membership = _check_members(readings, groups, diagnostics)
    instances = tuple(
        _settle_notify_priority_changes(
            _settle_tracking_weights(
                r.instance, membership, scripts, track_files, processes, diagnostics
            ),
            membership,
            global_defs.notify_priority_changes,
        )
        for r in readings
    )
    return LoadedConfig(
        global_defs=global_defs,
        instances=instances,
        scripts=MappingProxyType(scripts),
        track_files=MappingProxyType(track_files),
        sync_groups=tuple(g.group for g in groups),
        warnings=in_file_order(diagnostics.warnings, files),
        files=files,
        track_processes=MappingProxyType(processes),
    )


def _sort_top_level(statements: Sequence[Statement], diagnostics: Diagnostics) -> _Readings:
    found = _Readings()
    targets = {
        "global_defs": found.global_defs,
        "vrrp_instance": found.instances,
        "vrrp_script": found.scripts,
        "vrrp_sync_group": found.sync_groups,
        "vrrp_track_process": found.track_processes,
        **dict.fromkeys(_TRACK_FILE_KEYWORDS, found.track_files),
    }
    section = Section(
        "top level",
        {keyword: target.append for keyword, target in targets.items()},
        block_keywords=frozenset(targets),
        ignored=SKIPPED_TOP_LEVEL,
        repeatable=frozenset(targets),
    )
    walk(section, statements, diagnostics)
    for named in (found.instances, found.scripts, found.sync_groups, found.track_files):
        named[:] = [s for s in named if _name_is_printable(s, diagnostics)]
    return found


def _name_is_printable(statement: Statement, diagnostics: Diagnostics) -> bool:
    """Refuse a block name with control characters, quotes or spaces (reported at its line).

    Names go into notify FIFO lines (`INSTANCE "VI_1" MASTER 100`), script arguments, log
    lines and metric labels: a quote or a newline in one would forge a FIFO line or split a
    log line. keepalived's own names are plain words.
    """
    if not statement.args:
        return True
    name = statement.args[0]
    bad = next((c for c in name if c in "\"'\\" or c.isspace() or not c.isprintable()), None)
    if bad is None:
        return True
    diagnostics.error(
        statement.location,
        f"{statement.keyword}: the name {name!r} contains {bad!r}; "
        "use letters, digits and punctuation other than quotes",
    )
    return False


def _read_named(
    statements: Iterable[Statement],
    keyword: str,
    reader: Callable[[str, Statement, Diagnostics], N | None],
    diagnostics: Diagnostics,
) -> list[N]:
    values = []
    for statement in statements:
        if len(statement.args) != 1:
            diagnostics.error(statement.location, f"{keyword}: expected exactly one name")
            continue
        value = reader(statement.args[0], statement, diagnostics)
        if value is not None:
            values.append(value)
    return values


def _unique(kind: str, values: Iterable[N], diagnostics: Diagnostics) -> dict[str, N]:
    """The values by name; a name defined again is an error and the later one is dropped."""
    by_name: dict[str, N] = {}
    for value in values:
        first = by_name.get(value.name)
        if first is not None:
            diagnostics.error(
                value.location, f"{kind} {value.name} is already defined at {first.location}"
            )
            continue
        by_name[value.name] = value
    return by_name


def _unique_readings(
    readings: list[InstanceReading], diagnostics: Diagnostics
) -> list[InstanceReading]:
    unique = _unique("vrrp_instance", [r.instance for r in readings], diagnostics)
    return [r for r in readings if unique[r.instance.name] is r.instance]


def _check_references(
    readings: Iterable[InstanceReading],
    groups: Iterable[SyncGroupReading],
    scripts: dict[str, VrrpScript],
    track_files: dict[str, TrackFile],
    processes: dict[str, VrrpTrackProcess],
    diagnostics: Diagnostics,
) -> None:
    script_references = [r for x in readings for r in x.script_references]
    script_references += [r for x in groups for r in x.script_references]
    file_references = [r for x in readings for r in x.file_references]
    file_references += [r for x in groups for r in x.file_references]
    process_references = [r for x in readings for r in x.process_references]
    process_references += [r for x in groups for r in x.process_references]
    checks: list[tuple[list[Reference], Mapping[str, object], str]] = [
        (script_references, scripts, "vrrp_script"),
        (file_references, track_files, "track_file"),
        (process_references, processes, "vrrp_track_process"),
    ]
    for references, defined, kind in checks:
        for reference in references:
            if reference.name not in defined:
                diagnostics.error(
                    reference.location,
                    f"no {kind} named '{reference.name}' is defined"
                    f"{did_you_mean(reference.name, defined)}",
                )


def _check_vrids(readings: Sequence[InstanceReading], diagnostics: Diagnostics) -> None:
    """One VRID per interface and family, unless both sides are unicast to disjoint peers."""
    seen: dict[tuple[str, int, int], list[InstanceReading]] = {}
    for reading in readings:
        instance = reading.instance
        key = (instance.interface, instance.family, instance.vrid)
        for other in seen.get(key, []):
            if _disjoint_unicast(instance, other.instance):
                continue
            diagnostics.error(
                reading.vrid_location,
                f"virtual_router_id {instance.vrid} is already used on {instance.interface} "
                f"for IPv{instance.family} by {other.instance.name} "
                f"({other.instance.location})",
            )
            break
        seen.setdefault(key, []).append(reading)


def _disjoint_unicast(a: VrrpInstance, b: VrrpInstance) -> bool:
    return bool(a.unicast_peers and b.unicast_peers) and not set(a.unicast_peers) & set(
        b.unicast_peers
    )


def _check_members(
    readings: Iterable[InstanceReading],
    groups: Iterable[SyncGroupReading],
    diagnostics: Diagnostics,
) -> dict[str, SyncGroup]:
    """Each member must be a defined instance in at most one group; returns instance -> group."""
    names = {r.instance.name for r in readings}
    membership: dict[str, SyncGroup] = {}
    for reading in groups:
        for member in reading.members:
            if member.name not in names:
                diagnostics.error(
                    member.location,
                    f"vrrp_sync_group {reading.group.name}: no vrrp_instance named "
                    f"'{member.name}'{did_you_mean(member.name, names)}",
                )
            elif member.name in membership:
                diagnostics.error(
                    member.location,
                    f"{member.name} is already in vrrp_sync_group {membership[member.name].name}; "
                    "an instance can be in one sync group only",
                )
            else:
                membership[member.name] = reading.group
    return membership


def _settle_tracking_weights(
    instance: VrrpInstance,
    membership: dict[str, SyncGroup],
    scripts: dict[str, VrrpScript],
    track_files: dict[str, TrackFile],
    processes: dict[str, VrrpTrackProcess],
    diagnostics: Diagnostics,
) -> VrrpInstance:
    """keepalived zeroes script, file and process weights of sync group members and address owners,
    so that all members keep equal priorities; havip does the same, with a warning."""
    group = membership.get(instance.name)
    if group is not None:
        reason = f"it is in vrrp_sync_group {group.name}"
    elif instance.priority == 255:
        reason = "it is the address owner (priority 255)"
    else:
        return instance
    weighted_scripts = [
        t.name for t in instance.track_scripts if _script_weight(t, scripts) not in (0, None)
    ]
    weighted_files = [
        t.name for t in instance.track_files if _file_weight(t, track_files) not in (0, None)
    ]
    weighted_processes = [
        t.name for t in instance.track_processes if _process_weight(t, processes) not in (0, None)
    ]
    for kind, names in (
        ("track_script", weighted_scripts),
        ("track_file", weighted_files),
        ("track_process", weighted_processes),
    ):
        if names:
            diagnostics.warning(
                instance.location,
                f"({instance.name}) {kind} weights of {', '.join(names)} are set to 0 because "
                f"{reason} (as keepalived does; use weight 0 to silence this)",
            )
    return replace(
        instance,
        track_scripts=tuple(
            replace(t, weight=0) if t.name in weighted_scripts else t
            for t in instance.track_scripts
        ),
        track_files=tuple(
            replace(t, weight=0) if t.name in weighted_files else t for t in instance.track_files
        ),
        track_processes=tuple(
            replace(t, weight=0) if t.name in weighted_processes else t
            for t in instance.track_processes
        ),
    )


def _settle_notify_priority_changes(
    instance: VrrpInstance, membership: dict[str, SyncGroup], default: bool
) -> VrrpInstance:
    """keepalived's precedence: the instance's own setting, else its sync group's, else
    global_defs' vrrp_notify_priority_changes."""
    value = instance.notify_priority_changes
    group = membership.get(instance.name)
    if value is None and group is not None:
        value = group.notify_priority_changes
    return replace(instance, notify_priority_changes=default if value is None else value)


def _script_weight(tracked: TrackedScript, scripts: dict[str, VrrpScript]) -> int | None:
    if tracked.weight is not None:
        return tracked.weight
    script = scripts.get(tracked.name)
    return None if script is None else script.weight


def _process_weight(tracked: TrackedProcess, processes: dict[str, VrrpTrackProcess]) -> int | None:
    if tracked.weight is not None:
        return tracked.weight
    process = processes.get(tracked.name)
    return None if process is None else process.weight


def _file_weight(tracked: TrackedFile, files: dict[str, TrackFile]) -> int | None:
    if tracked.weight is not None:
        return tracked.weight
    track_file = files.get(tracked.name)
    return None if track_file is None else track_file.weight
