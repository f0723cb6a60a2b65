"""vrrp_script: keepalived's rise/fall counting, the run loop, and scripts that hang."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path

import pytest
import trio
import trio.testing

from havip.notify.runner import CommandOutcome, CommandResult, RunAs, ScriptCommand
from havip.proto.events import Start
from havip.proto.instance import InstanceSettings, VrrpInstance
from havip.proto.model import State
from havip.proto.trackers import Tracking, script_events
from havip.track.scripts import RiseFall, ScriptTracker, TrackScript

from ..notify.processes import live_group_members, wait_for_group_gone, write_script


def outcomes(counter: RiseFall, results: str) -> list[bool | None]:
    """Feed results written as S (success) and F (failure); return what each one changed."""
    return [counter.record(result == "S") for result in results]


def test_before_its_first_result_a_script_is_neither_up_nor_down() -> None:
    assert RiseFall(rise=3, fall=3, init_fail=False).up is None


@pytest.mark.parametrize("first", ["S", "F"])
def test_one_result_decides_a_script_that_has_not_run_yet(first: str) -> None:
    counter = RiseFall(rise=3, fall=3, init_fail=False)
    assert outcomes(counter, first) == [first == "S"]
    assert counter.up is (first == "S")


def test_an_up_script_goes_down_after_fall_consecutive_failures() -> None:
    counter = RiseFall(rise=2, fall=3, init_fail=False)
    assert outcomes(counter, "S" + "FFS" + "FFF") == [True, None, None, None, None, None, False]
    assert counter.up is False


def test_a_down_script_comes_up_after_rise_consecutive_successes() -> None:
    counter = RiseFall(rise=3, fall=1, init_fail=False)
    assert outcomes(counter, "F" + "SSF" + "SSS") == [False, None, None, None, None, None, True]
    assert counter.up is True


def test_init_fail_starts_down_and_needs_rise_successes() -> None:
    counter = RiseFall(rise=2, fall=2, init_fail=True)
    assert counter.up is False
    assert outcomes(counter, "FSS") == [None, None, True]


def test_rise_and_fall_of_one_follow_every_result() -> None:
    counter = RiseFall(rise=1, fall=1, init_fail=False)
    assert outcomes(counter, "SSFFS") == [True, None, False, None, True]


class ScriptedRunner:
    """Stands in for run_command: each call takes `duration` and ends as the next result."""

    def __init__(self, results: Sequence[CommandResult], duration: float = 0.5) -> None:
        self.results = list(results)
        self.duration = duration
        self.calls: list[tuple[float, tuple[str, ...], float, RunAs | None]] = []
        self.exhausted = trio.Event()

    async def __call__(
        self, argv: Sequence[str], timeout: float, run_as: RunAs | None
    ) -> CommandOutcome:
        if not self.results:
            self.exhausted.set()
            await trio.sleep_forever()
        began = trio.current_time()
        self.calls.append((began, tuple(argv), timeout, run_as))
        await trio.sleep(self.duration)
        result = self.results.pop(0)
        code = {"success": 0, "failure": 1}.get(result)
        return CommandOutcome(result, code, 4242, began, trio.current_time(), result)


async def run_until_exhausted(tracker: ScriptTracker, runner: ScriptedRunner) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(tracker.run)
        await runner.exhausted.wait()
        nursery.cancel_scope.cancel()


async def test_the_script_runs_at_once_then_every_interval_never_overlapping(
    autojump_clock: trio.testing.MockClock,
) -> None:
    runner = ScriptedRunner(["success", "failure", "success"], duration=0.5)
    nobody = RunAs(65534, 65534, "nobody")
    script = TrackScript("chk", ScriptCommand("/bin/check --quick", nobody), interval=2.0)
    results: list[tuple[str, bool, float, str]] = []
    tracker = ScriptTracker(
        script,
        on_result=lambda *args: results.append(args),
        on_change=lambda name, up: None,
        runner=runner,
    )
    await run_until_exhausted(tracker, runner)
    start = runner.calls[0][0]
    assert [began - start for began, *_ in runner.calls] == [0.0, 2.0, 4.0]
    assert {call[1:] for call in runner.calls} == {(("/bin/check", "--quick"), 2.0, nobody)}
    assert results == [
        ("chk", True, 0.5, "success"),
        ("chk", False, 0.5, "failure"),
        ("chk", True, 0.5, "success"),
    ]


async def test_a_run_longer_than_the_interval_is_followed_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    runner = ScriptedRunner(["success", "success"], duration=3.0)
    script = TrackScript("chk", ScriptCommand("/bin/check"), interval=2.0, timeout=5.0)
    tracker = ScriptTracker(
        script, on_result=lambda *args: None, on_change=lambda name, up: None, runner=runner
    )
    await run_until_exhausted(tracker, runner)
    start = runner.calls[0][0]
    assert [began - start for began, *_ in runner.calls] == [0.0, 3.0]
    assert runner.calls[0][2] == 5.0


async def test_a_weighted_failing_script_lowers_the_priority_after_fall_failures(
    tmp_path: Path,
) -> None:
    """A real script whose exit codes come from a file, feeding a real state machine."""
    (tmp_path / "codes").write_text("0\n1\n1\n0\n1\n1\n1\n0\n0\n")
    (tmp_path / "count").write_text("0\n")
    check = write_script(
        tmp_path / "check.sh",
        'n=$(($(cat "$1/count") + 1)); echo $n >"$1/count"\nexit $(sed -n "${n}p" "$1/codes")\n',
    )
    machine = VrrpInstance(
        InstanceSettings(name="VI_1", vrid=51, addresses=(IPv4Address("192.0.2.100"),)),
        local_address=IPv4Address("192.0.2.10"),
    )
    machine.handle(Start(), 0.0)
    trackings = [Tracking("VI_1", weight=-20)]
    seen: list[tuple[bool, int]] = []
    changes: list[tuple[str, bool]] = []
    finished = trio.Event()

    def on_result(name: str, ok: bool, duration: float, result: str) -> None:
        seen.append((ok, machine.effective_priority))
        if len(seen) == 9:
            finished.set()

    def on_change(name: str, up: bool) -> None:
        changes.append((name, up))
        for _, event in script_events(name, up, trackings):
            machine.handle(event, trio.current_time())

    command = ScriptCommand(f"{check} {tmp_path}")
    script = TrackScript("chk", command, interval=0.01, timeout=30, rise=2, fall=3)
    tracker = ScriptTracker(script, on_result=on_result, on_change=on_change)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(tracker.run)
            await finished.wait()
            nursery.cancel_scope.cancel()
    assert [ok for ok, _ in seen] == [True, False, False, True, False, False, False, True, True]
    assert changes == [("chk", True), ("chk", False), ("chk", True)]
    assert machine.effective_priority == 100
    assert [priority for _, priority in seen] == [100, 100, 100, 100, 100, 100, 100, 80, 80]


async def test_init_fail_holds_a_weight_0_instance_in_fault_until_rise_successes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    runner = ScriptedRunner(["success", "success"])
    script = TrackScript("chk", ScriptCommand("/bin/check"), rise=2, init_fail=True)
    machine = VrrpInstance(InstanceSettings(name="VI_1", vrid=51))
    trackings = [Tracking("VI_1", weight=0)]

    def on_change(name: str, up: bool) -> None:
        for _, event in script_events(name, up, trackings):
            machine.handle(event, trio.current_time())

    tracker = ScriptTracker(
        script, on_result=lambda *args: None, on_change=on_change, runner=runner
    )
    assert tracker.up is False
    for _, event in script_events("chk", tracker.up, trackings):
        machine.handle(event, 0.0)
    machine.handle(Start(), 0.0)
    assert machine.state is State.FAULT
    await run_until_exhausted(tracker, runner)
    assert tracker.up is True
    assert machine.state is State.BACKUP


async def test_a_succeeding_script_with_reverse_weight_lowers_the_priority(
    autojump_clock: trio.testing.MockClock,
) -> None:
    runner = ScriptedRunner(["success"])
    machine = VrrpInstance(InstanceSettings(name="VI_1", vrid=51))
    machine.handle(Start(), 0.0)
    trackings = [Tracking("VI_1", weight=10, reverse=True)]

    def on_change(name: str, up: bool) -> None:
        for _, event in script_events(name, up, trackings):
            machine.handle(event, trio.current_time())

    script = TrackScript("chk", ScriptCommand("/bin/check"))
    tracker = ScriptTracker(
        script, on_result=lambda *args: None, on_change=on_change, runner=runner
    )
    assert tracker.up is None
    await run_until_exhausted(tracker, runner)
    assert machine.effective_priority == 90


async def test_a_hanging_script_times_out_is_killed_and_counts_as_a_failure(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pid"
    line = f"sh -c 'echo $$ >{pidfile}; sleep 100 & sleep 100'"
    results: list[tuple[bool, str]] = []
    changes: list[bool] = []
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await trio.sleep(0.01)
            ticks += 1

    script = TrackScript("hang", ScriptCommand(line), interval=60.0, timeout=1.0)
    tracker = ScriptTracker(
        script,
        on_result=lambda name, ok, duration, result: results.append((ok, result)),
        on_change=lambda name, up: changes.append(up),
    )
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick)
            await nursery.start(tracker.run)
            while not results:
                await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
        pgid = int(pidfile.read_text())
        await wait_for_group_gone(pgid)
    assert results == [(False, "timeout")]
    assert changes == [False]
    assert tracker.up is False
    assert ticks > 0
    assert live_group_members(pgid) == []


def test_timeout_defaults_to_the_interval_and_bad_counts_are_rejected() -> None:
    assert TrackScript("chk", ScriptCommand("x"), interval=3.0).run_timeout == 3.0
    assert TrackScript("chk", ScriptCommand("x"), interval=3.0, timeout=1.0).run_timeout == 1.0
    with pytest.raises(ValueError, match="rise and fall"):
        TrackScript("chk", ScriptCommand("x"), rise=0)
    with pytest.raises(ValueError, match="interval"):
        TrackScript("chk", ScriptCommand("x"), interval=0)
