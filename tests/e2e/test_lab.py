"""`havip lab`: the drill runs to its summary, its numbers are measured, and it leaves nothing.

Each lab runs as the newcomer runs it (`python -m havip lab`, a subprocess). While it runs,
the test records the inode of every network namespace it built; afterwards no namespace with
its prefix may be listed and no process may still live in any of those namespaces (a process
keeps a deleted namespace alive, so this finds every daemon, pinger or Prometheus it started).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from havip.commands import lab as lab_command
from havip.lab.drill import Outage, Reply, largest_gap
from havip.lab.processes import keepalived_path, prometheus_path
from havip.lab.timeline import INFERRED_REASON
from havip.lab.view import PlainView, RouterRow, TerminalView

from .conftest import NETNS_UNAVAILABLE

NAMESPACES_LINE = re.compile(r"^lab: namespaces (hvlab\d+x\d+)-")
WORKDIR_LINE = re.compile(r"^lab: configurations and logs in (\S+)$")
OUTAGE_CELL = re.compile(r"(\d+) ms \((\d+) probes lost\)")
NO_OUTAGE_CELL = re.compile(r"none \(largest gap (\d+) ms\)")
RECORDED_CELL = re.compile(r"\s(\d+) ms(?: \(on (r\d), which r3 then preempted\))?$")
NETNS_DIR = Path("/var/run/netns")

needs_netns = pytest.mark.skipif(
    NETNS_UNAVAILABLE is not None,
    reason=f"this machine cannot run namespace labs: {NETNS_UNAVAILABLE}",
)


class LabRun:
    """`havip lab` as a subprocess, its output read line by line as it comes.

    Started as a shell starts a background job, with SIGINT ignored: `havip lab` must still
    stop on SIGINT (Python keeps an inherited SIG_IGN unless told otherwise).
    """

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "havip", "lab", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        self.lines: list[str] = []
        self.namespace_inodes: dict[str, int] = {}
        self.prefix: str | None = None
        self.workdir: str | None = None
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            if (match := NAMESPACES_LINE.match(line)) is not None:
                # Recorded while the lab is up: these are the namespaces to look into later.
                self.prefix = match.group(1)
                self.namespace_inodes = namespace_inodes(self.prefix)
            if (match := WORKDIR_LINE.match(line)) is not None:
                self.workdir = match.group(1)
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for_line(self, pattern: str, timeout: float) -> None:
        regex = re.compile(pattern)
        with self._changed:
            found = self._changed.wait_for(
                lambda: (
                    any(regex.search(line) for line in self.lines)
                    or self.process.poll() is not None
                ),
                timeout,
            )
        assert found and any(regex.search(line) for line in self.lines), self.output

    def finish(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGINT)  # let it clean up before failing
            self.process.wait(30)
            pytest.fail(f"havip lab did not finish within {timeout:g} s:\n{self.output}")
        self._reader.join(5)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def summary_row(self, step: str) -> str:
        rows = [line for line in self.lines if re.match(rf"^{step}\s{{2,}}", line)]
        assert len(rows) == 1, f"no single summary row for {step}:\n{self.output}"
        return rows[0]


def namespace_inodes(prefix: str) -> dict[str, int]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in listed.splitlines() if line.startswith(prefix + "-")]
    return {name: (NETNS_DIR / name).stat().st_ino for name in names}


def processes_in_namespaces(inodes: set[int]) -> list[str]:
    """Every process whose network namespace is one of `inodes`, as 'PID command'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            link = os.readlink(entry / "ns" / "net")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # it ended while we looked
        if int(link.removeprefix("net:[").removesuffix("]")) in inodes:
            found.append(f"{entry.name} {command}")
    return found


def assert_nothing_left(run: LabRun) -> None:
    assert run.prefix is not None and run.namespace_inodes, run.output
    assert {"client", "r1", "r2", "r3", "sw"} <= {
        name.removeprefix(run.prefix + "-") for name in run.namespace_inodes
    }
    assert namespace_inodes(run.prefix) == {}, "namespaces left behind"
    assert processes_in_namespaces(set(run.namespace_inodes.values())) == []
    assert run.workdir is not None and not Path(run.workdir).exists()


@pytest.fixture
def finished_runs() -> Iterator[list[LabRun]]:
    """Runs still alive when a test ends (it failed early) are interrupted and cleaned up."""
    runs: list[LabRun] = []
    yield runs
    for run in runs:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            run.process.wait(30)


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize(
    ("options", "timeout"),
    [
        pytest.param((), 120, id="vrrpv2-1s-pass"),
        pytest.param(("--fast",), 60, id="vrrpv3-50ms"),
        pytest.param(("--fast", "--ipv6"), 60, id="vrrpv3-50ms-ipv6"),
    ],
)
def test_once_runs_the_drill_prints_the_summary_and_removes_the_lab(
    finished_runs: list[LabRun], options: tuple[str, ...], timeout: float
) -> None:
    run = LabRun("--once", *options)
    finished_runs.append(run)
    assert run.finish(timeout) == 0, run.output

    assert "r1 (priority 150) elected" in run.summary_row("election")
    failover = run.summary_row("failover")
    assert "r1's link cut; r3 took over" in failover
    outage = OUTAGE_CELL.search(failover)
    assert outage is not None, failover
    assert int(outage.group(1)) > 0 and int(outage.group(2)) > 0
    # r3's own, or r2's when r2's master-down timer fired first and r3 then preempted it
    recorded = RECORDED_CELL.search(failover)
    assert recorded is not None, "havip's own failover duration is missing"
    assert recorded.group(2) in (None, "r2"), failover
    handoff = run.summary_row("handoff")
    # A priority-0 handoff is short (Skew_Time): the probes may see no loss at all, and a
    # busy machine may delay replies rather than lose them; the row must give the client's
    # view either way.
    assert "SIGTERM to r1" in handoff, handoff
    assert OUTAGE_CELL.search(handoff) or NO_OUTAGE_CELL.search(handoff), handoff
    # r3's own again, or r2's: Skew_Time separates them by a few ms, which a busy machine
    # can erase, and r3 then preempts r2
    recorded = RECORDED_CELL.search(handoff)
    assert recorded is not None, "havip's own handoff duration is missing"
    assert recorded.group(2) in (None, "r2"), handoff
    assert "r1 preempted r3" in run.summary_row("preemption")
    assert "r1 restarted" in run.summary_row("rejoin")
    assert "http://127.0.0.1:" in run.output and "/metrics" in run.output
    assert run.lines[-1].startswith("lab removed:"), run.output
    assert_nothing_left(run)


