"""Read `vrrp_script` and `track_file` blocks, and the notify keywords that name scripts.

Script command lines are kept as one string to split with shlex: `script "killall -0 sshd"` and
`script killall -0 sshd` both give `killall -0 sshd`; a quoted argument with spaces is re-quoted.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from havip.config.diagnostics import Diagnostics, Location
from havip.config.model import TrackFile, VrrpScript
from havip.config.parser import Statement
from havip.config.sections import Section, walk
from havip.config.values import INT32_MAX, no_args, one_arg, parse_int

SCRIPT_WEIGHT = (-253, 253)
TRACK_FILE_WEIGHT = (-INT32_MAX, INT32_MAX)


def command_line(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else shlex.join(words)


def read_notify(statement: Statement, diagnostics: Diagnostics) -> str | None:
    """`notify_* SCRIPT [username [groupname]]`: the script; a user or group only warns."""
    if not statement.args:
        diagnostics.error(statement.location, f"{statement.keyword}: expected a script to run")
        return None
    if len(statement.args) > 1:
        diagnostics.warning(
            statement.location,
            f"{statement.keyword}: running the script as user/group "
            f"'{' '.join(statement.args[1:])}' is not implemented by havip; quote the script if "
            "those words are its arguments",
        )
    return statement.args[0]


def _read_seconds_count(statement: Statement, diagnostics: Diagnostics) -> float | None:
    """keepalived's whole-second script interval/timeout, where 0 becomes 1 with a warning."""
    text = one_arg(statement, "a whole number of seconds", diagnostics)
    if text is None:
        return None
    value = parse_int(text, 0, INT32_MAX)
    if value is None:
        diagnostics.error(
            statement.location,
            f"{statement.keyword}: expected a whole number of seconds (at least 1), got '{text}'",
        )
        return None
    if value == 0:
        diagnostics.warning(
            statement.location, f"{statement.keyword} must be at least 1 second; using 1"
        )
        return 1.0
    return float(value)


def _read_weight(
    statement: Statement, limits: tuple[int, int], diagnostics: Diagnostics
) -> tuple[int, bool] | None:
    """`weight N [reverse]`."""
    low, high = limits
    args = statement.args
    weight = parse_int(args[0], low, high) if args else None
    reverse = args[1:] == ("reverse",)
    if weight is None or (len(args) > 1 and not reverse):
        diagnostics.error(
            statement.location,
            f"weight: expected a whole number from {low} to {high} and optionally 'reverse', "
            f"got '{' '.join(args)}'",
        )
        return None
    return weight, reverse


@dataclass(slots=True)
class _ScriptDraft:
    script: str | None = None
    interval: float = 1.0
    timeout: float | None = None
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    user: str | None = None
    group: str | None = None
    init_fail: bool = False


def read_vrrp_script(
    name: str, statement: Statement, diagnostics: Diagnostics
) -> VrrpScript | None:
    draft = _ScriptDraft()

    def script(s: Statement) -> None:
        if not s.args:
            diagnostics.error(s.location, "script: expected the command to run")
        else:
            draft.script = command_line(s.args)

    def interval(s: Statement) -> None:
        if (value := _read_seconds_count(s, diagnostics)) is not None:
            draft.interval = value

    def timeout(s: Statement) -> None:
        draft.timeout = _read_seconds_count(s, diagnostics)

    def weight(s: Statement) -> None:
        if (value := _read_weight(s, SCRIPT_WEIGHT, diagnostics)) is not None:
            draft.weight, draft.reverse = value

    def counter(field: str) -> Callable[[Statement], None]:
        def read(s: Statement) -> None:
            text = one_arg(s, f"a whole number from 1 to {INT32_MAX}", diagnostics)
            value = None if text is None else parse_int(text, 1, INT32_MAX)
            if value is None and text is not None:
                diagnostics.error(s.location, f"{field}: expected a whole number of at least 1")
            if value is not None:
                setattr(draft, field, value)

        return read

    def user(s: Statement) -> None:
        if not s.args or len(s.args) > 2:
            diagnostics.error(s.location, "user: expected 'USERNAME [GROUPNAME]'")
            return
        draft.user = s.args[0]
        draft.group = s.args[1] if len(s.args) == 2 else None

    def init_fail(s: Statement) -> None:
        draft.init_fail = no_args(s, diagnostics)

    handlers = {
        "script": script,
        "interval": interval,
        "timeout": timeout,
        "weight": weight,
        "rise": counter("rise"),
        "fall": counter("fall"),
        "user": user,
        "init_fail": init_fail,
    }
    walk(Section(f"vrrp_script {name}", handlers), statement.block or (), diagnostics)
    if draft.script is None:
        diagnostics.error(statement.location, f"vrrp_script {name}: expected a 'script' line")
        return None
    return VrrpScript(
        name=name,
        script=draft.script,
        interval=draft.interval,
        timeout=draft.timeout,
        weight=draft.weight,
        reverse=draft.reverse,
        rise=draft.rise,
        fall=draft.fall,
        user=draft.user,
        group=draft.group,
        init_fail=draft.init_fail,
        location=statement.location,
    )


@dataclass(slots=True)
class _TrackFileDraft:
    path: str | None = None
    weight: int = 1
    reverse: bool = False
    init_file: int | None = None
    init_overwrite: bool = False


def read_track_file(name: str, statement: Statement, diagnostics: Diagnostics) -> TrackFile | None:
    draft = _TrackFileDraft()
    location: Location = statement.location

    def file(s: Statement) -> None:
        draft.path = one_arg(s, "the path of the file to watch", diagnostics)

    def weight(s: Statement) -> None:
        if (value := _read_weight(s, TRACK_FILE_WEIGHT, diagnostics)) is not None:
            draft.weight, draft.reverse = value

    def init_file(s: Statement) -> None:
        value, overwrite = 0, False
        for word in s.args:
            number = parse_int(word, -INT32_MAX, INT32_MAX)
            if number is not None:
                value = number
            elif word == "overwrite":
                overwrite = True
            else:
                diagnostics.error(
                    s.location, f"init_file: expected '[VALUE] [overwrite]', got '{word}'"
                )
                return
        draft.init_file, draft.init_overwrite = value, overwrite

    handlers = {"file": file, "weight": weight, "init_file": init_file}
    walk(Section(f"track_file {name}", handlers), statement.block or (), diagnostics)
    if draft.path is None:
        diagnostics.error(location, f"track_file {name}: expected a 'file' line")
        return None
    return TrackFile(
        name=name,
        path=draft.path,
        weight=draft.weight,
        reverse=draft.reverse,
        init_file=draft.init_file,
        init_overwrite=draft.init_overwrite,
        location=location,
    )
