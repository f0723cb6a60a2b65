"""No MLD from IPv6 VMACs: an nftables rule drops the multicast listener reports and dones the
kernel would send out of them.

A master's VIPs on its IPv6 VMAC make the kernel join their solicited-node groups there, and
when it hands over it leaves them: MLD reports with the virtual MAC as source, sent by a router
that has just become a backup (a report is repeated up to a second later). A switch then
learns the virtual MAC on the backup's port, and the clients' traffic to the VIPs goes to the
backup until the master next sends from the virtual MAC: an outage after every handover. So
nothing MLD leaves a VMAC, as in keepalived (which also copies the reports to the base
interface; havip's VMAC has no link-local address, so its reports would carry the
unspecified source that MLD routers and snooping switches ignore anyway).

The table is `ip6 havip_vmac` (chain `out`, hook output), its own so that it lives and dies
with the VMACs and never touches the no_accept table; a leftover of it is emptied when first
used, and it is removed when havip closes.
"""

from __future__ import annotations

from typing import Any

from havip.net.firewall import NftRunner, libnftables, run_batch

TABLE = "havip_vmac"
MLD_TYPES = ["mld-listener-report", "mld2-listener-report", "mld-listener-done"]


class MldFilter:
    """Drops MLD messages leaving the IPv6 VMACs it is given."""

    def __init__(self, runner: NftRunner | None = None) -> None:
        self._runner = runner
        self._interfaces: set[str] = set()

    def add(self, interface: str) -> None:
        """Drop MLD out of `interface` from now on; FirewallError (an OSError) if nftables
        refuses, ImportError if libnftables is missing."""
        if interface in self._interfaces:
            return
        commands = [] if self._interfaces else self._create()
        commands.append(self._rule(interface))
        self._run(commands)
        self._interfaces.add(interface)

    def close(self) -> None:
        """Remove the table, if this filter made it."""
        if self._interfaces:
            self._run([{"delete": {"table": {"family": "ip6", "name": TABLE}}}])
            self._interfaces.clear()

    def _create(self) -> list[dict[str, Any]]:
        self._runner = self._runner or libnftables()
        table = {"family": "ip6", "name": TABLE}
        chain = {
            **{"family": "ip6", "table": TABLE, "name": "out"},
            **{"type": "filter", "hook": "output", "prio": 0, "policy": "accept"},
        }
        return [
            {"add": {"table": table}},
            {"flush": {"table": table}},
            {"add": {"chain": chain}},
        ]

    @staticmethod
    def _rule(interface: str) -> dict[str, Any]:
        expr = [
            {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": interface}},
            {
                "match": {
                    "op": "==",
                    "left": {"payload": {"protocol": "icmpv6", "field": "type"}},
                    "right": {"set": MLD_TYPES},
                }
            },
            {"drop": None},
        ]
        return {"add": {"rule": {"family": "ip6", "table": TABLE, "chain": "out", "expr": expr}}}

    def _run(self, commands: list[dict[str, Any]]) -> None:
        assert self._runner is not None  # set by _create before the first batch
        run_batch(self._runner, commands)
