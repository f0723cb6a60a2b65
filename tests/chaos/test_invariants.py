"""The invariants a chaos run checks after each heal, on made-up observations."""

from __future__ import annotations

import pytest

from havip.lab.chaos import invariants
from havip.lab.chaos.invariants import (
    converged,
    convergence_deadline,
    logged_states,
    lost_series,
    notified_states,
    notify_problem,
    series,
    vip_problem,
)


def test_the_deadline_is_the_slowest_master_down_interval_plus_one_interval() -> None:
    # VRRPv3, 0.2 s: priority 100 waits 3 * 0.2 + (256 - 100) * 0.2 / 256 = 0.721875 s
    assert convergence_deadline(3, 0.2, (150, 100, 120)) == pytest.approx(0.721875 + 0.2)


def test_notify_lines_and_log_lines_give_the_states_in_order() -> None:
    lines = [
        'INSTANCE "VI_1" BACKUP 150',
        'INSTANCE "VI_2" MASTER 100',
        'INSTANCE "VI_1" MASTER 150',
        'INSTANCE "VI_1" STOP 150',
    ]
    assert notified_states(lines, "VI_1") == ["BACKUP", "MASTER"]
    log = (
        "Keepalived_vrrp: (VI_1) Entering BACKUP STATE (init)\n"
        "x VRRP_Instance(VI_1) Entering MASTER STATE\n"
        "x VRRP_Instance(VI_10) Entering FAULT STATE\n"
    )
    assert logged_states(log, "VI_1") == ["BACKUP", "MASTER"]


def test_notifies_must_match_the_logged_states_one_for_one() -> None:
    assert notify_problem(["BACKUP", "MASTER"], ["BACKUP", "MASTER"], killed=False) is None
    missing = notify_problem(["BACKUP"], ["BACKUP", "MASTER"], killed=False)
    assert missing is not None and "logged" in missing
    swapped = notify_problem(["MASTER", "BACKUP"], ["BACKUP", "MASTER"], killed=False)
    assert swapped is not None
    twice = notify_problem(["BACKUP", "BACKUP"], ["BACKUP", "BACKUP"], killed=False)
    assert twice is not None and "twice in a row" in twice


def test_a_killed_daemon_may_lose_only_its_last_notify_or_log_line() -> None:
    assert notify_problem(["BACKUP"], ["BACKUP", "MASTER"], killed=True) is None
    assert notify_problem(["BACKUP", "MASTER"], ["BACKUP"], killed=True) is None
    assert notify_problem(["BACKUP"], ["BACKUP", "MASTER", "BACKUP"], killed=True) is not None
    assert notify_problem(["FAULT"], ["BACKUP", "FAULT"], killed=True) is not None


def test_a_series_that_disappears_is_named() -> None:
    before = series('a_total{x="1"} 1\na_total{x="2"} 1\nb 0\n')
    after = series('a_total{x="1"} 5\nb 1\nc 0\n')
    assert lost_series(before, after) == ['a_total{x="2"}']
    assert lost_series(before, before | after) == []


def test_converged_means_one_master_holding_the_vip_and_the_rest_backup() -> None:
    states = {"r1": "MASTER", "r2": "BACKUP", "r3": "BACKUP"}
    assert converged(states, ["r1"], "r1")
    assert not converged(states, ["r1", "r3"], "r1")
    assert not converged({**states, "r3": "FAULT"}, ["r1"], "r1")
    assert not converged({**states, "r3": "MASTER"}, ["r1"], "r1")
    assert not converged(states, ["r1"], "r3")


def test_a_vip_on_a_backup_and_two_masters_are_told_apart() -> None:
    states = {"r1": "MASTER", "r2": "BACKUP", "r3": "BACKUP"}
    assert vip_problem(states, ["r1"]) is None
    stray = vip_problem(states, ["r1", "r2"])
    assert stray is not None and stray[0] == invariants.VIP_ON_NON_MASTER
    two = vip_problem({**states, "r3": "MASTER"}, ["r1"])
    assert two is not None and two[0] == invariants.ONE_MASTER


def test_a_counter_is_summed_over_its_label_sets() -> None:
    text = 'r_total{reason="version"} 3\nr_total{reason="checksum"} 4\nother_total 9\n'
    assert invariants.sample_sum(text, "r_total") == 7
