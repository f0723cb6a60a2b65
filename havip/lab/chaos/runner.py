"""One chaos run: build the lab, apply the seeded faults one after another, and after every
heal check the invariants; the report counts faults and violations by kind.

Waits are sized from the protocol: a heal must give one master (r1, the highest priority) and
the VIP on it alone within Master_Down_Interval plus one advert interval, plus what the heal
itself needs by design (a hung script's timeout and interval; a restarted daemon is timed from
its first notify). POLL_SLACK covers the time one observation takes (three `ip` commands and
reading the FIFOs), no more.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from havip.lab.chaos import invariants
from havip.lab.chaos.invariants import Violation, notified_states
from havip.lab.chaos.lab import (
    EXPECTED_MASTER,
    FLOOD_RATE,
    HANG_TAKER,
    SCRIPT_INTERVAL,
    SCRIPT_TIMEOUT,
    ChaosLab,
    ChaosRouter,
)
from havip.lab.chaos.plan import Fault, Kind, plan
from havip.lab.netns import LabError

POLL = 0.05
POLL_SLACK = 0.1
"""Seconds one observation may lag the truth (it is several commands, not one instant)."""
STUCK = 30.0
"""Seconds after a heal when a group that has still not converged is reported stuck."""
START = 30.0
"""Seconds the first election may take (three daemons starting on a busy machine)."""
REJECTED = "havip_vrrp_packets_rejected_total"
NOTIFY_SETTLE = 1.0
"""Seconds a logged state may precede its notify line (the FIFO is written just after)."""

Say = Callable[[str], None]


@dataclass
class Report:
    daemon: str
    seed: int
    advert_int: float
    faults: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    converge: dict[str, list[float]] = field(default_factory=dict)
    """Seconds from heal to convergence, by fault kind."""
    series_checked: bool = False
    effects: Counter[tuple[str, bool]] = field(default_factory=Counter)
    """(fault kind, whether its effect was seen) for faults with a visible effect by design."""

    @property
    def missed(self) -> int:
        """Faults whose effect was not seen: a fault that does nothing proves nothing."""
        return sum(n for (_, seen), n in self.effects.items() if not seen)

    @property
    def by_kind(self) -> Counter[str]:
        return Counter(v.kind for v in self.violations)

    def summary(self) -> str:
        total = sum(self.faults.values())
        lines = [
            f"chaos {self.daemon}: {total} faults, {len(self.violations)} violations, "
            f"{self.seconds:.0f} s, seed {self.seed}, advert_int {self.advert_int:g} s"
            + ("" if self.series_checked else " (no /metrics: series invariant not checked)"),
            "faults: " + ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items())),
            "violations: "
            + (", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items())) or "none"),
        ]
        kinds = sorted({kind for kind, _ in self.effects})
        lines.append(
            "effects seen: "
            + ", ".join(
                f"{k} {self.effects[k, True]}/{self.effects[k, True] + self.effects[k, False]}"
                for k in kinds
            )
        )
        for kind, times in sorted(self.converge.items()):
            ordered = sorted(times)
            lines.append(
                f"converged after {kind}: median {ordered[len(ordered) // 2]:.2f} s, "
                f"max {ordered[-1]:.2f} s"
            )
        lines += [f"VIOLATION {v.kind} after {v.fault}: {v.detail}" for v in self.violations]
        return "\n".join(lines)


@dataclass
class Healed:
    """When a fault was healed, and what the run knew just before it was injected."""

    at: float
    """Monotonic seconds."""
    extra: float
    """Seconds the heal needs by design on top of the protocol's (a hung script's timeout
    and interval; for the first election, the start of three daemons)."""
    marks: dict[str, tuple[int, Counter[str]]]
    rejected: float | None = None


class Run:
    """Applies faults to one lab and checks the invariants after each heal."""

    def __init__(self, lab: ChaosLab, report: Report, say: Say) -> None:
        self.lab = lab
        self.report = report
        self.say = say
        self.deadline = invariants.convergence_deadline(3, lab.advert_int, lab.priorities)

    # --- faults ------------------------------------------------------------------------------

    def apply(self, fault: Fault) -> Healed | None:
        """Inject, hold, heal; None if the heal itself failed (reported)."""
        lab, target = self.lab, fault.targets[0]
        healed = Healed(0.0, 0.0, self._marks())
        if fault.kind is Kind.WRONG_AUTH_FLOOD and lab.kind == "havip":
            healed.rejected = self._rejected()
        if fault.kind is Kind.LINK_FLAP:
            lab.lab.cut(target)
            time.sleep(fault.hold)
            lab.lab.restore(target)
        elif fault.kind is Kind.SPLIT_BRAIN:
            for name in fault.targets:
                lab.lab.isolate(name)
            time.sleep(fault.hold)
            for name in fault.targets:
                lab.lab.isolate(name, False)
        elif fault.kind is Kind.KILL_RESTART:
            router = lab.routers[target]
            router.kill()
            time.sleep(fault.hold)
            router.start()
            if self._wait(lambda: router.state() is not None, START) is None:
                self._violate(invariants.RESTART, fault, f"{target} never notified a state")
                return None
        elif fault.kind is Kind.SIGHUP_STORM:
            daemon = lab.routers[target].current.daemon
            for gap in (*fault.gaps, 0.0):
                daemon.signal(signal.SIGHUP)
                time.sleep(gap)
        elif fault.kind is Kind.HANGING_SCRIPT:
            lab.hang(target, True)
            time.sleep(fault.hold)
            lab.hang(target, False)
            healed.extra = SCRIPT_TIMEOUT + SCRIPT_INTERVAL
        elif fault.kind is Kind.WRONG_AUTH_FLOOD:
            flood = lab.flood(fault.hold)
            flood.wait()
        healed.at = time.monotonic()
        return healed

    # --- did the fault do what it should? ----------------------------------------------------

    def _marks(self) -> dict[str, tuple[int, Counter[str]]]:
        """Per router: its lifetime count and how often each state was notified in the last."""
        return {
            name: (len(router.lifetimes), Counter(notified_states(router.current.fifo.lines())))
            for name, router in self.lab.routers.items()
        }

    def _entered(self, before: dict[str, tuple[int, Counter[str]]], name: str, state: str) -> bool:
        """Whether router `name` entered `state` since `before` (in the same lifetime)."""
        lifetimes, counts = before[name]
        now = self._marks()[name]
        return now[0] == lifetimes and now[1][state] > counts[state]

    def _rejected(self) -> float:
        """Packets all havip routers have rejected so far, for any reason."""
        return sum(
            invariants.sample_sum(self.lab.metrics(name), REJECTED) for name in self.lab.routers
        )

    def _effect(self, fault: Fault, healed: Healed) -> bool | None:
        """Whether the fault had the effect it must have; None where none is visible by design
        (e.g. isolating two backups or a split shorter than a master-down interval, a backup's
        script hanging, a reload of the same file)."""
        target, before = fault.targets[0], healed.marks
        if fault.kind is Kind.LINK_FLAP:
            return self._entered(before, target, "FAULT")
        if (
            fault.kind is Kind.SPLIT_BRAIN
            and EXPECTED_MASTER in fault.targets
            and fault.hold > self.deadline
        ):
            # only a split held past the partner's Master_Down_Interval makes a second master
            other = next(name for name in fault.targets if name != EXPECTED_MASTER)
            return self._entered(before, other, "MASTER")
        if fault.kind is Kind.KILL_RESTART:
            return len(self.lab.routers[target].lifetimes) == before[target][0] + 1
        if fault.kind is Kind.HANGING_SCRIPT and target == EXPECTED_MASTER:
            return self._entered(before, HANG_TAKER, "MASTER")
        if fault.kind is Kind.WRONG_AUTH_FLOOD and healed.rejected is not None:
            # every router hears every packet; count at least half of what one router got
            return self._rejected() - healed.rejected >= fault.hold * FLOOD_RATE / 2
        return None

    # --- checks ------------------------------------------------------------------------------

    def _violate(self, kind: str, fault: Fault | None, detail: str) -> None:
        violation = Violation(kind, fault.describe() if fault else "start", detail)
        self.report.violations.append(violation)
        self.say(f"VIOLATION {violation.kind} after {violation.fault}: {detail}")

    @staticmethod
    def _wait(predicate: Callable[[], bool], timeout: float) -> float | None:
        """Poll `predicate`; the time its first true observation began, None on timeout.

        An observation that begins before the deadline and holds counts as in time: it takes a
        few commands, and the state it saw was reached by then at the latest.
        """
        end = time.monotonic() + timeout
        while True:
            began = time.monotonic()
            if began > end:
                return None
            if predicate():
                return began
            time.sleep(POLL)

    def _converged(self) -> bool:
        return invariants.converged(self.lab.states(), self.lab.holders(), EXPECTED_MASTER)

    def check(self, fault: Fault | None, healed: Healed) -> None:
        """Every invariant after one heal (or after the start, with `fault` None)."""
        allowed = self.deadline + healed.extra + POLL_SLACK
        seen = self._wait(self._converged, max(0.0, healed.at + allowed - time.monotonic()))
        if seen is None:
            self._violate(
                invariants.ONE_MASTER,
                fault,
                f"not converged on {EXPECTED_MASTER} within {allowed:.2f} s: "
                f"states {self.lab.states()}, VIP on {self.lab.holders()}",
            )
            seen = self._wait(self._converged, STUCK)
            if seen is None:
                self._violate(
                    invariants.NO_CONVERGENCE,
                    fault,
                    f"still not after {STUCK:g} s: states {self.lab.states()}, "
                    f"VIP on {self.lab.holders()}",
                )
                return
        if fault is not None:
            self.report.converge.setdefault(fault.kind.value, []).append(seen - healed.at)
            effect = self._effect(fault, healed)
            if effect is not None:
                self.report.effects[fault.kind.value, effect] += 1
        time.sleep(self.lab.advert_int)
        problem = invariants.vip_problem(self.lab.states(), self.lab.holders())
        if problem:
            kind, detail = problem
            self._violate(kind, fault, f"one interval after converging: {detail}")
        self._check_notifies(fault)
        if self.lab.kind == "havip":
            self._check_series(fault)

    def _check_notifies(self, fault: Fault | None) -> None:
        for router in self.lab.routers.values():
            for index, lifetime in enumerate(router.lifetimes):
                final = lifetime.killed
                if lifetime.reported or (final and lifetime.checked_final):
                    continue
                if not final and index != len(router.lifetimes) - 1:
                    continue

                def problem(
                    router: ChaosRouter = router, index: int = index, killed: bool = final
                ) -> str | None:
                    return invariants.notify_problem(*router.notified_and_logged(index), killed)

                if self._wait(lambda: problem() is None, NOTIFY_SETTLE) is None:
                    lifetime.reported = True
                    self._violate(
                        invariants.NOTIFY, fault, f"{router.name} lifetime {index}: {problem()}"
                    )
                lifetime.checked_final = final

    def _check_series(self, fault: Fault | None) -> None:
        self.report.series_checked = True
        for name, router in self.lab.routers.items():
            lifetime = router.current
            try:
                now = invariants.series(self.lab.metrics(name))
            except LabError as error:
                self._violate(invariants.SERIES_LOST, fault, str(error))
                continue
            if lifetime.series_seen:
                before = lifetime.series_seen
            else:
                # a new lifetime: counters with labels appear on their first event, by design;
                # every metric name the first lifetime exported at start must be back
                first = router.lifetimes[0].series_seen
                before = frozenset((series_name, ()) for series_name, _ in first)
                now_names = frozenset((series_name, ()) for series_name, _ in now)
                lost = invariants.lost_series(before, now_names)
                before = frozenset()
                if lost:
                    self._violate(
                        invariants.SERIES_LOST, fault, f"{name} restarted without {lost[:10]}"
                    )
            lost = invariants.lost_series(before, now)
            if lost:
                self._violate(
                    invariants.SERIES_LOST, fault, f"{name} lost {len(lost)}: {lost[:10]}"
                )
            lifetime.series_seen = before | now


def run_chaos(
    daemon: str,
    seed: int,
    count: int,
    workdir: Path,
    advert_int: float = 0.2,
    say: Say = print,
) -> Report:
    """Run `count` faults drawn from `seed` against `daemon` ("havip" or "keepalived")."""
    report = Report(daemon, seed, advert_int)
    began = time.monotonic()
    say(f"chaos {daemon}: seed {seed}, {count} faults, advert_int {advert_int:g} s")
    with ChaosLab(daemon, workdir, advert_int) as lab:
        run = Run(lab, report, say)
        lab.start()
        started = time.monotonic()
        if Run._wait(run._converged, START) is None:
            raise LabError(
                f"{daemon}: no first election in {START:g} s: states {lab.states()}, "
                f"VIP on {lab.holders()}"
            )
        run.check(None, Healed(started, START, {}))
        for fault in plan(seed, count, lab.names):
            say(fault.describe())
            healed = run.apply(fault)
            report.faults[fault.kind.value] += 1
            if healed is not None:
                run.check(fault, healed)
    report.seconds = time.monotonic() - began
    return report
