"""Read one line of a virtual_ipaddress or virtual_ipaddress_excluded block.

The syntax is `ip address add`'s: `ADDR[/PREFIX] [dev IF] [scope S] [brd ADDR|+|-] [label L]`.
An address without a prefix is a host address (/32 or /128). keepalived reads one address per
line and treats further words as options, so a second address on the same line is an error
here with a hint, where keepalived would only log "Unknown configuration entry".
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Interface, ip_interface

from havip.config.diagnostics import Diagnostics, did_you_mean
from havip.config.keepalived_keywords import (
    VIRTUAL_ADDRESS_OPTIONS_NOT_IMPLEMENTED,
    VIRTUAL_ADDRESS_OPTIONS_REFUSED,
    VIRTUAL_ADDRESS_OPTIONS_WITH_VALUE,
)
from havip.config.model import IPInterface, VirtualAddress
from havip.config.parser import Statement
from havip.config.values import interface_name_problem, parse_address

SCOPES = frozenset({"global", "site", "link", "host", "nowhere"})
_OPTIONS = ("dev", "scope", "brd", "broadcast", "label")


def parse_interface(text: str) -> IPInterface | None:
    """`ADDR` or `ADDR/PREFIX` with a numeric prefix; None for anything else."""
    address, _, prefix = text.partition("/")
    if "/" in text and not prefix.isdigit():
        return None
    try:
        return ip_interface(text) if parse_address(address) is not None else None
    except ValueError:
        return None


def read_virtual_address(statement: Statement, diagnostics: Diagnostics) -> VirtualAddress | None:
    if statement.block is not None:
        diagnostics.error(statement.location, "a virtual address takes no { ... } block")
        return None
    text = statement.keyword
    interface = parse_interface(text)
    if interface is None:
        diagnostics.error(statement.location, _address_problem(text))
        return None
    options = _read_options(text, statement, diagnostics)
    if options is None:
        return None
    return _build(interface, options, statement, diagnostics)


def _address_problem(text: str) -> str:
    parsed = parse_address(text.partition("/")[0])
    if parsed is not None:
        return (
            f"'{text}': the prefix after '/' must be a number from 0 to "
            f"{parsed.max_prefixlen} for IPv{parsed.version}"
        )
    return (
        f"'{text}' is not an IP address with an optional /prefix "
        "(for example 192.0.2.10/24 or 2001:db8::10/64)"
    )


def _read_options(
    text: str, statement: Statement, diagnostics: Diagnostics
) -> dict[str, str] | None:
    options: dict[str, str] = {}
    words = list(statement.args)
    while words:
        option = words.pop(0)
        if option in _OPTIONS:
            if not words:
                diagnostics.error(statement.location, f"{option}: expected a value after it")
                return None
            options["brd" if option == "broadcast" else option] = words.pop(0)
        elif option in VIRTUAL_ADDRESS_OPTIONS_REFUSED:
            diagnostics.error(
                statement.location,
                f"virtual address option '{option}': {VIRTUAL_ADDRESS_OPTIONS_REFUSED[option]}",
            )
            return None
        elif option in VIRTUAL_ADDRESS_OPTIONS_NOT_IMPLEMENTED:
            if option in VIRTUAL_ADDRESS_OPTIONS_WITH_VALUE and words:
                words.pop(0)
            diagnostics.warning(
                statement.location,
                f"virtual address option '{option}' is not implemented by havip; ignored",
            )
        elif parse_interface(option) is not None:
            diagnostics.error(
                statement.location,
                f"'{option}' after {text}: write one virtual address per line",
            )
            return None
        else:
            known = {
                *_OPTIONS,
                *VIRTUAL_ADDRESS_OPTIONS_NOT_IMPLEMENTED,
                *VIRTUAL_ADDRESS_OPTIONS_REFUSED,
            }
            diagnostics.error(
                statement.location,
                f"unknown option '{option}' for virtual address {text}"
                f"{did_you_mean(option, known)}",
            )
            return None
    return options


def _build(
    interface: IPInterface,
    options: dict[str, str],
    statement: Statement,
    diagnostics: Diagnostics,
) -> VirtualAddress | None:
    valid = True
    device = options.get("dev")
    if device is not None and (problem := interface_name_problem(device)):
        diagnostics.error(statement.location, f"dev: {problem}")
        valid = False
    scope = options.get("scope")
    label = options.get("label")
    broadcast: IPv4Address | None = None
    if isinstance(interface, IPv6Interface):
        if "brd" in options:
            diagnostics.error(statement.location, f"brd: IPv6 address {interface} has no broadcast")
            valid = False
        for name, value in (("scope", scope), ("label", label)):
            if value is not None:
                diagnostics.warning(
                    statement.location,
                    f"{name} is ignored for IPv6 address {interface} (as keepalived does)",
                )
        scope = label = None
    else:
        if "brd" in options:
            broadcast = _broadcast(interface, options["brd"], statement, diagnostics)
            valid = valid and broadcast is not None
    if scope is not None and scope not in SCOPES:
        diagnostics.error(
            statement.location,
            f"scope: expected one of {', '.join(sorted(SCOPES))}, got '{scope}'"
            f"{did_you_mean(scope, SCOPES)}",
        )
        valid = False
    if label is not None and len(label.encode()) > 15:
        diagnostics.error(statement.location, f"label '{label}' is longer than 15 characters")
        valid = False
    if not valid:
        return None
    return VirtualAddress(interface, device, label, scope, broadcast, statement.location)


def _broadcast(
    interface: IPv4Interface, text: str, statement: Statement, diagnostics: Diagnostics
) -> IPv4Address | None:
    """`brd ADDR`, or `+`/`-` for the network's last/first address (prefix at most /30)."""
    if text in ("+", "-"):
        if interface.network.prefixlen > 30:
            diagnostics.error(
                statement.location,
                f"brd {text}: prefix /{interface.network.prefixlen} is too long for a broadcast "
                "address (at most /30)",
            )
            return None
        network = interface.network
        return network.broadcast_address if text == "+" else network.network_address
    address = parse_address(text)
    if not isinstance(address, IPv4Address):
        diagnostics.error(
            statement.location, f"brd: expected an IPv4 address, + or -, got '{text}'"
        )
        return None
    return address
