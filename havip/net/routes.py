"""A master's virtual routes and policy rules through rtnetlink (pyroute2).

Every route and rule havip adds carries its own protocol number, as its VIPs carry their own
address tag: removing one names that protocol, so the kernel deletes only what havip added
and never an operator's route or rule to the same destination. One that is already there
(the operator's, or a crashed run's) counts as present and is left alone on the way in.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from havip.config.model import VirtualRoute, VirtualRule

HAVIP_ROUTE_PROTO = 0x76
"""The protocol of havip's routes and rules ('v', as its address tag); keepalived's is 18."""
RTNH_F_ONLINK = 4
SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
ROUTE_TYPES = {"unicast": 1, "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9}
RULE_ACTIONS = {
    "table": "FR_ACT_TO_TBL",
    "blackhole": "FR_ACT_BLACKHOLE",
    "unreachable": "FR_ACT_UNREACHABLE",
    "prohibit": "FR_ACT_PROHIBIT",
}

RouteResult = tuple[list[str], list[str]]
"""(the routes changed, as text; what failed and why)."""
_Item = TypeVar("_Item", VirtualRoute, VirtualRule)


class RouteWriter:
    """Adds and removes virtual routes; `index_of` names an interface's index (None: gone)."""

    def __init__(self, ipr: IPRoute, index_of: Callable[[str], int | None]) -> None:
        self._ipr = ipr
        self._index_of = index_of

    def add(self, routes: Sequence[VirtualRoute]) -> RouteResult:
        """Add each route; one already there counts as added (it is not ours to replace)."""
        return _apply(self._ipr.route, "add", routes, self._request, errno.EEXIST)

    def remove(self, routes: Sequence[VirtualRoute]) -> RouteResult:
        """Remove each route havip added; the ones actually removed are reported."""
        return _apply(self._ipr.route, "del", routes, self._request, errno.ESRCH)

    def _request(self, route: VirtualRoute, command: str) -> dict[str, Any] | str:
        """The route as pyroute2 takes it. Without a scope, `ip route`'s: link for a route
        with a device and no gateway when adding, and any (nowhere) when removing."""
        request: dict[str, Any] = {
            "dst": str(route.destination),
            "family": 2 if route.destination.version == 4 else 10,
            "proto": HAVIP_ROUTE_PROTO,
            "type": ROUTE_TYPES[route.kind],
            "table": 254 if route.table is None else route.table,
        }
        if route.device is not None:
            index = self._index_of(route.device)
            if index is None:
                return f"no interface {route.device}"
            request["oif"] = index
        if route.via is not None:
            request["gateway"] = str(route.via)
        if route.source is not None:
            request["prefsrc"] = str(route.source)
        if route.metric is not None:
            request["priority"] = route.metric
        if route.scope is not None:
            request["scope"] = SCOPES[route.scope]
        elif command == "del":
            request["scope"] = SCOPES["nowhere"]
        elif route.kind == "unicast" and route.via is None:
            request["scope"] = SCOPES["link"]
        if route.onlink:
            request["flags"] = RTNH_F_ONLINK
        return request


class RuleWriter:
    """Adds and removes virtual policy rules, tagged as havip's."""

    def __init__(self, ipr: IPRoute) -> None:
        self._ipr = ipr

    def add(self, rules: Sequence[VirtualRule]) -> RouteResult:
        """Add each rule; one already there counts as added."""
        return _apply(self._ipr.rule, "add", rules, _rule_request, errno.EEXIST)

    def remove(self, rules: Sequence[VirtualRule]) -> RouteResult:
        """Remove each rule havip added; the ones actually removed are reported."""
        return _apply(self._ipr.rule, "del", rules, _rule_request, errno.ENOENT)


def _apply(
    send: Callable[..., object],
    command: str,
    items: Sequence[_Item],
    request_for: Callable[[_Item, str], dict[str, Any] | str],
    absent_or_present: int,
) -> RouteResult:
    """Send `command` for each route or rule; the errno that means "already there" (adding)
    or "not there" (removing) is no failure: an add counts it as done, a removal not."""
    changed: list[str] = []
    failures: list[str] = []
    for item in items:
        request = request_for(item, command)
        if isinstance(request, str):
            failures.append(f"{item}: {request}")
            continue
        try:
            send(command, **request)
        except NetlinkError as error:
            if error.code != absent_or_present:
                failures.append(f"{item}: {os.strerror(error.code)}")
            elif command == "add":
                changed.append(str(item))
            continue
        changed.append(str(item))
    return changed, failures


def _rule_request(rule: VirtualRule, _command: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "family": 2 if rule.family == 4 else 10,
        "action": RULE_ACTIONS[rule.action],
        "protocol": HAVIP_ROUTE_PROTO,
    }
    if rule.table is not None:
        request["table"] = rule.table
    for name, network in (("src", rule.source), ("dst", rule.destination)):
        if network is not None:
            request[name] = str(network.network_address)
            request[f"{name}_len"] = network.prefixlen
    for name, value in (
        ("priority", rule.priority),
        ("iifname", rule.in_interface),
        ("oifname", rule.out_interface),
        ("fwmark", rule.fwmark),
        ("fwmask", rule.fwmask),
    ):
        if value is not None:
            request[name] = value
    return request
