"""The chaos fault sequence comes from its seed alone, and a short run still has every kind."""

from __future__ import annotations

from havip.lab.chaos.plan import HOLDS, Kind, plan

ROUTERS = ("r1", "r2", "r3")


def test_the_same_seed_gives_the_same_faults() -> None:
    assert plan(7, 40, ROUTERS) == plan(7, 40, ROUTERS)
    assert plan(7, 40, ROUTERS) != plan(8, 40, ROUTERS)


def test_the_first_faults_cover_every_kind_once() -> None:
    for seed in range(20):
        first = plan(seed, len(Kind), ROUTERS)
        assert sorted(f.kind.value for f in first) == sorted(k.value for k in Kind)


def test_each_fault_is_well_formed() -> None:
    for fault in plan(3, 300, ROUTERS):
        low, high = HOLDS[fault.kind]
        assert low <= fault.hold <= high, fault
        assert set(fault.targets) <= set(ROUTERS), fault
        if fault.kind is Kind.SPLIT_BRAIN:
            assert len(set(fault.targets)) == 2, fault
        else:
            assert len(fault.targets) == 1, fault
        if fault.kind is Kind.SIGHUP_STORM:
            assert fault.signals >= 3 and len(fault.gaps) == fault.signals - 1, fault
        else:
            assert (fault.signals, fault.gaps) == (0, ()), fault
