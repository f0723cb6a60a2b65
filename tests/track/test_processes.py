"""vrrp_track_process: keepalived's matching and quorum rules, and the /proc reader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trio.testing

from havip.track.processes import (
    ProcessCount,
    ProcessInfo,
    ProcessPattern,
    ProcessQuorum,
    ProcessTracker,
    TrackedProcessSpec,
    read_processes,
)

NGINX = ProcessInfo(10, 1, "nginx", ("/usr/sbin/nginx", "-g", "daemon off;"))
WORKER = ProcessInfo(11, 10, "nginx", ("nginx: worker process",))


# --- which processes match -------------------------------------------------------------------


def test_a_name_matches_the_process_name_not_the_command_line() -> None:
    assert ProcessPattern("nginx").matches(NGINX)
    assert ProcessPattern("nginx").matches(WORKER)
    assert not ProcessPattern("/usr/sbin/nginx").matches(NGINX)


def test_full_command_matches_argv_0() -> None:
    pattern = ProcessPattern("/usr/sbin/nginx", full_command=True)
    assert pattern.matches(NGINX)
    assert not pattern.matches(WORKER)


@pytest.mark.parametrize(
    ("params", "how", "matches"),
    [
        (("-g", "daemon off;"), "exact", True),
        (("-g",), "exact", False),
        (None, "exact", False),  # param_match alone: no arguments at all
        (("-g",), "partial", True),
        (("-g", "daemon"), "partial", False),  # whole words only
        (("-g", "daemon"), "initial", True),  # the last word may be a beginning
        (("-x",), "initial", False),
        (None, "partial", True),
    ],
)
def test_parameters_match_as_keepalived_s_param_match(
    params: tuple[str, ...] | None, how: str, matches: bool
) -> None:
    pattern = ProcessPattern("/usr/sbin/nginx", params, how, full_command=True)  # type: ignore[arg-type]
    assert pattern.matches(NGINX) is matches


# --- quorum and delays -----------------------------------------------------------------------


def test_up_while_the_count_is_within_quorum_and_quorum_max() -> None:
    count = ProcessCount(ProcessQuorum(quorum=2, quorum_max=3))
    assert count.update({1: 0}, 0.0) is False  # the first reading reports at once
    assert count.update({1: 0, 2: 0}, 1.0) is True
    assert count.update({1: 0, 2: 0, 3: 0}, 2.0) is None
    assert count.update({1: 0, 2: 0, 3: 0, 4: 0}, 3.0) is False


def test_quorum_max_0_means_up_while_none_runs() -> None:
    count = ProcessCount(ProcessQuorum(quorum=0, quorum_max=0))
    assert count.update({}, 0.0) is True
    assert count.update({7: 1}, 1.0) is False


def test_an_exit_waits_terminate_delay_and_a_return_in_time_cancels_it() -> None:
    count = ProcessCount(ProcessQuorum(terminate_delay=2.0))
    count.update({5: 1}, 0.0)
    assert count.update({}, 1.0) is None
    assert count.deadline() == 3.0
    assert count.update({6: 1}, 2.0) is None  # a new copy is back in time: nothing happened
    assert count.deadline() is None and count.up is True
    assert count.update({}, 4.0) is None
    assert count.due(5.9) is None
    assert count.due(6.0) is False


def test_fork_delay_applies_to_forks_and_not_to_a_new_program() -> None:
    quorum = ProcessQuorum(quorum=2, fork_delay=1.0)
    forked = ProcessCount(quorum)
    forked.update({10: 1}, 0.0)
    assert forked.update({10: 1, 11: 10}, 1.0) is None  # 11 is a child of 10: a fork
    assert forked.due(2.0) is True
    started = ProcessCount(quorum)
    started.update({10: 1}, 0.0)
    assert started.update({10: 1, 12: 1}, 1.0) is True  # 12 is a new program: at once


# --- reading /proc ---------------------------------------------------------------------------


def fake_proc(root: Path, pid: int, stat: str, cmdline: bytes) -> None:
    directory = root / str(pid)
    directory.mkdir()
    (directory / "stat").write_text(stat)
    (directory / "cmdline").write_bytes(cmdline)


def test_the_reader_parses_stat_and_cmdline_and_skips_zombies(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, "10 (nginx) S 1 10 10 0", b"/usr/sbin/nginx\0-g\0daemon off;\0")
    fake_proc(tmp_path, 12, "12 (odd ) name) S 10 10 10 0", b"odd\0")
    fake_proc(tmp_path, 13, "13 (gone) Z 10 10 10 0", b"")
    (tmp_path / "self").mkdir()
    found = sorted(read_processes(str(tmp_path)), key=lambda p: p.pid)
    assert found == [
        ProcessInfo(10, 1, "nginx", ("/usr/sbin/nginx", "-g", "daemon off;")),
        ProcessInfo(12, 10, "odd ) name", ("odd",)),
    ]


def test_the_real_proc_shows_a_process_we_started() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        processes = {p.pid: p for p in read_processes()}
        assert processes[child.pid].ppid == os.getpid()
        assert processes[child.pid].argv[0] == sys.executable
    finally:
        child.kill()
        child.wait()


async def test_the_tracker_polls_and_reports_each_change_once_after_its_delay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    changes: list[tuple[float, bool]] = []
    readings = iter([[NGINX], [NGINX, WORKER], [], [], [], [NGINX]])
    spec = TrackedProcessSpec("web", ProcessPattern("nginx"), ProcessQuorum(terminate_delay=1.5))
    tracker = ProcessTracker(
        [spec],
        lambda _name, up: changes.append((trio.current_time(), up)),
        lambda: next(readings),
        in_thread=False,  # the clock jumps while a thread runs: read on the loop
    )
    start = trio.current_time()
    assert tracker.first_reading() == {"web": True}
    with trio.move_on_after(5.5):
        await tracker.run()
    # polls at +1 (two), +2 (none: the delay starts), +3 (none), +3.5 (down), +4, +5 (back)
    assert [(round(at - start, 3), up) for at, up in changes] == [(3.5, False), (5.0, True)]
