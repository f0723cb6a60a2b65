"""accept / no_accept with keepalived's nftables drop rules, on the wire.

r1 (priority 150) is a master that does not own its VIP; r2 (100) is its backup. In
no_accept mode a client's pings to the VIP reach r1 and are dropped by the `keepalived`
table; in accept mode they are answered. The tables are gone once havip stops.
"""

from __future__ import annotations

import json

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab
from havip.lab.processes import wait_for

from .conftest import Routers, client_reaches, wait_single_holder

VIP = "192.0.2.100"
VIP6 = "2001:db8::100"
ADVERT_INT = 1.0
SET_WAIT = 5 * ADVERT_INT
"""havip fills the set right after adding the VIPs: well within a few advert intervals."""


def ruleset(host: Host) -> list[dict[str, object]]:
    out = host.exec("nft", "-j", "list", "ruleset").stdout
    return list(json.loads(out)["nftables"])


def vips_in_set(host: Host, family: str) -> list[str]:
    for item in ruleset(host):
        found = item.get("set")
        if isinstance(found, dict) and found["family"] == family and found["name"] == "vips":
            return [str(e) for e in found.get("elem", [])]
    return []


def drops_counted(host: Host) -> int:
    total = 0
    for item in ruleset(host):
        rule = item.get("rule")
        if isinstance(rule, dict) and rule["chain"] == "in":
            exprs = rule["expr"]
            if {"drop": None} in exprs:
                total += sum(e["counter"]["packets"] for e in exprs if "counter" in e)
    return total


def build(lab: Lab) -> tuple[Host, Host, Host]:
    hosts = [
        lab.add_host(name, v4, v6)
        for name, v4, v6 in (
            ("r1", "192.0.2.1/24", "2001:db8::1/64"),
            ("r2", "192.0.2.2/24", "2001:db8::2/64"),
            ("client", "192.0.2.50/24", "2001:db8::50/64"),
        )
    ]
    return hosts[0], hosts[1], hosts[2]


@pytest.mark.parametrize("mode", ["no_accept", "accept"])
def test_a_non_owner_master_drops_vip_traffic_only_without_accept_mode(
    lab: Lab, routers: Routers, mode: str
) -> None:
    r1, r2, client = build(lab)
    common = {
        "version": 3,
        "advert_int": ADVERT_INT,
        "extra": (mode,),
        "global_extra": ("nftables_counters",),
    }
    v4 = RouterSpec(priority=150, **common)  # type: ignore[arg-type]
    v6 = RouterSpec(priority=150, instance="VI_6", vrid=52, vips=(f"{VIP6}/64",), **common)  # type: ignore[arg-type]
    master = routers.havip(r1, keepalived_conf(v4, v6))
    routers.havip(r2, keepalived_conf(RouterSpec(priority=100, version=3)))
    wait_single_holder(lab, VIP, ["r1", "r2"], "r1", timeout=15)
    wait_single_holder(lab, VIP6, ["r1"], "r1", timeout=15)
    if mode == "no_accept":
        # the drop rules' set follows the addresses, a moment after them
        wait_for(
            lambda: (vips_in_set(r1, "ip"), vips_in_set(r1, "ip6")) == ([VIP], [VIP6]),
            SET_WAIT,
            f"r1's nftables vips sets to hold {VIP} and {VIP6}",
            observed=lambda: (vips_in_set(r1, "ip"), vips_in_set(r1, "ip6")),
        )
        assert not client_reaches(lab, "client", VIP)
        assert not client_reaches(lab, "client", VIP6)
        neighbour = client.exec("ip", "-6", "neigh", "show", VIP6).stdout
        assert "lladdr" in neighbour  # neighbour discovery still resolves the VIP
        assert drops_counted(r1) >= 2
    else:
        assert ruleset(r1) == [item for item in ruleset(r1) if "metainfo" in item]  # no tables
        assert client_reaches(lab, "client", VIP)
        assert client_reaches(lab, "client", VIP6)
    master.stop()
    assert [item for item in ruleset(r1) if "table" in item] == []  # removed on stop
    wait_single_holder(lab, VIP, ["r1", "r2"], "r2", timeout=15)
    assert client_reaches(lab, "client", VIP)  # r2 is in accept mode (the default)
