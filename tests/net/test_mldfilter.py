"""The IPv6 VMACs' MLD filter: its batches, with libnftables replaced by a recorder (no root).
The real rule at work, keeping a router that hands over silent, is in tests/e2e/test_vmac.py."""

from __future__ import annotations

from typing import Any

import pytest

from havip.net.firewall import FirewallError
from havip.net.mldfilter import MLD_TYPES, TABLE, MldFilter

from .nftrecorder import Recorder


def rule_interfaces(batch: list[dict[str, Any]]) -> list[str]:
    """The interface of each rule the batch adds (each drops MLD out of it)."""
    found = []
    for command in batch:
        rule = command.get("add", {}).get("rule")
        if rule is not None:
            oif, types, verdict = rule["expr"]
            assert oif["match"]["left"] == {"meta": {"key": "oifname"}}
            assert types["match"]["right"] == {"set": MLD_TYPES}
            assert verdict == {"drop": None}
            found.append(oif["match"]["right"])
    return found


def test_the_first_vmac_makes_the_table_and_each_vmac_gets_one_rule() -> None:
    recorder = Recorder()
    mld = MldFilter(recorder)
    mld.add("vrrp.51")
    mld.add("vrrp.51")  # once is enough
    mld.add("vrrp.52")
    first, second = recorder.batches
    table = {"family": "ip6", "name": TABLE}
    assert first[:2] == [{"add": {"table": table}}, {"flush": {"table": table}}]  # leftovers
    (chain,) = [c["add"]["chain"] for c in first if "chain" in c.get("add", {})]
    assert (chain["hook"], chain["policy"]) == ("output", "accept")
    assert rule_interfaces(first) == ["vrrp.51"]
    assert second == [c for c in second if "rule" in c["add"]]  # no table again
    assert rule_interfaces(second) == ["vrrp.52"]
    mld.close()
    assert recorder.batches[-1] == [{"delete": {"table": table}}]


def test_close_without_a_vmac_touches_nothing() -> None:
    recorder = Recorder()
    MldFilter(recorder).close()
    assert recorder.batches == []


def test_a_refused_batch_is_an_error_and_leaves_no_record() -> None:
    recorder = Recorder(fail=True)
    mld = MldFilter(recorder)
    with pytest.raises(FirewallError, match="Could not process rule"):
        mld.add("vrrp.51")
    mld.close()
    assert len(recorder.batches) == 1  # nothing was made, so nothing to delete
