"""A group mid-migration: havip and the real keepalived with different VIP lists, or with
keepalived 2.4's HMAC trailer, must still agree on one master.

The Debian keepalived (2.2.7) runs in CI. The cases that need a newer keepalived (2.3.3 accepts
another address list, 2.4.3 signs adverts) run against the build `HAVIP_KEEPALIVED` names and
are skipped, saying so, when the keepalived here is older.
"""

from __future__ import annotations

import time

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import KEEPALIVED_ENV, Router, keepalived_version

from .conftest import Routers, holders, wait_single_holder
from .metrics import metric_value

VIP = "192.0.2.100"
ONE_VIP = ("192.0.2.100/24",)
TWO_VIPS = ("192.0.2.100/24", "192.0.2.101/24")
HOLD = 15.0
"""How long the group must keep exactly one master once elected."""
HMAC_BLOCK = (
    "auth_hmac {",
    "    key 1 hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "    active_key 1",
    "    mode permissive",
    "}",
)
VERSIONS = [pytest.param(2, id="v2"), pytest.param(3, id="v3")]


def needs_keepalived(binary: str, release: tuple[int, ...], why: str) -> None:
    found = keepalived_version(binary)
    if found < release:
        wanted = ".".join(map(str, release))
        pytest.skip(
            f"keepalived {'.'.join(map(str, found))} at {binary} is older than {wanted}, "
            f"which {why}; set {KEEPALIVED_ENV} to a {wanted}+ build to run this case"
        )


def two_routers(lab: Lab) -> None:
    for name, address in (("r1", "192.0.2.1/24"), ("r2", "192.0.2.2/24")):
        lab.add_host(name, address)


def keep_one_master(lab: Lab, routers: Routers, master: str) -> None:
    """`master` alone holds the VIP, checked every 0.2 s for HOLD seconds, with both routers
    running all along (a peer that died would make a single holder meaningless)."""
    names = ["r1", "r2"]
    wait_single_holder(lab, VIP, names, master, timeout=15)
    end = time.monotonic() + HOLD
    while time.monotonic() < end:
        assert holders(lab, VIP, names) == [master], f"{VIP} held by {holders(lab, VIP, names)}"
        exited = [r.kind for r in routers.started if r.process.poll() is not None]
        assert not exited, f"{exited} exited"
        time.sleep(0.2)


def anomalies(router: Router, anomaly: str) -> float:
    labels = {"vrrp_instance": "VI_1", "anomaly": anomaly}
    return metric_value(router.metrics(), "havip_vrrp_advert_anomalies_total", labels)


@pytest.mark.parametrize("version", VERSIONS)
def test_keepalived_master_with_one_vip_more_keeps_havip_backup(
    lab: Lab, routers: Routers, keepalived_binary: str, version: int
) -> None:
    two_routers(lab)
    master = RouterSpec(priority=150, version=version, vips=TWO_VIPS)
    routers.keepalived(lab.hosts["r1"], keepalived_conf(master))
    havip = routers.havip(
        lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, version=version, vips=ONE_VIP))
    )
    keep_one_master(lab, routers, "r1")
    assert anomalies(havip, "address_list") >= HOLD - 2
    assert "expected 1 VIPs but received 2" in havip.log_text()


@pytest.mark.parametrize("version", VERSIONS)
def test_havip_master_with_one_vip_more_keeps_keepalived_backup(
    lab: Lab, routers: Routers, keepalived_binary: str, version: int
) -> None:
    needs_keepalived(keepalived_binary, (2, 3, 3), "accepts adverts with another address list")
    two_routers(lab)
    master = RouterSpec(priority=150, version=version, vips=TWO_VIPS)
    routers.havip(lab.hosts["r1"], keepalived_conf(master))
    keepalived = routers.keepalived(
        lab.hosts["r2"], keepalived_conf(RouterSpec(priority=100, version=version, vips=ONE_VIP))
    )
    keep_one_master(lab, routers, "r1")
    assert "expected 1 VIPs but received 2" in keepalived.log_text()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("keepalived_role", ["master", "backup"])
def test_keepalived_signing_adverts_in_permissive_mode_shares_one_master(
    lab: Lab, routers: Routers, keepalived_binary: str, version: int, keepalived_role: str
) -> None:
    needs_keepalived(keepalived_binary, (2, 4, 3), "appends the auth_hmac trailer")
    two_routers(lab)
    keepalived_priority, havip_priority = (150, 100) if keepalived_role == "master" else (100, 150)
    signed = RouterSpec(priority=keepalived_priority, version=version, extra=HMAC_BLOCK)
    routers.keepalived(lab.hosts["r1"], keepalived_conf(signed))
    havip = routers.havip(
        lab.hosts["r2"], keepalived_conf(RouterSpec(priority=havip_priority, version=version))
    )
    # as backup, keepalived in permissive mode accepts havip's unsigned adverts: one master
    keep_one_master(lab, routers, "r1" if keepalived_role == "master" else "r2")
    if keepalived_role == "master":
        assert anomalies(havip, "trailing_bytes") >= HOLD - 2
