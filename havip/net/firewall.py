"""keepalived's no_accept firewall: nftables tables that drop traffic to and from the VIPs of a
master that does not own them, through libnftables' JSON interface (one batch per change).

The layout is keepalived's (vrrp/vrrp_nftables.c), so an operator's `nft list ruleset` reads
the same: tables `ip TABLE` and `ip6 TABLE` (default name `keepalived`), chains `in` (hook
input) and `out` (hook output) at the configured priority (default -1) with policy accept, a
set `vips` per family, and the rules `ip daddr @vips drop` / `ip saddr @vips drop`; in IPv6,
neighbour solicitations and advertisements are accepted first, so the VIPs still resolve.
`nftables_counters` adds a counter to each rule. Leftover tables of the same name are replaced
when the firewall is first used, and removed when havip closes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

IPAddress = IPv4Address | IPv6Address
_FAMILIES = (("ip", "ipv4_addr", 4), ("ip6", "ipv6_addr", 6))
_ND_TYPES = ["nd-neighbor-solicit", "nd-neighbor-advert"]


class FirewallError(OSError):
    """libnftables refused a batch (the message is nft's own)."""


@dataclass(frozen=True, slots=True)
class FirewallTable:
    """`nftables [TABLE]`, `nftables_priority`, `nftables_counters` from global_defs."""

    name: str = "keepalived"
    priority: int = -1
    counters: bool = False


class NftRunner(Protocol):
    """What the firewall needs of libnftables: run one JSON batch, return (rc, output, error)."""

    def json_cmd(self, json_root: dict[str, Any]) -> tuple[int, Any, str]: ...


def libnftables() -> NftRunner:
    """libnftables (Debian libnftables1) through its Python binding; ImportError or OSError if
    it is not installed."""
    import nftables

    runner = nftables.Nftables()
    runner.set_json_output(True)
    runner.set_handle_output(False)
    return runner  # type: ignore[no-any-return]


def run_batch(runner: NftRunner, commands: list[dict[str, Any]]) -> None:
    """Apply one JSON batch (atomically, as libnftables does); FirewallError if refused."""
    rc, _output, error = runner.json_cmd({"nftables": commands})
    if rc != 0:
        raise FirewallError(f"nftables: {error.strip() or json.dumps(commands)[:200]}")


class NftFirewall:
    """The drop rules for VIPs held without accept mode; one per agent."""

    def __init__(self, table: FirewallTable, runner: NftRunner | None = None) -> None:
        self.table = table
        self._runner = runner
        self._created = False
        self._blocked: set[IPAddress] = set()

    def block(self, addresses: Iterable[IPAddress]) -> list[str]:
        """Drop traffic to and from `addresses`; returns the ones newly blocked."""
        new = [a for a in addresses if a not in self._blocked]
        if not new:
            return []
        commands = [] if self._created else self._create()
        commands += [self._element("add", family, new) for family in self._families(new)]
        self._run(commands)
        self._created = True
        self._blocked.update(new)
        return [str(a) for a in new]

    def unblock(self, addresses: Iterable[IPAddress]) -> list[str]:
        """Stop dropping traffic for `addresses`; returns the ones unblocked."""
        old = [a for a in addresses if a in self._blocked]
        if not old:
            return []
        self._run([self._element("delete", family, old) for family in self._families(old)])
        self._blocked.difference_update(old)
        return [str(a) for a in old]

    @property
    def blocked(self) -> frozenset[IPAddress]:
        return frozenset(self._blocked)

    def close(self) -> None:
        """Remove the tables (only if this firewall created them)."""
        if not self._created:
            return
        name = self.table.name
        self._run([{"delete": {"table": {"family": f, "name": name}}} for f, _t, _v in _FAMILIES])
        self._blocked.clear()
        self._created = False

    # --- batches ---------------------------------------------------------------------------

    def _create(self) -> list[dict[str, Any]]:
        """The whole layout, replacing any leftover table of the same name."""
        self._runner = self._runner or libnftables()
        table = self.table
        commands: list[dict[str, Any]] = []
        for family, set_type, version in _FAMILIES:
            ident = {"family": family, "name": table.name}
            commands += [{"add": {"table": ident}}, {"delete": {"table": ident}}]
            commands.append({"add": {"table": ident}})
            for chain, hook in (("in", "input"), ("out", "output")):
                commands.append(
                    {
                        "add": {
                            "chain": {
                                "family": family,
                                "table": table.name,
                                "name": chain,
                                "type": "filter",
                                "hook": hook,
                                "prio": table.priority,
                                "policy": "accept",
                            }
                        }
                    }
                )
            commands.append(
                {
                    "add": {
                        "set": {
                            "family": family,
                            "table": table.name,
                            "name": "vips",
                            "type": set_type,
                        }
                    }
                }
            )
            for chain, field in (("in", "daddr"), ("out", "saddr")):
                if version == 6:
                    commands.append(self._rule(family, chain, self._nd_match(), "accept"))
                match = {
                    "match": {
                        "op": "==",
                        "left": {"payload": {"protocol": family, "field": field}},
                        "right": "@vips",
                    }
                }
                commands.append(self._rule(family, chain, match, "drop"))
        return commands

    def _rule(self, family: str, chain: str, match: dict[str, Any], verdict: str) -> dict[str, Any]:
        expr: list[dict[str, Any]] = [match]
        if self.table.counters:
            expr.append({"counter": None})
        expr.append({verdict: None})
        return {
            "add": {
                "rule": {"family": family, "table": self.table.name, "chain": chain, "expr": expr}
            }
        }

    @staticmethod
    def _nd_match() -> dict[str, Any]:
        return {
            "match": {
                "op": "==",
                "left": {"payload": {"protocol": "icmpv6", "field": "type"}},
                "right": {"set": _ND_TYPES},
            }
        }

    def _element(self, op: str, family: str, addresses: list[IPAddress]) -> dict[str, Any]:
        version = 4 if family == "ip" else 6
        elements = [str(a) for a in addresses if a.version == version]
        return {
            op: {
                "element": {
                    "family": family,
                    "table": self.table.name,
                    "name": "vips",
                    "elem": elements,
                }
            }
        }

    @staticmethod
    def _families(addresses: list[IPAddress]) -> list[str]:
        return [f for f, _t, version in _FAMILIES if any(a.version == version for a in addresses)]

    def _run(self, commands: list[dict[str, Any]]) -> None:
        if not commands or self._runner is None:
            return
        run_batch(self._runner, commands)
