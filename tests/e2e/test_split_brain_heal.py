"""Two masters meeting again: the winner takes its clients back at once (garp_lower_prio_repeat).

r1 (havip, priority 150) and r2 (100) cannot hear each other (the lab's switch drops VRRP:
havip's ring and frames pass below a router's own netfilter hooks),
so both become master; r2 comes up last, so its gratuitous ARPs are the client's last word and
the client's neighbour entry for the VIP holds r2's MAC. When VRRP flows again, r1 hears a
lower-priority master and announces its VIP again (keepalived's default, 5 gratuitous ARPs),
so the client's entry holds r1's MAC within a second, instead of pointing at a router without
the VIP until the entry goes stale.
If r2 hears r1 first, it steps down without a word (RFC 5798 6.4.3) and r1 never learns there
were two masters; `higher_prio_send_advert` on r2 is the answer (one last advert as it steps
down), so both routers have it here and either order ends the same way.
The loser is havip in one case and keepalived 2.x in the other.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Host, Lab
from havip.lab.processes import wait_for

from .conftest import Routers, client_reaches, holders

VIP = "192.0.2.100"
BLOCK_VRRP = (
    "add table bridge split; "
    "add chain bridge split forward { type filter hook forward priority 0; }; "
    "add rule bridge split forward ether type ip ip protocol vrrp drop"
)


def switch(lab: Lab, commands: str) -> None:
    """nftables commands in the lab switch's namespace, on its bridge."""
    subprocess.run(["ip", "netns", "exec", lab.switch, "nft", commands], check=True)


def mac_of(host: Host) -> str:
    address: str = json.loads(host.exec("ip", "-j", "link", "show", "dev", "eth0").stdout)[0][
        "address"
    ]
    return address


def client_mac(client: Host) -> str | None:
    entries = json.loads(client.exec("ip", "-j", "neigh", "show", VIP).stdout or "[]")
    return entries[0].get("lladdr") if entries else None


def conf(priority: int) -> str:
    spec = RouterSpec(
        priority=priority, version=3, advert_int=0.2, extra=("higher_prio_send_advert",)
    )
    return keepalived_conf(spec)


@pytest.mark.netns
@pytest.mark.parametrize("loser_kind", ["havip", "keepalived"])
def test_the_winner_takes_its_clients_back_when_two_masters_meet(
    lab: Lab, routers: Routers, loser_kind: str, request: pytest.FixtureRequest
) -> None:
    if loser_kind == "keepalived":
        request.getfixturevalue("keepalived_binary")
    r1 = lab.add_host("r1", "192.0.2.1/24")
    r2 = lab.add_host("r2", "192.0.2.2/24")
    client = lab.add_host("client", "192.0.2.50/24")
    switch(lab, BLOCK_VRRP)
    routers.havip(r1, conf(150))
    wait_for(lambda: holders(lab, VIP, ["r1"]) == ["r1"], 15, "r1 master alone")
    wait_for(lambda: client_reaches(lab, "client", VIP), 5, "the client to reach r1")
    (routers.havip if loser_kind == "havip" else routers.keepalived)(r2, conf(100))
    wait_for(lambda: holders(lab, VIP, ["r1", "r2"]) == ["r1", "r2"], 15, "two masters")
    wait_for(
        lambda: client_mac(client) == mac_of(r2),
        10,
        "the client to follow r2's gratuitous ARPs",
        observed=lambda: client_mac(client),
    )

    switch(lab, "delete table bridge split")
    wait_for(lambda: holders(lab, VIP, ["r1", "r2"]) == ["r1"], 5, "r2 to step down")
    wait_for(
        lambda: client_mac(client) == mac_of(r1),
        1.5,
        "r1 to take the client back",
        observed=lambda: client_mac(client),
    )
