"""The fault sequence of a chaos run, drawn from a seed alone.

A run is reproducible from the seed it prints: the kinds, targets and hold times come from
one `random.Random(seed)` and nothing else (no clock, no lab state), so the same seed gives
the same faults on havip and on keepalived.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """The faults the issue asks for, each one injected and then healed."""

    LINK_FLAP = "link_flap"
    """A router's veth is set down at the switch, then up: its eth0 loses carrier."""
    SPLIT_BRAIN = "split_brain"
    """Two routers' bridge ports are isolated: they stop hearing each other, then heal."""
    KILL_RESTART = "kill_restart"
    """SIGKILL (VIPs stay behind, no priority-0 advert), then the daemon is started again."""
    SIGHUP_STORM = "sighup_storm"
    """Several SIGHUPs (reload of an unchanged file) in quick succession."""
    HANGING_SCRIPT = "hanging_script"
    """The router's tracked script sleeps past its timeout until healed."""
    WRONG_AUTH_FLOOD = "wrong_auth_flood"
    """A flooder sends adverts that must be rejected: v2 with a wrong password, v3 with a
    bad checksum (VRRPv3 has no authentication: integrity is all it has)."""


@dataclass(frozen=True)
class Fault:
    """One fault: what, on which routers, for how long, and for a storm how many signals."""

    index: int
    kind: Kind
    targets: tuple[str, ...]
    hold: float
    """Seconds between inject and heal."""
    signals: int = 0
    """SIGHUPs in a storm (0 for other kinds)."""
    gaps: tuple[float, ...] = ()
    """Seconds between successive SIGHUPs of a storm."""

    def describe(self) -> str:
        extra = f" x{self.signals}" if self.signals else ""
        targets = ",".join(self.targets)
        return f"#{self.index} {self.kind.value} {targets}{extra} hold {self.hold:.2f}s"


HOLDS: dict[Kind, tuple[float, float]] = {
    Kind.LINK_FLAP: (0.2, 2.0),
    Kind.SPLIT_BRAIN: (0.5, 2.0),
    Kind.KILL_RESTART: (0.2, 1.5),
    Kind.SIGHUP_STORM: (0.0, 0.0),
    Kind.HANGING_SCRIPT: (3.0, 4.5),
    Kind.WRONG_AUTH_FLOOD: (1.0, 2.5),
}
"""Hold times, seconds (low, high). A hanging script is held past one script interval plus one
timeout (1 s each in the lab) plus a Master_Down_Interval, so at least one run really times
out and, on the master, the next router has taken over."""


def plan(seed: int, count: int, routers: tuple[str, ...]) -> list[Fault]:
    """`count` faults drawn from `seed`; the first ones cover every kind once (in a seeded
    order) so even a short run exercises them all."""
    if len(routers) < 2:
        raise ValueError("a chaos plan needs at least two routers")
    rng = random.Random(seed)
    kinds = list(Kind)
    rng.shuffle(kinds)
    faults = []
    for index in range(count):
        kind = kinds[index] if index < len(kinds) else rng.choice(list(Kind))
        low, high = HOLDS[kind]
        hold = round(rng.uniform(low, high), 3)
        if kind is Kind.SPLIT_BRAIN:
            targets = tuple(sorted(rng.sample(routers, 2)))
        else:
            targets = (rng.choice(routers),)
        signals, gaps = 0, tuple[float, ...]()
        if kind is Kind.SIGHUP_STORM:
            signals = rng.randint(3, 8)
            gaps = tuple(round(rng.uniform(0.0, 0.3), 3) for _ in range(signals - 1))
        faults.append(Fault(index, kind, targets, hold, signals, gaps))
    return faults
