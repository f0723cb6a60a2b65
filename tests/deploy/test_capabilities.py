"""Scripts that run as another user work with exactly the capabilities the shipped unit and
DaemonSet grant, and not with the network pair alone.

Each case runs havip's own script runner in a child process whose capability bounding set is
the one read from the deploy file (`setpriv --bounding-set`), as root, which is how both run
havip: root keeps only what the bounding set allows. The script checks that it really runs as
nobody.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "systemd" / "havip.service"
DAEMONSET = REPO / "deploy" / "kubernetes" / "havip-daemonset.yaml"
SETPRIV = shutil.which("setpriv")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users"),
    pytest.mark.skipif(SETPRIV is None, reason="setpriv is missing (Debian package util-linux)"),
]

RUN_AS_NOBODY = textwrap.dedent(
    """
    import trio
    from havip.notify.runner import RunAs, ScriptCommand, run_command
    async def main() -> None:
        check = ScriptCommand('[ "$(id -u)" = 65534 ] && [ "$(id -g)" = 65534 ]')
        outcome = await run_command(check.argv(), 10, RunAs(65534, 65534, "nobody"))
        print(outcome.result, outcome.detail)
    trio.run(main)
    """
)


def unit_capabilities() -> set[str]:
    for line in UNIT.read_text().splitlines():
        if line.startswith("CapabilityBoundingSet="):
            return {cap.removeprefix("CAP_").lower() for cap in line.split("=", 1)[1].split()}
    raise AssertionError("the unit sets no CapabilityBoundingSet")


def daemonset_capabilities() -> set[str]:
    daemonset = yaml.safe_load(DAEMONSET.read_text())
    (container,) = daemonset["spec"]["template"]["spec"]["containers"]
    return {cap.lower() for cap in container["securityContext"]["capabilities"]["add"]}


def run_as_nobody_with(capabilities: set[str]) -> str:
    assert SETPRIV is not None
    bounding = ",".join(["-all", *(f"+{cap}" for cap in sorted(capabilities))])
    done = subprocess.run(
        [SETPRIV, f"--bounding-set={bounding}", "--inh-caps=-all", "--",
         sys.executable, "-c", RUN_AS_NOBODY],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("source", [unit_capabilities, daemonset_capabilities])
def test_a_script_runs_as_another_user_with_the_shipped_capabilities(source: object) -> None:
    capabilities = source()  # type: ignore[operator]
    assert run_as_nobody_with(capabilities) == "success exited with status 0"


@pytest.mark.parametrize("missing", [{"setuid", "setgid"}, {"setuid"}, {"setgid"}])
def test_without_either_user_switching_capability_it_cannot_start(missing: set[str]) -> None:
    """The control: the unit's old set (network only) fails, and so does each half: both are
    needed, none is spare."""
    outcome = run_as_nobody_with(unit_capabilities() - missing)
    assert outcome.startswith("error could not start: [Errno 1] Operation not permitted")


def test_the_shipped_sets_add_nothing_beyond_network_and_user_switching() -> None:
    expected = {"net_admin", "net_raw", "setuid", "setgid"}
    assert unit_capabilities() == expected
    assert daemonset_capabilities() == expected
