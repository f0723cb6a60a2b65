"""virtual_routes lines, read as keepalived reads them (its man page's examples first)."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_address, ip_network

import pytest

from havip.config import LoadedConfig, VirtualRoute

Load = Callable[[str], LoadedConfig]
Errors = Callable[[str], list[tuple[int, str]]]


def _conf(*routes: str) -> str:
    lines = "".join(f"        {route}\n" for route in routes)
    return (
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        "    virtual_ipaddress {\n        192.0.2.10\n    }\n"
        f"    virtual_routes {{\n{lines}    }}\n}}\n"
    )


def _routes(load: Load, *routes: str) -> tuple[VirtualRoute, ...]:
    [instance] = load(_conf(*routes)).instances
    return instance.virtual_routes


def test_the_man_page_examples_read_as_ip_route_would_print_them(load_text: Load) -> None:
    routes = _routes(
        load_text,
        "src 192.0.2.10 to 198.51.100.0/24 via 192.0.2.254 dev eth1",
        "203.0.113.0/24 via 192.0.2.254 dev eth1",
        "203.0.113.64/26 dev eth2 no_track",
        "blackhole 198.51.100.128/25",
        "0.0.0.0/0 gw 192.0.2.1 table 100",
    )
    assert [str(route) for route in routes] == [
        "198.51.100.0/24 via 192.0.2.254 dev eth1 src 192.0.2.10",
        "203.0.113.0/24 via 192.0.2.254 dev eth1",
        "203.0.113.64/26 dev eth2",
        "blackhole 198.51.100.128/25",
        "default via 192.0.2.1 table 100",
    ]
    assert routes[0] == VirtualRoute(
        ip_network("198.51.100.0/24"),
        via=ip_address("192.0.2.254"),
        device="eth1",
        source=ip_address("192.0.2.10"),
    )


def test_options_and_their_aliases(load_text: Load) -> None:
    [route, ipv6] = _routes(
        load_text,
        "198.51.100.0/24 oif eth1 priority 10 table main scope link onlink",
        "default via inet6 2001:db8::1 preference 5",
    )
    assert (route.device, route.metric, route.table, route.scope) == ("eth1", 10, 254, "link")
    assert route.onlink
    assert ipv6.destination == ip_network("::/0") and ipv6.metric == 5


def test_a_route_listed_twice_warns_and_counts_once(load_text: Load) -> None:
    text = _conf("198.51.100.0/24 dev eth1", "198.51.100.0/24 dev eth1")
    config = load_text(text)
    assert len(config.instances[0].virtual_routes) == 1
    assert [(w.location.line, w.message) for w in config.warnings] == [
        (9, "route 198.51.100.0/24 dev eth1 is listed twice; the first one is used")
    ]


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("198.51.100.0/24", "a route needs 'via ADDRESS' or 'dev INTERFACE'"),
        ("blackhole 198.51.100.0/24 dev eth1", "a blackhole route takes neither via nor dev"),
        ("198.51.100.1/24 dev eth1", "destination '198.51.100.1/24': 198.51.100.1/24 has host"),
        ("198.51.100.0/24 via 2001:db8::1", "cannot mix IPv4 and IPv6 in one virtual route"),
        ("198.51.100.0/24 via nowhere", "via 'nowhere' is not an IP address"),
        ("198.51.100.0/24 dev eth1 table blue", "table 'blue': expected a number from 1 to"),
        ("198.51.100.0/24 dev eth1 scope far", "scope: expected one of global, host, link"),
        ("198.51.100.0/24 dev eth1 mtu 1400", "'mtu' (route metrics) is not implemented by"),
        ("198.51.100.0/24 via 192.0.2.1 or 192.0.2.2", "'or' (multipath routes) is not"),
        ("198.51.100.0/24 dev eth1 metrik 5", "unknown route option 'metrik' (did you mean"),
        ("198.51.100.0/24 dev", "dev: expected a value after it"),
        ("via 192.0.2.1", "expected a destination (ADDRESS/PREFIX or default)"),
    ],
)
def test_a_bad_route_is_an_error_at_its_line(errors_of: Errors, route: str, message: str) -> None:
    [(line, said)] = errors_of(_conf(route))
    assert line == 8
    assert said.startswith("virtual route: ") and message in said, said
