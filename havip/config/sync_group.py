"""Read one `vrrp_sync_group` block: instances that change state together."""

from __future__ import annotations

from dataclasses import dataclass

from havip.config.diagnostics import Diagnostics
from havip.config.keepalived_keywords import SYNC_GROUP_NOT_IMPLEMENTED
from havip.config.model import (
    SyncGroup,
    TrackedFile,
    TrackedInterface,
    TrackedProcess,
    TrackedScript,
)
from havip.config.parser import Statement
from havip.config.scripts import read_notify
from havip.config.sections import Section, walk
from havip.config.tracking import (
    Reference,
    read_tracked_files,
    read_tracked_interfaces,
    read_tracked_processes,
    read_tracked_scripts,
)
from havip.config.values import read_optional_bool

_NOTIFY_KEYWORDS = ("notify", "notify_master", "notify_backup", "notify_fault", "notify_stop")
_BLOCK_KEYWORDS = frozenset(
    {"group", "track_interface", "track_script", "track_file", "track_process"}
)


@dataclass(frozen=True, slots=True)
class SyncGroupReading:
    """A sync group plus where each member and tracked name was written, for cross-checks."""

    group: SyncGroup
    members: tuple[Reference, ...]
    script_references: tuple[Reference, ...]
    file_references: tuple[Reference, ...]
    process_references: tuple[Reference, ...] = ()


def read_sync_group(statement: Statement, diagnostics: Diagnostics) -> SyncGroupReading | None:
    if len(statement.args) != 1:
        diagnostics.error(statement.location, "vrrp_sync_group: expected exactly one name")
        return None
    name = statement.args[0]
    members: list[Reference] = []
    notify: dict[str, str | None] = {}
    interfaces: tuple[TrackedInterface, ...] = ()
    scripts: tuple[TrackedScript, ...] = ()
    files: tuple[TrackedFile, ...] = ()
    script_references: tuple[Reference, ...] = ()
    file_references: tuple[Reference, ...] = ()
    processes: tuple[TrackedProcess, ...] = ()
    process_references: tuple[Reference, ...] = ()
    priority_changes: bool | None = None

    def group(s: Statement) -> None:
        for line in s.block or ():
            if line.block is not None:
                diagnostics.error(line.location, "group: expected instance names, got a block")
                continue
            for word in line.words:
                if any(member.name == word for member in members):
                    diagnostics.warning(line.location, f"group: {word} is listed twice")
                else:
                    members.append(Reference(word, line.location))

    def notify_script(s: Statement) -> None:
        notify[s.keyword] = read_notify(s, diagnostics)

    def track_interface(s: Statement) -> None:
        nonlocal interfaces
        interfaces += read_tracked_interfaces(s.block or (), diagnostics)

    def track_script(s: Statement) -> None:
        nonlocal scripts, script_references
        tracked, references = read_tracked_scripts(s.block or (), diagnostics)
        scripts += tracked
        script_references += references

    def track_file(s: Statement) -> None:
        nonlocal files, file_references
        tracked, references = read_tracked_files(s.block or (), diagnostics)
        files += tracked
        file_references += references

    def track_process(s: Statement) -> None:
        nonlocal processes, process_references
        tracked, references = read_tracked_processes(s.block or (), diagnostics)
        processes += tracked
        process_references += references

    def notify_priority_changes(s: Statement) -> None:
        nonlocal priority_changes
        priority_changes = read_optional_bool(s, diagnostics)

    handlers = {
        "group": group,
        "notify_priority_changes": notify_priority_changes,
        "track_interface": track_interface,
        "track_script": track_script,
        "track_file": track_file,
        "track_process": track_process,
        **dict.fromkeys(_NOTIFY_KEYWORDS, notify_script),
    }
    section = Section(
        f"vrrp_sync_group {name}",
        handlers,
        block_keywords=_BLOCK_KEYWORDS,
        ignored=SYNC_GROUP_NOT_IMPLEMENTED,
        repeatable=_BLOCK_KEYWORDS,
    )
    walk(section, statement.block or (), diagnostics)
    if not members:
        diagnostics.error(
            statement.location,
            f"vrrp_sync_group {name}: expected a 'group {{ INSTANCE ... }}' block naming its "
            "instances",
        )
        return None
    if len(members) == 1:
        diagnostics.warning(
            statement.location,
            f"vrrp_sync_group {name} has only one instance; a sync group needs two to matter",
        )
    sync_group = SyncGroup(
        name=name,
        members=tuple(member.name for member in members),
        notify=notify.get("notify"),
        notify_master=notify.get("notify_master"),
        notify_backup=notify.get("notify_backup"),
        notify_fault=notify.get("notify_fault"),
        notify_stop=notify.get("notify_stop"),
        track_interfaces=interfaces,
        track_scripts=scripts,
        track_files=files,
        location=statement.location,
        notify_priority_changes=priority_changes,
        track_processes=processes,
    )
    return SyncGroupReading(
        sync_group, tuple(members), script_references, file_references, process_references
    )