@needs_netns
@pytest.mark.netns
@pytest.mark.keepalived
@pytest.mark.prometheus
@pytest.mark.skipif(keepalived_path() is None, reason="keepalived is not installed")
@pytest.mark.skipif(prometheus_path() is None, reason="prometheus is not installed")
def test_keepalived_router_and_prometheus_join_the_lab(
    finished_runs: list[LabRun], tmp_path: Path
) -> None:
    report = tmp_path / "drill.html"
    run = LabRun("--once", "--fast", "--keepalived", "--prometheus", "--report", str(report))
    finished_runs.append(run)
    assert run.finish(60) == 0, run.output
    # keepalived has no /status and logs no trace ids: the report reads its states from the VIP
    assert INFERRED_REASON in report.read_text()

    failover = run.summary_row("failover")
    assert "r3 took over" in failover and "n/a (keepalived)" in failover
    assert OUTAGE_CELL.search(failover) is not None, failover
    assert "r3 (keepalived): no /metrics" in run.output
    prometheus = next(line for line in run.lines if line.strip().startswith("Prometheus:"))
    assert "2/2 targets up" in prometheus and "havip.rules.yml" in prometheus, prometheus
    assert "monitor" in {name.rsplit("-", 1)[-1] for name in run.namespace_inodes}
    assert_nothing_left(run)


@needs_netns
@pytest.mark.netns
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_drill_removes_everything(
    finished_runs: list[LabRun], signum: signal.Signals
) -> None:
    run = LabRun("--fast")
    finished_runs.append(run)
    run.wait_for_line(r"^== failover", timeout=60)
    run.process.send_signal(signum)
    assert run.finish(30) == 128 + signum, run.output
    assert "removing the lab" in run.output
    assert "Drill summary" not in run.output
    assert_nothing_left(run)


def test_without_root_it_says_how_to_run_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    parser = argparse.ArgumentParser()
    lab_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["lab", "--once"])
    problem = lab_command.why_unavailable(args)
    assert problem is not None and "root" in problem and "sudo scripts/lab" in problem


def test_the_outage_is_the_largest_gap_between_replies_around_the_action() -> None:
    replies = [Reply(10.00, 1), Reply(10.01, 2), Reply(10.02, 3), Reply(10.50, 51)]
    replies += [Reply(10.51, 52), Reply(11.50, 53)]  # a later, longer gap outside the window
    outage = largest_gap(replies, since=10.015, until=10.505)
    assert outage == Outage(last_reply=10.02, first_reply=10.50, lost=47)
    assert outage.seconds == pytest.approx(0.48)


def test_no_outage_is_reported_without_replies_on_both_sides_of_the_action() -> None:
    replies = [Reply(10.00, 1), Reply(10.01, 2)]
    assert largest_gap(replies, since=10.02, until=11.0) is None  # never came back
    assert largest_gap(replies, since=9.0, until=11.0) is None  # no service before


def row(state: str, adverts: str) -> RouterRow:
    return RouterRow("r1", "havip", state, "150/150", "r1", True, adverts, "-")


def test_the_terminal_view_redraws_its_block_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    stream = io.StringIO()
    view = TerminalView(stream, "havip lab")
    view.headline("failover")
    view.show([row("MASTER", "1/0")])  # headline, column header, one row: three lines
    drawn = stream.getvalue()
    view.say("failover: r3 took over")
    view.show([row("MASTER", "2/0")])
    redrawn = stream.getvalue()[len(drawn) :]
    assert redrawn.startswith("\x1b[3F\x1b[J" + "failover: r3 took over\n")
    assert redrawn.count("\x1b[3F\x1b[J") == 2  # erased before the said line and the new rows
    assert redrawn.endswith("2/0                -\n")
    view.close()
    assert stream.getvalue().endswith("\x1b[3F\x1b[J")  # the table is gone, said lines stay


def test_the_plain_view_prints_the_table_again_only_when_a_state_changes() -> None:
    stream = io.StringIO()
    view = PlainView(stream, "havip lab")
    view.show([row("BACKUP", "0/1")])
    view.show([row("BACKUP", "0/2")])  # only a counter moved: no new table
    view.show([row("MASTER", "1/2")])
    tables = [line for line in stream.getvalue().splitlines() if "ROUTER" in line]
    assert len(tables) == 2
    assert "\x1b" not in stream.getvalue()


def test_the_terminal_view_erases_the_rows_a_wrapped_line_took(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    stream = io.StringIO()
    view = TerminalView(stream, "havip lab")
    view.show([row("MASTER", "1/0")])
    view.show([row("MASTER", "2/0")])
    # The headline takes 1 row, the 84-character column header 3 and the 72-character row 2.
    assert "\x1b[6F\x1b[J" in stream.getvalue()
