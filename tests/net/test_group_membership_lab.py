"""A VRRP socket's extra group memberships in a real kernel: counted joins, one report.

The kernel's own table (/proc/net/igmp6) is the witness: the solicited-node group is listed
on eth0 while any caller still wants it, and gone once the last one leaves.
"""

from __future__ import annotations

import json
import sys
import textwrap

from havip.lab.netns import Lab

MEMBERSHIP = textwrap.dedent(
    """
    import json, socket
    from ipaddress import IPv6Address
    from pathlib import Path
    from havip.net.vmac import solicited_node_group
    from havip.net.vrrpsock import VrrpSocket
    from havip.proto.model import VRRP_MCAST_GROUP6, Family

    group = solicited_node_group(IPv6Address("2001:db8::100"))
    listed = group.exploded.replace(":", "")

    def member():
        return any(
            line.split()[1] == "eth0" and line.split()[2] == listed
            for line in Path("/proc/net/igmp6").read_text().splitlines()
        )

    sock = VrrpSocket("eth0", socket.if_nametoindex("eth0"), Family.IPV6, VRRP_MCAST_GROUP6)
    seen = [member()]
    sock.join(group)
    sock.join(group)
    seen.append(member())
    sock.leave(group)
    seen.append(member())
    sock.leave(group)
    seen.append(member())
    print(json.dumps([str(group), seen]))
    """
)


def test_a_group_is_left_only_when_every_join_has_left(lab: Lab) -> None:
    out = lab.hosts["r1"].exec(sys.executable, "-c", MEMBERSHIP).stdout
    assert json.loads(out) == ["ff02::1:ff00:100", [False, True, True, False]]
