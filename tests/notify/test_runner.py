"""Running one script: how a line is executed, how it ends, and that a timeout kills its group."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from havip.notify.runner import SHELL, RunAs, ScriptCommand, run_command

from .processes import live_group_members, wait_for_file, wait_for_group_gone, write_script


@pytest.mark.parametrize(
    ("line", "needs_shell"),
    [
        ("/usr/local/bin/check_haproxy --quick", False),
        ("pidof haproxy", False),
        ("/bin/check 'a|b' \"c;d\"", False),
        ("echo '$HOME'", False),
        ("/bin/check a#b", False),
        ("killall -0 haproxy || exit 1", True),
        ("cat /proc/loadavg | grep x", True),
        ('echo "$HOME"', True),
        ("echo `date`", True),
        ("[ -f /run/haproxy.pid ]", True),
        ("</dev/tcp/127.0.0.1/80", True),
        ("FOO=1 /bin/check", True),
        ("/bin/check # comment", True),
        ("! /bin/check", True),
        ("/bin/check a!b", False),
        ("/bin/check *.conf", True),
        ("/bin/check 'unclosed", True),
    ],
)
def test_only_lines_with_shell_syntax_go_through_the_shell(line: str, needs_shell: bool) -> None:
    command = ScriptCommand(line)
    assert command.uses_shell is needs_shell
    assert (command.argv()[:2] == [SHELL, "-c"]) is needs_shell


def test_a_plain_line_is_split_with_shell_quoting_and_gets_the_extra_arguments() -> None:
    command = ScriptCommand("/etc/keepalived/notify.sh 'two words' plain")
    assert command.argv(["INSTANCE", "VI 1"]) == [
        "/etc/keepalived/notify.sh",
        "two words",
        "plain",
        "INSTANCE",
        "VI 1",
    ]


async def test_extra_arguments_survive_the_shell_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = ScriptCommand(f"printf '%s|' >{out}")
    outcome = await run_command(command.argv(["INSTANCE", "my vi; rm -rf /", "MASTER"]), 10)
    assert outcome.result == "success"
    assert out.read_text() == "INSTANCE|my vi; rm -rf /|MASTER|"


@pytest.mark.parametrize(
    ("body", "result", "returncode", "detail"),
    [
        ("exit 0\n", "success", 0, "exited with status 0"),
        ("exit 3\n", "failure", 3, "exited with status 3"),
        ("kill -TERM $$\n", "failure", -15, "killed by signal SIGTERM"),
    ],
)
async def test_the_outcome_says_how_the_script_ended(
    tmp_path: Path, body: str, result: str, returncode: int, detail: str
) -> None:
    script = write_script(tmp_path / "check.sh", body)
    outcome = await run_command([str(script)], 10)
    assert (outcome.result, outcome.returncode, outcome.detail) == (result, returncode, detail)
    assert outcome.began <= outcome.ended


async def test_a_script_that_cannot_start_is_an_error_not_an_exception(tmp_path: Path) -> None:
    outcome = await run_command([str(tmp_path / "missing.sh")], 10)
    assert outcome.result == "error"
    assert outcome.pid is None
    assert outcome.detail.startswith("could not start")


async def test_a_hanging_script_is_killed_at_its_timeout_with_its_whole_process_group(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pid"
    hang = ["sh", "-c", f"echo $$ >{pidfile}; sleep 100 & sleep 100"]
    ticks = 0
    outcome = None

    async def tick() -> None:
        nonlocal ticks
        while True:
            await trio.sleep(0.01)
            ticks += 1

    async def hang_until_timeout() -> None:
        nonlocal outcome
        outcome = await run_command(hang, 1.0)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick)
            await hang_until_timeout()
            nursery.cancel_scope.cancel()
        assert outcome is not None
        assert outcome.result == "timeout"
        assert outcome.detail == "timed out after 1s"
        assert outcome.pid == int(pidfile.read_text())
        await wait_for_group_gone(outcome.pid)
    assert ticks > 0
    assert live_group_members(outcome.pid) == []


async def test_cancelling_the_caller_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    hang = ["sh", "-c", f"echo $$ >{pidfile}; sleep 100 & sleep 100"]
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_command, hang, 1000.0)
            pgid = int(await wait_for_file(pidfile))
            assert len(live_group_members(pgid)) >= 2
            nursery.cancel_scope.cancel()
        await wait_for_group_gone(pgid)


async def test_a_script_exiting_normally_keeps_what_it_started_in_the_background(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pid"
    outcome = await run_command(["sh", "-c", f"sleep 100 & echo $! >{pidfile}"], 10)
    background = int(pidfile.read_text())
    try:
        assert outcome.result == "success"
        assert outcome.pid is not None
        assert background in live_group_members(outcome.pid)
    finally:
        os.kill(background, 9)


def test_running_as_ourselves_needs_no_user_switch() -> None:
    assert RunAs(os.geteuid(), os.getegid(), "me").popen_options() == {}
    other = RunAs(os.geteuid() + 1, 4242, "other")
    assert other.popen_options() == {
        "user": os.geteuid() + 1,
        "group": 4242,
        "extra_groups": [4242],
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")
async def test_a_script_runs_as_its_user_and_group_only() -> None:
    check = '[ "$(id -u)" = {0} ] && [ "$(id -g)" = {0} ] && [ "$(id -G)" = {0} ]'
    nobody = RunAs(65534, 65534, "nobody")
    as_nobody = await run_command(ScriptCommand(check.format(65534)).argv(), 10, nobody)
    as_root = await run_command(ScriptCommand(check.format(0)).argv(), 10, nobody)
    assert (as_nobody.result, as_root.result) == ("success", "failure")
