"""Read track_interface, track_script, track_file and track_process blocks (of instances and
sync groups).

Each line is `NAME [weight N [reverse|noreverse]]`. Names of scripts and files are checked
against their definitions later, once the whole file is read, so each entry keeps its location.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from havip.config.diagnostics import Diagnostics, Location
from havip.config.model import TrackedFile, TrackedInterface, TrackedProcess, TrackedScript
from havip.config.parser import Statement
from havip.config.values import interface_name_problem, parse_int

# keepalived's limits: interfaces and scripts -253..253, files -254..254.
INTERFACE_WEIGHT = (-253, 253)
SCRIPT_WEIGHT = (-253, 253)
FILE_WEIGHT = (-254, 254)
PROCESS_WEIGHT = (-254, 254)
_REVERSE_WORDS = {"reverse": True, "noreverse": False, "no_reverse": False}


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    weight: int | None
    reverse: bool | None
    location: Location


@dataclass(frozen=True, slots=True)
class Reference:
    """A use of a vrrp_script or track_file by name, remembered for the cross-check."""

    name: str
    location: Location


def read_tracked_interfaces(
    block: Sequence[Statement], diagnostics: Diagnostics
) -> tuple[TrackedInterface, ...]:
    tracked = []
    for entry in _read_entries(block, "track_interface", INTERFACE_WEIGHT, diagnostics):
        if problem := interface_name_problem(entry.name):
            diagnostics.error(entry.location, f"track_interface: {problem}")
            continue
        tracked.append(TrackedInterface(entry.name, entry.weight or 0, bool(entry.reverse)))
    return tuple(tracked)


def read_tracked_scripts(
    block: Sequence[Statement], diagnostics: Diagnostics
) -> tuple[tuple[TrackedScript, ...], tuple[Reference, ...]]:
    entries = _read_entries(block, "track_script", SCRIPT_WEIGHT, diagnostics)
    return (
        tuple(TrackedScript(e.name, e.weight, e.reverse) for e in entries),
        tuple(Reference(e.name, e.location) for e in entries),
    )


def read_tracked_files(
    block: Sequence[Statement], diagnostics: Diagnostics
) -> tuple[tuple[TrackedFile, ...], tuple[Reference, ...]]:
    entries = _read_entries(block, "track_file", FILE_WEIGHT, diagnostics)
    return (
        tuple(TrackedFile(e.name, e.weight, e.reverse) for e in entries),
        tuple(Reference(e.name, e.location) for e in entries),
    )


def read_tracked_processes(
    block: Sequence[Statement], diagnostics: Diagnostics
) -> tuple[tuple[TrackedProcess, ...], tuple[Reference, ...]]:
    entries = _read_entries(block, "track_process", PROCESS_WEIGHT, diagnostics)
    return (
        tuple(TrackedProcess(e.name, e.weight, e.reverse) for e in entries),
        tuple(Reference(e.name, e.location) for e in entries),
    )


def _read_entries(
    block: Sequence[Statement],
    keyword: str,
    weight_range: tuple[int, int],
    diagnostics: Diagnostics,
) -> list[_Entry]:
    entries: list[_Entry] = []
    seen: set[str] = set()
    for statement in block:
        entry = _read_entry(statement, keyword, weight_range, diagnostics)
        if entry is None:
            continue
        if entry.name in seen:
            diagnostics.warning(
                entry.location, f"{keyword}: {entry.name} is listed twice; the first one is used"
            )
            continue
        seen.add(entry.name)
        entries.append(entry)
    return entries


def _read_entry(
    statement: Statement,
    keyword: str,
    weight_range: tuple[int, int],
    diagnostics: Diagnostics,
) -> _Entry | None:
    low, high = weight_range
    usage = f"{keyword}: expected 'NAME [weight {low}..{high} [reverse|noreverse]]'"
    if statement.block is not None:
        diagnostics.error(statement.location, f"{usage}, got a {{ ... }} block")
        return None
    args = list(statement.args)
    weight: int | None = None
    reverse: bool | None = None
    if args and args[0] == "weight":
        if len(args) < 2 or (weight := parse_int(args[1], low, high)) is None:
            got = args[1] if len(args) > 1 else "nothing"
            diagnostics.error(
                statement.location,
                f"{keyword} {statement.keyword}: weight must be from {low} to {high}, got '{got}'",
            )
            return None
        args = args[2:]
        if args and args[0] in _REVERSE_WORDS:
            reverse = _REVERSE_WORDS[args.pop(0)]
    if args:
        diagnostics.error(statement.location, f"{usage}, got '{' '.join(statement.words)}'")
        return None
    return _Entry(statement.keyword, weight, reverse, statement.location)
