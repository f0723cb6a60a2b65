"""A restart after SIGKILL leaves no stale VIP, on any kernel, even one no longer configured.

havip runs here with its IFA_PROTO tag turned off (what kernels before 6.1 make of it), so the
VIP record under the router's work directory is the only thing that can find its leftovers.
The control run, with the record off too, shows the leftover the record removes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab
from havip.lab.processes import Router, start_havip, wait_for

pytestmark = pytest.mark.netns

UNTAGGED_HAVIP = (
    sys.executable,
    "-c",
    "import sys; import havip.net.netlink as netlink; netlink.ADDRESS_TAG = None; "
    "from havip.cli import main; sys.exit(main(sys.argv[1:]))",
)
KEPT, DROPPED = "192.0.2.100", "192.0.2.101"
BEFORE = RouterSpec(priority=150, vips=(f"{KEPT}/24", f"{DROPPED}/24"))
AFTER = RouterSpec(priority=150, vips=(f"{KEPT}/24",))


def start(host: Host, spec: RouterSpec, workdir: Path, *extra: str) -> Router:
    return start_havip(host, keepalived_conf(spec), workdir, *extra, command=UNTAGGED_HAVIP)


def kill_master_then_restart_without_a_vip(
    lab: Lab, tmp_path: Path, *extra: str
) -> tuple[set[str], Router]:
    """r1 holds both VIPs, is SIGKILLed, and restarts with DROPPED gone from its config."""
    host = lab.add_host("r1", "192.0.2.1/24")
    first = start(host, BEFORE, tmp_path / "first", *extra)
    try:
        wait_for(lambda: {KEPT, DROPPED} <= host.addresses_on(), 15, "r1 to hold both VIPs")
    finally:
        first.kill()  # no chance to release anything
    assert {KEPT, DROPPED} <= host.addresses_on()
    second = start(host, AFTER, tmp_path / "second", *extra)
    wait_for(lambda: "Entering MASTER STATE" in second.log_text(), 15, "r1 to be master again")
    return host.addresses_on(), second


def test_the_record_removes_a_vip_the_new_config_no_longer_has(lab: Lab, tmp_path: Path) -> None:
    record = str(tmp_path / "vips.json")
    addresses, second = kill_master_then_restart_without_a_vip(
        lab, tmp_path, "--vip-record", record
    )
    try:
        assert KEPT in addresses
        assert DROPPED not in addresses, second.log_text()
        assert f"removing leftover VIPs ['{KEPT}', '{DROPPED}'] recorded" in second.log_text()
    finally:
        second.stop()


def test_without_the_record_an_untagged_leftover_stays(lab: Lab, tmp_path: Path) -> None:
    """The control: proves the tag is really off and that the record is what removes it."""
    addresses, second = kill_master_then_restart_without_a_vip(lab, tmp_path, "--vip-record", "off")
    try:
        assert {KEPT, DROPPED} <= addresses
    finally:
        second.stop()
