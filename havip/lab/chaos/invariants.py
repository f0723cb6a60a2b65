"""The checks made after every heal, as pure functions of what was observed.

Kept apart from the lab so that each rule can be tested on made-up observations: a check that
cannot fail proves nothing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from havip.proto.timers import master_down_interval

ONE_MASTER = "one_master"
"""Not exactly one master (the expected one) within Master_Down_Interval plus one interval."""
NO_CONVERGENCE = "no_convergence"
"""Not converged even after the long cap: the group is stuck."""
VIP_ON_NON_MASTER = "vip_on_non_master"
NOTIFY = "notify"
"""A notify line missing, extra, duplicated or out of order against the states logged."""
SERIES_LOST = "series_lost"
RESTART = "restart"
"""A restarted daemon never announced its first state."""

KINDS = (ONE_MASTER, NO_CONVERGENCE, VIP_ON_NON_MASTER, NOTIFY, SERIES_LOST, RESTART)

NOTIFY_LINE = re.compile(r'^INSTANCE "(?P<name>[^"]+)" (?P<state>MASTER|BACKUP|FAULT|STOP) ')
"""keepalived's (and havip's) notify FIFO line for an instance's state change."""
LOGGED_STATE = r"\({instance}\) Entering (MASTER|BACKUP|FAULT) STATE"
"""keepalived's wording, which havip keeps: `VRRP_Instance(VI_1) Entering MASTER STATE` (havip),
`(VI_1) Entering BACKUP STATE (init)` (keepalived)."""


@dataclass(frozen=True)
class Violation:
    kind: str
    fault: str
    """The fault after whose heal it was seen (`describe()`), or "start"."""
    detail: str


def convergence_deadline(version: int, advert_int: float, priorities: Sequence[int]) -> float:
    """Master_Down_Interval of the slowest backup (lowest priority) plus one interval, seconds.

    After a heal the router that must be master is either master already or takes over when
    its master-down timer fires; the old master steps down on its first advert, sent at once.
    """
    interval_cs = round(advert_int * 100)
    slowest = max(master_down_interval(version, p, interval_cs) for p in priorities)
    return slowest + advert_int


def notified_states(lines: Sequence[str], instance: str = "VI_1") -> list[str]:
    """The states of `instance` in notify FIFO lines, in the order they were written."""
    states = []
    for line in lines:
        match = NOTIFY_LINE.match(line)
        if match and match["name"] == instance and match["state"] != "STOP":
            states.append(match["state"])
    return states


def logged_states(log: str, instance: str) -> list[str]:
    """The states `instance` entered, in log order."""
    return re.findall(LOGGED_STATE.format(instance=re.escape(instance)), log)


def notify_problem(notified: Sequence[str], logged: Sequence[str], killed: bool) -> str | None:
    """Why one daemon lifetime's notifies do not match the states it logged, or None.

    Every state entered is notified once, in order, and a state is never notified twice in a
    row. A SIGKILLed lifetime may have died between logging a state and notifying it (or the
    other way round): there one list may be the other plus one last state.
    """
    for before, after in itertools.pairwise(notified):
        if before == after:
            return f"{after} notified twice in a row: notified {list(notified)}"
    if list(notified) == list(logged):
        return None
    if killed:
        shorter, longer = sorted((list(notified), list(logged)), key=len)
        if len(longer) - len(shorter) <= 1 and longer[: len(shorter)] == shorter:
            return None
    return f"notified {list(notified)} but logged {list(logged)}"


Series = frozenset[tuple[str, tuple[tuple[str, str], ...]]]


def series(metrics_text: str) -> Series:
    """Every sample name with its labels in a /metrics text (values and exemplars ignored)."""
    return frozenset(
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
    )


def sample_sum(metrics_text: str, name: str) -> float:
    """The sum of every sample called `name` (all label sets) in a /metrics text."""
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == name
    )


def lost_series(before: Series, after: Series) -> list[str]:
    """The series of `before` that `after` no longer has, readable and sorted."""
    return sorted(
        name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
        for name, labels in before - after
    )


def converged(states: Mapping[str, str | None], holders: Sequence[str], expected: str) -> bool:
    """`expected` is the one master and the only VIP holder; every other router is BACKUP."""
    return list(holders) == [expected] and all(
        state == ("MASTER" if name == expected else "BACKUP") for name, state in states.items()
    )


def vip_problem(states: Mapping[str, str | None], holders: Sequence[str]) -> tuple[str, str] | None:
    """(violation kind, detail) for a VIP on a router that is not master, or for more or fewer
    than one master; None when neither."""
    masters = sorted(name for name, state in states.items() if state == "MASTER")
    strays = [name for name in holders if states.get(name) != "MASTER"]
    if strays:
        return VIP_ON_NON_MASTER, f"VIP on {strays}, not master (states {dict(states)})"
    if len(masters) != 1:
        detail = f"{len(masters)} masters {masters} (states {dict(states)}, VIP on {list(holders)})"
        return ONE_MASTER, detail
    return None
