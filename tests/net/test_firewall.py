"""The no_accept firewall's batches, with libnftables replaced by a recorder (no root)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from havip.net.firewall import FirewallError, FirewallTable, NftFirewall

from .nftrecorder import Recorder

V4, V6 = ip_address("192.0.2.100"), ip_address("2001:db8::100")


def test_the_first_block_builds_keepalived_s_tables_then_adds_the_vips() -> None:
    recorder = Recorder()
    firewall = NftFirewall(FirewallTable("keepalived", -1, False), recorder)
    assert firewall.block([V4, V6]) == [str(V4), str(V6)]
    (batch,) = recorder.batches
    tables = [c["add"]["table"] for c in batch if "table" in c.get("add", {})]
    assert {(t["family"], t["name"]) for t in tables} == {
        ("ip", "keepalived"),
        ("ip6", "keepalived"),
    }
    assert {"delete": {"table": {"family": "ip", "name": "keepalived"}}} in batch  # leftovers
    chains = [c["add"]["chain"] for c in batch if "chain" in c.get("add", {})]
    assert {(c["family"], c["name"], c["hook"], c["prio"]) for c in chains} == {
        (f, n, h, -1) for f in ("ip", "ip6") for n, h in (("in", "input"), ("out", "output"))
    }
    elements = [c["add"]["element"] for c in batch if "element" in c.get("add", {})]
    assert [(e["family"], e["elem"]) for e in elements] == [("ip", [str(V4)]), ("ip6", [str(V6)])]


def test_later_changes_only_touch_the_set_and_close_removes_the_tables() -> None:
    recorder = Recorder()
    firewall = NftFirewall(FirewallTable("hv", 5, True), recorder)
    firewall.block([V4])
    assert firewall.block([V4]) == []  # already blocked: no batch
    assert firewall.unblock([V4, V6]) == [str(V4)]  # V6 was never blocked
    firewall.close()
    assert recorder.batches[1:] == [
        [
            {
                "delete": {
                    "element": {"family": "ip", "table": "hv", "name": "vips", "elem": [str(V4)]}
                }
            }
        ],
        [
            {"delete": {"table": {"family": "ip", "name": "hv"}}},
            {"delete": {"table": {"family": "ip6", "name": "hv"}}},
        ],
    ]
    rules = [c["add"]["rule"] for c in recorder.batches[0] if "rule" in c.get("add", {})]
    assert all({"counter": None} in r["expr"] for r in rules)  # nftables_counters


def test_a_refused_batch_is_an_error_and_nothing_is_recorded_as_blocked() -> None:
    firewall = NftFirewall(
        FirewallTable(), Recorder(fail=True, error="Error: No such file or directory")
    )
    with pytest.raises(FirewallError, match="No such file"):
        firewall.block([V4])
    assert firewall.blocked == frozenset()
