"""Notify delivery: keepalived's scripts and arguments, in order, one at a time, never waited on."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from havip.notify.fifo import NotifyFifo, NotifyState
from havip.notify.runner import NotifyDispatcher, NotifyRun, NotifyScripts, ScriptCommand

from .processes import wait_for_group_gone, write_script

RECORDER = """log="$1"; shift
echo "start $*" >>"$log"
sleep 0.05
echo "end $*" >>"$log"
"""
"""Appends `start ARGS` and `end ARGS` around a short pause: overlapping runs would interleave."""


@asynccontextmanager
async def running(dispatcher: NotifyDispatcher) -> AsyncIterator[NotifyDispatcher]:
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(dispatcher.run)
            yield dispatcher
            await dispatcher.drain()
            nursery.cancel_scope.cancel()


def command(script: Path) -> ScriptCommand:
    return ScriptCommand(str(script))


def recording_scripts(tmp_path: Path, log: Path) -> NotifyScripts:
    recorder = write_script(tmp_path / "record.sh", RECORDER)

    def script(tag: str) -> ScriptCommand:
        return ScriptCommand(f"{recorder} {log} {tag}")

    return NotifyScripts(
        notify=script("notify"),
        master=script("notify_master"),
        backup=script("notify_backup"),
        fault=script("notify_fault"),
        stop=script("notify_stop"),
    )


async def test_a_burst_of_transitions_runs_in_order_one_script_at_a_time(tmp_path: Path) -> None:
    log = tmp_path / "log"
    scripts = recording_scripts(tmp_path, log)
    runs: list[NotifyRun] = []
    states: list[tuple[NotifyState, int]] = [
        ("MASTER", 100),
        ("BACKUP", 90),
        ("FAULT", 90),
        ("BACKUP", 100),
    ]
    async with running(NotifyDispatcher(on_done=runs.append)) as dispatcher:
        for state, priority in states:
            dispatcher.notify("INSTANCE", "VI_1", state, priority, scripts)
    expected: list[str] = []
    for state, priority in states:
        own = f"notify_{state.lower()}"
        generic = f"notify INSTANCE VI_1 {state} {priority}"
        expected += [f"start {own}", f"end {own}", f"start {generic}", f"end {generic}"]
    assert log.read_text().splitlines() == expected
    assert [(run.state, run.result) for run in runs] == [
        (state, "ok") for state, _ in states for _script in range(2)
    ]
    assert all(run.began is not None and run.ended is not None for run in runs)
    for earlier, later in itertools.pairwise(runs):
        assert earlier.ended is not None and later.began is not None
        assert earlier.ended <= later.began


async def test_a_group_gets_group_arguments_and_priority_zero(tmp_path: Path) -> None:
    log = tmp_path / "log"
    scripts = recording_scripts(tmp_path, log)
    async with running(NotifyDispatcher(on_done=lambda run: None)) as dispatcher:
        dispatcher.notify("GROUP", "G1", "MASTER", 0, scripts)
    assert log.read_text().splitlines() == [
        "start notify_master",
        "end notify_master",
        "start notify GROUP G1 MASTER 0",
        "end notify GROUP G1 MASTER 0",
    ]


async def test_instances_do_not_wait_for_each_other(tmp_path: Path) -> None:
    release = tmp_path / "release"
    blocked = NotifyScripts(
        master=ScriptCommand(f"sh -c 'while [ ! -e {release} ]; do sleep 0.01; done'")
    )
    quick = NotifyScripts(master=ScriptCommand("true"))
    runs: list[NotifyRun] = []
    async with running(NotifyDispatcher(on_done=runs.append)) as dispatcher:
        dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, blocked)
        dispatcher.notify("INSTANCE", "VI_2", "MASTER", 100, quick)
        while not runs:
            await trio.sleep(0.01)
        assert [run.name for run in runs] == ["VI_2"]
        release.touch()
    assert [run.name for run in runs] == ["VI_2", "VI_1"]


async def test_a_hanging_notify_script_is_killed_at_its_timeout_and_the_next_one_runs(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pid"
    hang = write_script(tmp_path / "hang.sh", f"echo $$ >{pidfile}\nsleep 100 & sleep 100\n")
    log = tmp_path / "log"
    after = write_script(tmp_path / "after.sh", f'echo "$*" >>{log}\n')
    runs: list[NotifyRun] = []
    async with running(NotifyDispatcher(on_done=runs.append, timeout=1.0)) as dispatcher:
        dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, NotifyScripts(master=command(hang)))
        dispatcher.notify("INSTANCE", "VI_1", "BACKUP", 100, NotifyScripts(notify=command(after)))
    assert [(run.state, run.result) for run in runs] == [("MASTER", "timeout"), ("BACKUP", "ok")]
    assert runs[0].detail == "timed out after 1s"
    assert log.read_text() == "INSTANCE VI_1 BACKUP 100\n"
    with trio.fail_after(30):
        await wait_for_group_gone(int(pidfile.read_text()))


async def test_stop_scripts_get_keepalived_s_one_second_budget(tmp_path: Path) -> None:
    hang = write_script(tmp_path / "hang.sh", "sleep 100\n")
    runs: list[NotifyRun] = []
    dispatcher = NotifyDispatcher(on_done=runs.append, timeout=1000, stop_timeout=0.2)
    async with running(dispatcher):
        dispatcher.notify("INSTANCE", "VI_1", "STOP", 100, NotifyScripts(stop=command(hang)))
    assert [(run.state, run.result, run.detail) for run in runs] == [
        ("STOP", "timeout", "timed out after 0.2s")
    ]


@pytest.mark.parametrize(
    ("body", "result", "detail"),
    [("exit 3\n", "failed", "exited with status 3"), ("exit 0\n", "ok", "exited with status 0")],
)
async def test_each_run_is_reported_with_its_result(
    tmp_path: Path, body: str, result: str, detail: str
) -> None:
    script = write_script(tmp_path / "notify.sh", body)
    runs: list[NotifyRun] = []
    async with running(NotifyDispatcher(on_done=runs.append)) as dispatcher:
        dispatcher.notify("INSTANCE", "VI_1", "FAULT", 80, NotifyScripts(notify=command(script)))
    assert [(run.name, run.state, run.priority, run.result, run.detail) for run in runs] == [
        ("VI_1", "FAULT", 80, result, detail)
    ]
    assert runs[0].command == str(script)


async def test_a_script_that_cannot_start_is_a_failed_run(tmp_path: Path) -> None:
    runs: list[NotifyRun] = []
    missing = ScriptCommand(str(tmp_path / "missing.sh"))
    async with running(NotifyDispatcher(on_done=runs.append)) as dispatcher:
        dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, NotifyScripts(master=missing))
    assert [run.result for run in runs] == ["failed"]


async def test_a_full_queue_drops_its_oldest_waiting_run(tmp_path: Path) -> None:
    log = tmp_path / "log"
    script = command(write_script(tmp_path / "notify.sh", f'echo "$*" >>{log}\n'))
    runs: list[NotifyRun] = []
    states: tuple[NotifyState, ...] = ("MASTER", "BACKUP", "FAULT")
    async with running(NotifyDispatcher(on_done=runs.append, queue_size=2)) as dispatcher:
        for state in states:
            dispatcher.notify("INSTANCE", "VI_1", state, 100, NotifyScripts(notify=script))
    assert [(run.state, run.result) for run in runs] == [
        ("MASTER", "dropped"),
        ("BACKUP", "ok"),
        ("FAULT", "ok"),
    ]
    assert runs[0].began is None and runs[0].ended is None
    assert log.read_text().splitlines() == ["INSTANCE VI_1 BACKUP 100", "INSTANCE VI_1 FAULT 100"]


async def test_fifo_lines_are_written_at_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "notify.fifo"
    fifo = NotifyFifo(str(path))
    fifo.open()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        async with running(NotifyDispatcher(on_done=lambda run: None, fifos=[fifo])) as dispatcher:
            dispatcher.notify("INSTANCE", "VI_1", "BACKUP", 100, NotifyScripts())
            dispatcher.notify("GROUP", "G1", "BACKUP", 0, NotifyScripts())
            dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, NotifyScripts())
            written = os.read(fd, 4096)
    finally:
        os.close(fd)
        fifo.close()
    assert written == (
        b'INSTANCE "VI_1" BACKUP 100\nGROUP "G1" BACKUP 0\nINSTANCE "VI_1" MASTER 100\n'
    )


async def test_a_dispatcher_can_run_again_after_being_stopped(tmp_path: Path) -> None:
    log = tmp_path / "log"
    scripts = NotifyScripts(notify=command(write_script(tmp_path / "n.sh", f'echo "$*" >>{log}\n')))
    dispatcher = NotifyDispatcher(on_done=lambda run: None)
    states: tuple[NotifyState, ...] = ("MASTER", "BACKUP")
    for state in states:
        async with running(dispatcher):
            dispatcher.notify("INSTANCE", "VI_1", state, 100, scripts)
    assert log.read_text().splitlines() == ["INSTANCE VI_1 MASTER 100", "INSTANCE VI_1 BACKUP 100"]


def test_notifying_before_the_dispatcher_runs_is_a_programming_error() -> None:
    dispatcher = NotifyDispatcher(on_done=lambda run: None)
    with pytest.raises(RuntimeError, match="not running"):
        dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, NotifyScripts())


async def test_a_failing_report_callback_does_not_stop_delivery(tmp_path: Path) -> None:
    log = tmp_path / "log"
    scripts = NotifyScripts(notify=command(write_script(tmp_path / "n.sh", f'echo "$*" >>{log}\n')))
    reports: list[str] = []

    def on_done(run: NotifyRun) -> None:
        reports.append(run.state)
        raise RuntimeError("metrics backend broke")

    async with running(NotifyDispatcher(on_done=on_done)) as dispatcher:
        dispatcher.notify("INSTANCE", "VI_1", "MASTER", 100, scripts)
        dispatcher.notify("INSTANCE", "VI_1", "BACKUP", 100, scripts)
    assert reports == ["MASTER", "BACKUP"]
    assert log.read_text().splitlines() == ["INSTANCE VI_1 MASTER 100", "INSTANCE VI_1 BACKUP 100"]
