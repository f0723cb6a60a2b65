"""VIP changes through rtnetlink, in a namespace of the test's own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from havip.lab.netns import Host, Lab, netns_unavailable_reason

UNAVAILABLE = netns_unavailable_reason()

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from ipaddress import ip_interface
    from havip.net.netlink import HAVIP_ADDRESS_PROTO, Netlink, VipSpec
    netlink = Netlink()
    link = netlink.link("eth0")
    vips = [VipSpec(ip_interface("192.0.2.100/24"), "eth0", label="eth0:vip"),
            VipSpec(ip_interface("2001:db8::100/64"), "eth0"),
            VipSpec(ip_interface("192.0.2.200/24"), "eth0")]
    steps = {}
    steps["add"] = netlink.add(link.index, vips)
    steps["add_again"] = netlink.add(link.index, vips[:1])
    steps["tagged"] = sorted(str(a) for a in netlink.tagged(link.index))
    steps["labels"] = [m.get_attr("IFA_LABEL") for m in netlink.ipr.get_addr(index=link.index)
                       if m.get_attr("IFA_ADDRESS") == "192.0.2.100"]
    steps["release"] = netlink.release(link.index, vips)
    netlink.add(link.index, vips[:1])
    steps["leftovers"] = Netlink().remove_leftovers(link.index, vips)
    steps["tagged_after"] = sorted(str(a) for a in netlink.tagged(link.index))
    print(json.dumps(steps))
    """
)


@pytest.fixture
def host() -> Iterator[Host]:
    if UNAVAILABLE is not None:
        pytest.skip(f"this machine cannot run namespace labs: {UNAVAILABLE}")
    with Lab() as lab:
        yield lab.add_host("r1", "192.0.2.1/24")


def test_vips_are_tagged_labelled_and_only_ours_are_released(host: Host) -> None:
    host.exec("ip", "addr", "add", "192.0.2.200/24", "dev", "eth0")  # the operator's own
    out = subprocess.run(
        ["ip", "netns", "exec", host.namespace, sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    steps = json.loads(out)
    assert steps["add"] == [["192.0.2.100", "2001:db8::100", "192.0.2.200"], []]
    assert steps["add_again"] == [["192.0.2.100"], []]  # already there: nothing to do
    assert steps["tagged"] == ["192.0.2.100", "2001:db8::100"]  # the operator's is not ours
    assert steps["labels"] == ["eth0:vip"]
    assert steps["release"] == [["192.0.2.100", "2001:db8::100"], []]
    assert steps["leftovers"] == [["192.0.2.100"], []]  # found by its tag by a new process
    assert steps["tagged_after"] == []
    assert "192.0.2.200" in host.addresses_on()


UNTAGGED_RUN = textwrap.dedent(
    """
    import json, sys
    from ipaddress import ip_interface
    from pathlib import Path
    import havip.net.netlink as netlink_module
    from havip.net.netlink import Netlink, VipSpec
    from havip.net.viprecord import VipRecord
    netlink_module.ADDRESS_TAG = None  # what a kernel before 6.1 makes of the tag
    step, record = sys.argv[1], VipRecord(Path(sys.argv[2]))
    configured = [VipSpec(ip_interface("192.0.2.100/24"), "eth0"),
                  VipSpec(ip_interface("2001:db8::100/64"), "eth0")]
    dropped = VipSpec(ip_interface("192.0.2.101/24"), "eth0")  # gone from the next config
    netlink = Netlink(record)
    index = netlink.link("eth0").index
    if step == "crash":
        print(json.dumps({"add": netlink.add(index, [*configured, dropped]),
                          "tagged": sorted(str(a) for a in netlink.tagged(index))}))
        # exits without releasing anything, as after SIGKILL
    else:
        print(json.dumps({"by_tag": netlink.remove_leftovers(index, configured),
                          "by_record": netlink.remove_recorded(),
                          "recorded_after": [str(v.interface) for v in record.load()]}))
    """
)


def run_untagged(host: Host, step: str, record: str) -> dict[str, list[object]]:
    out = subprocess.run(
        ["ip", "netns", "exec", host.namespace, sys.executable, "-c", UNTAGGED_RUN, step, record],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, list[object]] = json.loads(out.stdout)
    return result


def test_without_the_tag_the_record_removes_every_leftover_vip_even_unconfigured(
    host: Host, tmp_path: Path
) -> None:
    host.exec("ip", "addr", "add", "192.0.2.200/24", "dev", "eth0")  # the operator's own
    record = str(tmp_path / "vips.json")
    crashed = run_untagged(host, "crash", record)
    assert crashed["add"] == [["192.0.2.100", "2001:db8::100", "192.0.2.101"], []]
    assert crashed["tagged"] == []  # the tag path is really off
    assert {"192.0.2.100", "2001:db8::100", "192.0.2.101"} <= host.addresses_on()
    restarted = run_untagged(host, "restart", record)
    assert restarted["by_tag"] == [[], []]  # without the tag, nothing is recognised
    assert sorted(restarted["by_record"][0]) == ["192.0.2.100", "192.0.2.101", "2001:db8::100"]
    assert restarted["recorded_after"] == []
    left = host.addresses_on()
    assert not {"192.0.2.100", "2001:db8::100", "192.0.2.101"} & left
    assert "192.0.2.200" in left
