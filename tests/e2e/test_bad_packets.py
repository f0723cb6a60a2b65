"""Malformed and hostile adverts crafted with scapy from a third namespace.

Every packet claims priority 254, so any that got through would move the VIP; none may.
Each kind must be counted under its own reason on both routers, and neither may log an
exception or change state.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import Router, wait_for

from .conftest import Routers, holders, wait_single_holder
from .metrics import metric_value

VIP = "192.0.2.100"
PASSWORD = "s3cret"
SENDS = 3

CRAFTERS = {
    "ttl": "IP(src=SRC, dst=GROUP, ttl=64, proto=112) / good()",
    "checksum": "IP(src=SRC, dst=GROUP, ttl=255, proto=112) / good(chksum=0x1234)",
    "vrid": "IP(src=SRC, dst=GROUP, ttl=255, proto=112) / good(vrid=99)",
    "auth_password": "IP(src=SRC, dst=GROUP, ttl=255, proto=112) / good(auth1=0x6e6f7065)",
    "length": "IP(src=SRC, dst=GROUP, ttl=255, proto=112) / Raw(bytes(good())[:10])",
    "version": "IP(src=SRC, dst=GROUP, ttl=255, proto=112) / good(version=4)",
}

SENDER = textwrap.dedent(
    """
    import logging, sys
    logging.getLogger("scapy").setLevel(logging.ERROR)
    from scapy.all import IP, Raw, send
    from scapy.layers.vrrp import VRRP
    SRC, GROUP = "192.0.2.66", "224.0.0.18"
    def good(**fields):
        base = dict(vrid=51, priority=254, ipcount=1, addrlist=["{vip}"], authtype=1,
                    adv=1, auth1=int.from_bytes(b"{pw}"[:4], "big"),
                    auth2=int.from_bytes(b"{pw}"[4:].ljust(4, b"\\0"), "big"))
        base.update(fields)
        return VRRP(**base)
    for packet in {packets}:  # one at a time: scapy 2.8 takes iface= only for a single packet
        send(packet, iface="eth0", count={count}, inter=0.05, verbose=False)
    """
)


def rejected(router: Router, reason: str, instance: str) -> float:
    labels = {"vrrp_instance": instance, "reason": reason}
    return metric_value(router.metrics(), "havip_vrrp_packets_rejected_total", labels)


@pytest.mark.parametrize("reason", sorted(CRAFTERS))
def test_crafted_packet_is_dropped_and_counted_by_reason(
    lab: Lab, routers: Routers, reason: str
) -> None:
    names = ["r1", "r2"]
    lab.add_host("r1", "192.0.2.1/24")
    lab.add_host("r2", "192.0.2.2/24")
    attacker = lab.add_host("attacker", "192.0.2.66/24")
    master = routers.havip(lab.hosts["r1"], keepalived_conf(RouterSpec(150, password=PASSWORD)))
    backup = routers.havip(lab.hosts["r2"], keepalived_conf(RouterSpec(100, password=PASSWORD)))
    wait_single_holder(lab, VIP, names, "r1", timeout=10)
    instance = "" if reason == "vrid" else "VI_1"
    pair = (master, backup)
    before = [rejected(r, reason, instance) for r in pair]
    transitions_before = backup.metrics().count("havip_vrrp_transitions_total{")

    script = SENDER.format(vip=VIP, pw=PASSWORD, packets=f"[{CRAFTERS[reason]}]", count=SENDS)
    attacker.exec(sys.executable, "-c", script)

    for router, counted in zip(pair, before, strict=True):
        wait_for(
            lambda r=router, c=counted: rejected(r, reason, instance) >= c + SENDS,
            5,
            f"{SENDS} packets counted under reason={reason} on {router.host.name}",
        )
    assert holders(lab, VIP, names) == ["r1"]
    assert backup.metrics().count("havip_vrrp_transitions_total{") == transitions_before
    if reason == "auth_password":
        labels = {"vrrp_instance": "VI_1", "reason": "password"}
        assert metric_value(master.metrics(), "havip_vrrp_auth_failures_total", labels) >= SENDS
    for router in (master, backup):
        assert "Traceback" not in router.log_text()
