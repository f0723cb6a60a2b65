"""virtual_rules lines, read as keepalived reads them (its man page's examples first)."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network

import pytest

from havip.config import LoadedConfig, VirtualRule
from havip.proto.model import Family

Load = Callable[[str], LoadedConfig]
Errors = Callable[[str], list[tuple[int, str]]]


def _conf(*rules: str) -> str:
    lines = "".join(f"        {rule}\n" for rule in rules)
    return (
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        "    virtual_ipaddress {\n        192.0.2.10\n    }\n"
        f"    virtual_rules {{\n{lines}    }}\n}}\n"
    )


def _rules(load: Load, *rules: str) -> tuple[VirtualRule, ...]:
    [instance] = load(_conf(*rules)).instances
    return instance.virtual_rules


def test_the_man_page_examples_read_as_ip_rule_would_print_them(load_text: Load) -> None:
    rules = _rules(load_text, "from 198.51.100.0/24 table 1", "to 198.51.100.0/24 table 1 no_track")
    assert [str(rule) for rule in rules] == [
        "from 198.51.100.0/24 lookup 1",
        "from all to 198.51.100.0/24 lookup 1",
    ]
    assert rules[0] == VirtualRule(Family.IPV4, source=ip_network("198.51.100.0/24"), table=1)


def test_options_aliases_and_defaults(load_text: Load) -> None:
    [selective, ipv6, dropped] = _rules(
        load_text,
        "from all to 203.0.113.0/24 iif eth1 oif eth2 fwmark 0x10/0xff lookup 100 order 40",
        "from 2001:db8::/32 dev eth1",
        "to 198.51.100.0/25 priority 7 blackhole",
    )
    assert (selective.in_interface, selective.out_interface) == ("eth1", "eth2")
    assert (selective.fwmark, selective.fwmask, selective.table, selective.priority) == (
        16,
        255,
        100,
        40,
    )
    assert str(selective) == (
        "from all to 203.0.113.0/24 fwmark 0x10/0xff iif eth1 oif eth2 lookup 100 priority 40"
    )
    assert (ipv6.family, ipv6.table, ipv6.in_interface) == (6, 254, "eth1")  # main, as ip rule
    assert (dropped.action, dropped.table, str(dropped)) == (
        "blackhole",
        None,
        "from all to 198.51.100.0/25 blackhole priority 7",
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("from 198.51.100.1/24 table 1", "from '198.51.100.1/24': 198.51.100.1/24 has host"),
        ("from 198.51.100.0/24 to 2001:db8::/32", "cannot mix IPv4 and IPv6 in one virtual rule"),
        ("from 198.51.100.0/24 table 1 goto 40", "'goto' (jumps to another rule) is not"),
        ("from 198.51.100.0/24 uidrange 1-9", "'uidrange' (rules by user) is not implemented"),
        ("from 198.51.100.0/24 fwmark x", "fwmark 'x': expected N or N/MASK"),
        ("to 198.51.100.0/24 table 5 prohibit", "a prohibit rule looks up no table"),
        ("to 198.51.100.0/24 lookup", "lookup: expected a value after it"),
        ("from 198.51.100.0/24 tabel 1", "unknown rule option 'tabel' (did you mean 'table'?)"),
    ],
)
def test_a_bad_rule_is_an_error_at_its_line(errors_of: Errors, rule: str, message: str) -> None:
    [(line, said)] = errors_of(_conf(rule))
    assert line == 8
    assert said.startswith("virtual rule: ") and message in said, said
