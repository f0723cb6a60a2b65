"""havip and the real keepalived (Debian package) in one VRRP group, both directions.

Each case elects the higher priority, fails over when the master's link is cut and preempts
back when it returns; a wrong password on one side means no shared election.
"""

from __future__ import annotations

import time

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import Router, wait_for

from .conftest import Routers, client_reaches, holders, wait_single_holder
from .metrics import metric_value

CASES = [
    pytest.param({"version": 2, "advert_int": 1.0, "password": "s3cret"}, id="v2-pass-1s"),
    pytest.param({"version": 3, "advert_int": 1.0}, id="v3-1s"),
    pytest.param({"version": 3, "advert_int": 0.05}, id="v3-50ms"),
]


def start(lab: Lab, routers: Routers, kind: str, name: str, spec: RouterSpec) -> Router:
    config = keepalived_conf(spec)
    if kind == "havip":
        return routers.havip(lab.hosts[name], config)
    return routers.keepalived(lab.hosts[name], config)


def run_failover_cycle(lab: Lab, vip: str) -> None:
    names = ["r1", "r2"]
    wait_single_holder(lab, vip, names, "r1", timeout=15)
    assert client_reaches(lab, "client", vip)
    lab.cut("r1")
    wait_single_holder(lab, vip, ["r2"], "r2", timeout=15)
    assert client_reaches(lab, "client", vip)
    lab.restore("r1")
    wait_single_holder(lab, vip, names, "r1", timeout=15)
    assert client_reaches(lab, "client", vip)


@pytest.mark.parametrize("options", CASES)
@pytest.mark.parametrize("master_kind", ["havip", "keepalived"])
def test_mixed_group_elects_fails_over_and_preempts(
    lab: Lab, routers: Routers, keepalived_binary: str, options: dict[str, object], master_kind: str
) -> None:
    backup_kind = "keepalived" if master_kind == "havip" else "havip"
    addresses = ("192.0.2.1/24", "192.0.2.2/24", "192.0.2.50/24")
    for name, address in zip(("r1", "r2", "client"), addresses, strict=True):
        lab.add_host(name, address)
    start(lab, routers, master_kind, "r1", RouterSpec(priority=150, **options))  # type: ignore[arg-type]
    start(lab, routers, backup_kind, "r2", RouterSpec(priority=100, **options))  # type: ignore[arg-type]
    run_failover_cycle(lab, "192.0.2.100")


@pytest.mark.parametrize("peer_kind", ["havip", "keepalived"])
def test_ipv6_group_with_vrrpv3(
    lab: Lab, routers: Routers, keepalived_binary: str, peer_kind: str
) -> None:
    addresses = ("2001:db8::1/64", "2001:db8::2/64", "2001:db8::50/64")
    for name, address in zip(("r1", "r2", "client"), addresses, strict=True):
        lab.add_host(name, address)
    lab.wait_link_local()
    spec = {"version": 3, "advert_int": 1.0, "vips": ("2001:db8::100/64",)}
    start(lab, routers, "havip", "r1", RouterSpec(priority=150, **spec))  # type: ignore[arg-type]
    start(lab, routers, peer_kind, "r2", RouterSpec(priority=100, **spec))  # type: ignore[arg-type]
    run_failover_cycle(lab, "2001:db8::100")


def test_wrong_password_means_no_shared_election(
    lab: Lab, routers: Routers, keepalived_binary: str
) -> None:
    for name, address in (("r1", "192.0.2.1/24"), ("r2", "192.0.2.2/24")):
        lab.add_host(name, address)
    advert_int = 1.0
    right = RouterSpec(priority=150, password="right", advert_int=advert_int)
    wrong = RouterSpec(priority=100, password="wrong", advert_int=advert_int)
    havip = start(lab, routers, "havip", "r1", right)
    keepalived = start(lab, routers, "keepalived", "r2", wrong)
    vip = "192.0.2.100"
    # each takes over after its Master_Down_Interval (about 3.6 s); allow for a slow start
    wait_for(
        lambda: holders(lab, vip, ["r1", "r2"]) == ["r1", "r2"],
        10 * advert_int,
        "both to be master",
        observed=lambda: f"VIP on {holders(lab, vip, ['r1', 'r2'])}",
    )

    def counted() -> tuple[float, int]:
        labels = {"vrrp_instance": "VI_1", "reason": "password"}
        failures = metric_value(havip.metrics(), "havip_vrrp_auth_failures_total", labels)
        return failures, keepalived.log_text().count("received an invalid passwd!")

    # keepalived 2.2.7, master while hearing havip's higher adverts it cannot authenticate,
    # advertises irregularly (2 to 5 adverts in 12 s, seen with tcpdump): wait for two of its
    # adverts with room for that and for a busy machine, in advert intervals not seconds
    wait_for(
        lambda: all(n >= 2 for n in counted()),
        30 * advert_int,
        "two password failures counted by havip and logged by keepalived",
        interval=advert_int / 4,
        observed=lambda: "havip counted {:g}, keepalived logged {}".format(*counted()),
    )


@pytest.mark.parametrize("grouped_kind", ["havip", "keepalived"])
def test_a_sync_group_takes_over_only_when_every_member_wants_to(
    lab: Lab, routers: Routers, keepalived_binary: str, grouped_kind: str
) -> None:
    """r1 groups VI_1 and VI_2; r2 is master of VI_2 only. VI_1 has no master anywhere, but
    r1 must hold it in BACKUP while its VI_2 still hears r2 (keepalived: "prefer backup state
    to avoid thrashing"); once r2 is gone, r1 takes both. havip and keepalived alike."""
    for name, address in (("r1", "192.0.2.1/24"), ("r2", "192.0.2.2/24")):
        lab.add_host(name, address)
    timing = {"version": 3, "advert_int": 0.2}
    vi_1 = RouterSpec(priority=100, **timing)  # type: ignore[arg-type]
    vi_2 = RouterSpec(priority=100, instance="VI_2", vrid=52, vips=("192.0.2.101/24",), **timing)  # type: ignore[arg-type]
    group = "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}"
    r2_spec = RouterSpec(priority=150, instance="VI_2", vrid=52, vips=("192.0.2.101/24",), **timing)  # type: ignore[arg-type]
    routers.havip(lab.hosts["r2"], keepalived_conf(r2_spec))
    wait_single_holder(lab, "192.0.2.101", ["r2"], "r2", timeout=15)
    grouped = keepalived_conf(vi_1, vi_2, after=(group,))
    if grouped_kind == "havip":
        r1 = routers.havip(lab.hosts["r1"], grouped)
    else:
        r1 = routers.keepalived(lab.hosts["r1"], grouped)
    time.sleep(3.0)  # over four master-down intervals of VI_1
    assert holders(lab, "192.0.2.100", ["r1", "r2"]) == []
    assert holders(lab, "192.0.2.101", ["r1", "r2"]) == ["r2"]
    # Not even briefly: a member taking over alone would pull VI_2 along and thrash.
    assert "Entering MASTER STATE" not in r1.log_text()
    lab.cut("r2")
    wait_single_holder(lab, "192.0.2.100", ["r1"], "r1", timeout=15)
    wait_single_holder(lab, "192.0.2.101", ["r1"], "r1", timeout=15)
