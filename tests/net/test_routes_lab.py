"""Virtual routes in a real kernel: added as havip's, removed only if havip's.

Each case runs `RouteWriter` inside r1's namespace (a script, as the agent runs there) and
reads the result with `ip route`, which is the operator's view.
"""

from __future__ import annotations

import json
import sys
import textwrap

from havip.lab.netns import Host, Lab

WRITE = textwrap.dedent(
    """
    import json, sys
    from ipaddress import ip_address, ip_network
    from havip.config.model import VirtualRoute
    from havip.net.netlink import Netlink
    from havip.net.routes import RouteWriter

    def route(dest, **fields):
        for name in ("via", "source"):
            if name in fields:
                fields[name] = ip_address(fields[name])
        return VirtualRoute(ip_network(dest), **fields)

    ROUTES = [
        route("198.51.100.0/24", via="192.0.2.254", device="eth0", source="192.0.2.1"),
        route("198.51.100.128/25", device="eth0"),
        route("203.0.113.0/24", kind="blackhole"),
        route("0.0.0.0/0", via="192.0.2.254", table=100, metric=5),
        route("2001:db8:1::/48", kind="unreachable"),
        route("203.0.113.0/25", device="missing0"),
    ]
    netlink = Netlink()
    writer = RouteWriter(netlink.ipr, netlink.index)
    op = getattr(writer, sys.argv[1])
    print(json.dumps(op(ROUTES[: int(sys.argv[2])])))
    """
)
ALL = "6"


def write(host: Host, op: str, count: str = ALL) -> tuple[list[str], list[str]]:
    changed, failures = json.loads(host.exec(sys.executable, "-c", WRITE, op, count).stdout)
    return changed, failures


def routes(host: Host, *args: str) -> list[str]:
    """`ip route show` lines (IPv4 main and table 100, IPv6 main), without the kernel's own."""
    lines: list[str] = []
    lines += host.exec("ip", "-4", "route", "show", *args).stdout.splitlines()
    # table 100 exists only while a route is in it
    lines += host.exec(
        "ip", "-4", "route", "show", "table", "100", *args, check=False
    ).stdout.splitlines()
    lines += host.exec("ip", "-6", "route", "show", *args).stdout.splitlines()
    return [" ".join(line.split()) for line in lines if "proto kernel" not in line]


def test_routes_are_added_as_havip_s_and_removed_again(lab: Lab) -> None:
    r1 = lab.hosts["r1"]
    changed, failures = write(r1, "add")
    assert len(changed) == 5
    assert failures == ["203.0.113.0/25 dev missing0: no interface missing0"]
    assert sorted(routes(r1, "proto", "118")) == sorted(
        [
            "198.51.100.0/24 via 192.0.2.254 dev eth0 src 192.0.2.1",
            "198.51.100.128/25 dev eth0 scope link",
            "blackhole 203.0.113.0/24",
            "default via 192.0.2.254 dev eth0 metric 5",
            "unreachable 2001:db8:1::/48 dev lo metric 1024 pref medium",
        ]
    )
    changed, failures = write(r1, "remove")
    assert len(changed) == 5 and len(failures) == 1
    assert routes(r1, "proto", "118") == []


def test_a_route_already_there_counts_as_added_and_is_never_removed(lab: Lab) -> None:
    """The operator's route to the same destination is theirs: havip's removal names its
    own protocol, so the kernel leaves that route alone."""
    r1 = lab.hosts["r1"]
    r1.exec("ip", "route", "add", "198.51.100.0/24", "via", "192.0.2.254", "src", "192.0.2.1")
    changed, failures = write(r1, "add", "1")
    assert (changed, failures) == (["198.51.100.0/24 via 192.0.2.254 dev eth0 src 192.0.2.1"], [])
    assert write(r1, "remove", "1") == ([], [])
    assert routes(r1) == ["198.51.100.0/24 via 192.0.2.254 dev eth0 src 192.0.2.1"]


RULES = textwrap.dedent(
    """
    import json, sys
    from ipaddress import ip_network
    from havip.config.model import VirtualRule
    from havip.net.netlink import Netlink
    from havip.net.routes import RuleWriter
    from havip.proto.model import Family

    RULES = [
        VirtualRule(Family.IPV4, source=ip_network("198.51.100.0/24"), table=100, priority=1000),
        VirtualRule(
            Family.IPV4, destination=ip_network("203.0.113.0/24"), table=254, in_interface="eth0",
            fwmark=16, fwmask=255,
        ),
        VirtualRule(Family.IPV6, destination=ip_network("2001:db8::/32"), action="blackhole"),
    ]
    writer = RuleWriter(Netlink().ipr)
    print(json.dumps(getattr(writer, sys.argv[1])(RULES)))
    """
)


def rules(host: Host, mark: str = "") -> list[str]:
    """`ip rule show` lines (both families) containing `mark`."""
    lines = host.exec("ip", "-4", "rule", "show").stdout.splitlines()
    lines += host.exec("ip", "-6", "rule", "show").stdout.splitlines()
    return [" ".join(line.split()) for line in lines if mark in line]


def test_rules_are_added_as_havip_s_and_only_havip_s_are_removed(lab: Lab) -> None:
    r1 = lab.hosts["r1"]
    r1.exec("ip", "rule", "add", "from", "198.51.100.0/24", "table", "100", "priority", "1000")
    changed, failures = json.loads(r1.exec(sys.executable, "-c", RULES, "add").stdout)
    assert (len(changed), failures) == (3, [])
    held = rules(r1, "proto 118")
    assert "1000: from 198.51.100.0/24 lookup 100 proto 118" in held
    assert [line.split(": ", 1)[1] for line in held] == [  # the kernel chose the others' places
        "from 198.51.100.0/24 lookup 100 proto 118",
        "from all to 203.0.113.0/24 fwmark 0x10/0xff iif eth0 lookup main proto 118",
        "from all to 2001:db8::/32 blackhole proto 118",
    ]
    changed, failures = json.loads(r1.exec(sys.executable, "-c", RULES, "remove").stdout)
    assert (len(changed), failures) == (3, [])
    assert rules(r1, "proto 118") == []
    assert "1000: from 198.51.100.0/24 lookup 100" in rules(r1)  # the operator's own
