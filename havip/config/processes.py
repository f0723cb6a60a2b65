"""Read `vrrp_track_process` blocks, with keepalived's keywords, defaults and limits.

```
vrrp_track_process NAME {
    process PROCESS_NAME [ARG ...]     # ARGs: the command line must have these arguments
    param_match [initial|partial]      # bare: exact
    full_command                       # match argv[0] rather than the 15-byte process name
    weight -254..254 [reverse]         # default 0: FAULT while down
    quorum 1..65535                    # default 1
    quorum_max 0..65535                # default unlimited; 0: up while none runs
    delay SECONDS | fork_delay SECONDS | terminate_delay SECONDS
}
```
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from havip.config.diagnostics import Diagnostics
from havip.config.model import ParamMatch, VrrpTrackProcess
from havip.config.parser import Statement
from havip.config.sections import Section, walk
from havip.config.values import no_args, parse_int, read_int, read_seconds

COMM_LENGTH = 15
"""The kernel keeps at most 15 bytes of a process name (TASK_COMM_LEN - 1)."""
PROCESS_WEIGHT = (-254, 254)
QUORUM_LIMIT = 65535
DELAY_LIMITS = (Decimal("0.000001"), Decimal(3600))
_PARAM_MATCHES: dict[str, ParamMatch] = {"initial": "initial", "partial": "partial"}


@dataclass(slots=True)
class _Draft:
    process: str | None = None
    params: tuple[str, ...] | None = None
    param_match: ParamMatch = "none"
    full_command: bool = False
    weight: int = 0
    reverse: bool = False
    quorum: int | None = None
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0


def read_track_process(
    name: str, statement: Statement, diagnostics: Diagnostics
) -> VrrpTrackProcess | None:
    """The vrrp_track_process `name`, or None (reported) if it names no process."""
    draft = _Draft()

    def process(s: Statement) -> None:
        if not s.args:
            diagnostics.error(s.location, "process: expected 'NAME [ARG ...]'")
            return
        draft.process = s.args[0]
        if len(s.args) > 1:
            draft.params = tuple(s.args[1:])
            draft.full_command = True
            if draft.param_match == "none":
                draft.param_match = "exact"

    def param_match(s: Statement) -> None:
        if len(s.args) > 1 or (s.args and s.args[0] not in _PARAM_MATCHES):
            diagnostics.error(s.location, "param_match: expected nothing, 'initial' or 'partial'")
            return
        draft.param_match = _PARAM_MATCHES[s.args[0]] if s.args else "exact"
        draft.full_command = True

    def full_command(s: Statement) -> None:
        if no_args(s, diagnostics):
            draft.full_command = True

    def weight(s: Statement) -> None:
        low, high = PROCESS_WEIGHT
        args = s.args
        value = parse_int(args[0], low, high) if args else None
        if value is None or len(args) > 2 or (len(args) == 2 and args[1] != "reverse"):
            diagnostics.error(s.location, f"weight: expected '{low}..{high} [reverse]'")
            return
        draft.weight, draft.reverse = value, len(args) == 2

    def quorum(s: Statement) -> None:
        draft.quorum = read_int(s, 1, QUORUM_LIMIT, diagnostics)

    def quorum_max(s: Statement) -> None:
        draft.quorum_max = read_int(s, 0, QUORUM_LIMIT, diagnostics)

    def delay(fork: bool, terminate: bool) -> Callable[[Statement], None]:
        def read(s: Statement) -> None:
            value = read_seconds(s, *DELAY_LIMITS, diagnostics)
            if value is None:
                return
            if fork:
                draft.fork_delay = float(value)
            if terminate:
                draft.terminate_delay = float(value)

        return read

    handlers = {
        "process": process,
        "param_match": param_match,
        "full_command": full_command,
        "weight": weight,
        "quorum": quorum,
        "quorum_max": quorum_max,
        "delay": delay(True, True),
        "fork_delay": delay(True, False),
        "terminate_delay": delay(False, True),
    }
    walk(Section(f"vrrp_track_process {name}", handlers), statement.block or (), diagnostics)
    if draft.process is None:
        diagnostics.error(
            statement.location, f"vrrp_track_process {name}: expected a 'process' line"
        )
        return None
    low, high = _quorum(draft, name, statement, diagnostics)
    if low is None:
        return None
    if not draft.full_command and len(draft.process.encode()) > COMM_LENGTH:
        diagnostics.warning(
            statement.location,
            f"vrrp_track_process {name}: a process name is at most {COMM_LENGTH} bytes, so "
            f"'{draft.process}' never matches without full_command",
        )
    return VrrpTrackProcess(
        name=name,
        process=draft.process,
        params=draft.params,
        param_match=draft.param_match,
        full_command=draft.full_command,
        weight=draft.weight,
        reverse=draft.reverse,
        quorum=low,
        quorum_max=high,
        fork_delay=draft.fork_delay,
        terminate_delay=draft.terminate_delay,
        location=statement.location,
    )


def _quorum(
    draft: _Draft, name: str, statement: Statement, diagnostics: Diagnostics
) -> tuple[int | None, int | None]:
    """(quorum, quorum_max): keepalived's rule that `quorum_max 0` alone means quorum 0."""
    high = draft.quorum_max
    low = draft.quorum if draft.quorum is not None else (0 if high == 0 else 1)
    if high is not None and high < low:
        diagnostics.error(
            statement.location,
            f"vrrp_track_process {name}: quorum_max {high} is less than quorum {low}",
        )
        return None, None
    return low, high
