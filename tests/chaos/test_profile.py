"""The short chaos profile: a seeded run of faults on a 3-router havip lab, zero violations.

The seed is $HAVIP_CHAOS_SEED when set (to replay a failure), else a fresh one; it is printed
and named in every failure, and the same seed gives the same fault sequence
(`python -m bench.chaos --seed S` runs the long profile with it).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from havip.lab.chaos.plan import Kind
from havip.lab.chaos.runner import run_chaos
from havip.lab.netns import netns_unavailable_reason

FAULTS = 18
"""Every kind at least once, then more drawn at random: about 90 s on a quiet machine."""
SEED_ENV = "HAVIP_CHAOS_SEED"


@pytest.mark.netns
def test_a_seeded_fault_run_keeps_one_master_vips_notifies_and_series(tmp_path: Path) -> None:
    reason = netns_unavailable_reason()
    if reason is not None:
        pytest.skip(f"this machine cannot run namespace labs: {reason}")
    seed = int(os.environ.get(SEED_ENV) or random.randrange(1 << 32))
    print(f"chaos seed {seed} (replay with {SEED_ENV}={seed})")
    report = run_chaos("havip", seed, FAULTS, tmp_path, advert_int=0.2)
    print(report.summary())
    assert not report.violations, f"seed {seed}:\n{report.summary()}"
    assert set(report.faults) == {kind.value for kind in Kind}, report.summary()
    assert report.series_checked
    assert report.missed == 0, f"faults without their effect:\n{report.summary()}"
