"""Read one line of a virtual_routes block, with keepalived's (and `ip route add`'s) syntax.

    [TYPE] [to] DEST [src ADDR] [via|gw [inet|inet6] ADDR] [dev|oif IF] [table N]
        [metric|priority|preference N] [scope S] [onlink] [no_track] [inet|inet6]

DEST is `ADDR/PREFIX`, `ADDR` (a host route) or `default`. A keepalived route option havip does
not implement (multipath `or`/`nexthop`, `from`, `tos`, `protocol`, `encap`, metrics such as
`mtu`, ...) is an error naming it: a havip master without it would not forward as a keepalived
master does. `no_track` is accepted: havip never watches its routes after adding them, so every
route behaves as keepalived's `no_track` ones.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import cast

from havip.config.diagnostics import Diagnostics, Location, did_you_mean
from havip.config.model import IPAddress, IPNetwork, RouteType, VirtualRoute
from havip.config.parser import Statement
from havip.config.values import UINT32_MAX, interface_name_problem, parse_address

ROUTE_TYPES = frozenset({"unicast", "blackhole", "unreachable", "prohibit", "throw"})
TABLE_NAMES = {"default": 253, "main": 254, "local": 255}
SCOPES = frozenset({"global", "universe", "site", "link", "host", "nowhere"})

# keepalived's route options that havip refuses, with what each would have done.
REFUSED_OPTIONS = {
    "or": "multipath routes",
    "nexthop": "multipath routes",
    "from": "source-specific routes",
    "tos": "routes by TOS",
    "dsfield": "routes by TOS",
    "protocol": "a route protocol of your choosing (havip tags its routes as its own)",
    "encap": "encapsulation",
    "expires": "expiring routes",
    "as": "MPLS",
    "vrf": "routes in a VRF",
    "track_group": "track groups",
    "realms": "realms",
    "pref": "IPv6 router preference",
    **dict.fromkeys(
        (
            "mtu", "hoplimit", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd",
            "ssthresh", "rto_min", "initcwnd", "initrwnd", "features", "quickack", "congctl",
            "fastopen_no_cookie", "ttl-propagate",
        ),
        "route metrics",
    ),
}  # fmt: skip
_VALUED = frozenset({"src", "via", "gw", "dev", "oif", "table", "metric", "priority", "preference"})
_KNOWN = {*_VALUED, "scope", "onlink", "no_track", "inet", "inet6", "to", *ROUTE_TYPES}


class Line:
    """The words of one virtual_routes or virtual_rules line, and what they said so far."""

    def __init__(self, statement: Statement, diagnostics: Diagnostics, what: str) -> None:
        self.words = [statement.keyword, *statement.args]
        self.location: Location = statement.location
        self.diagnostics = diagnostics
        self.what = what
        self.valid = True
        self.family: int | None = None
        self.values: dict[str, str] = {}

    def error(self, message: str) -> None:
        self.diagnostics.error(self.location, f"{self.what}: {message}")
        self.valid = False

    def address(self, option: str, text: str) -> IPAddress | None:
        address = parse_address(text)
        if address is None:
            self.error(f"{option} '{text}' is not an IP address")
        else:
            self.same_family(address.version, f"{option} {text}")
        return address

    def network(self, option: str, text: str, expected: str) -> IPNetwork | None:
        """`ADDRESS/PREFIX` or `ADDRESS` (a host), without host bits after the prefix."""
        if parse_address(text.partition("/")[0]) is None:
            self.error(f"'{text}' is not a {option} ({expected})")
            return None
        try:
            network = ip_network(text, strict=True)
        except ValueError as error:
            self.error(f"{option} '{text}': {error}")
            return None
        self.same_family(network.version, f"{option} {text}")
        return network

    def same_family(self, version: int, what: str) -> None:
        if self.family is None:
            self.family = version
        elif self.family != version:
            self.error(f"cannot mix IPv4 and IPv6 in one {self.what} ({what} is IPv{version})")


def read_virtual_route(statement: Statement, diagnostics: Diagnostics) -> VirtualRoute | None:
    """The route of one line, or None (with the errors reported) if it is not one."""
    if statement.block is not None:
        diagnostics.error(statement.location, "a virtual route takes no { ... } block")
        return None
    line = Line(statement, diagnostics, "virtual route")
    kind: RouteType = "unicast"
    destination: str | None = None
    via = source = None
    onlink = False
    words = line.words
    while words and line.valid:
        word = words.pop(0)
        if word in REFUSED_OPTIONS:
            line.error(f"'{word}' ({REFUSED_OPTIONS[word]}) is not implemented by havip")
        elif word in ("inet", "inet6"):
            line.same_family(4 if word == "inet" else 6, word)
        elif word in ("onlink", "no_track"):
            onlink = onlink or word == "onlink"
        elif word in _VALUED or word == "scope":
            if not words:
                line.error(f"{word}: expected a value after it")
                break
            value = words.pop(0)
            if word in ("via", "gw") and value in ("inet", "inet6") and words:
                line.same_family(4 if value == "inet" else 6, value)
                value = words.pop(0)
            if word == "src":
                source = line.address("src", value)
            elif word in ("via", "gw"):
                via = line.address("via", value)
            else:
                line.values[_canonical(word)] = value
        elif destination is None:
            if word == "to" and words:
                word = words.pop(0)
            if word in ROUTE_TYPES and words:
                kind = cast(RouteType, word)
                word = words.pop(0)
            destination = word
        else:
            line.error(f"unknown route option '{word}'{did_you_mean(word, _KNOWN)}")
    if not line.valid:
        return None
    if destination is None:
        line.error("expected a destination (ADDRESS/PREFIX or default)")
        return None
    network = _destination(line, destination)
    route = _build(line, network, kind, via, source, onlink)
    return route if line.valid else None


def _canonical(option: str) -> str:
    return {"oif": "dev", "priority": "metric", "preference": "metric"}.get(option, option)


def _destination(line: Line, text: str) -> IPNetwork | None:
    if text == "default":
        return IPv6Network("::/0") if line.family == 6 else IPv4Network("0.0.0.0/0")
    return line.network("destination", text, "ADDRESS/PREFIX or default")


def _build(
    line: Line,
    network: IPNetwork | None,
    kind: RouteType,
    via: IPAddress | None,
    source: IPAddress | None,
    onlink: bool,
) -> VirtualRoute | None:
    values = line.values
    device = values.get("dev")
    if device is not None and (problem := interface_name_problem(device)):
        line.error(f"dev: {problem}")
    scope = values.get("scope")
    if scope is not None and scope not in SCOPES:
        line.error(f"scope: expected one of {', '.join(sorted(SCOPES))}, got '{scope}'")
    table = read_number(line, "table", values.get("table"), 1, TABLE_NAMES)
    metric = read_number(line, "metric", values.get("metric"), 0, {})
    if kind == "unicast" and via is None and device is None:
        line.error("a route needs 'via ADDRESS' or 'dev INTERFACE' (or a type such as blackhole)")
    if kind != "unicast" and (via is not None or device is not None):
        line.error(f"a {kind} route takes neither via nor dev")
    if network is None or not line.valid:
        return None
    return VirtualRoute(
        network,
        via,
        device,
        source,
        table,
        metric,
        None if scope is None else ("global" if scope == "universe" else scope),
        kind,
        onlink,
        line.location,
    )


def read_number(
    line: Line, option: str, text: str | None, lowest: int, names: dict[str, int]
) -> int | None:
    if text is None:
        return None
    if text in names:
        return names[text]
    if text.isdigit() and lowest <= int(text) <= UINT32_MAX:
        return int(text)
    named = f", or {', '.join(names)}" if names else ""
    line.error(f"{option} '{text}': expected a number from {lowest} to {UINT32_MAX}{named}")
    return None
