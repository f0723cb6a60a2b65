"""Read `global_defs`: the VRRP defaults every instance inherits.

`havip_vrrp_v3_checksum message_only|pseudo_header` is havip's own keyword: how to compute
VRRPv3-over-IPv4 checksums when sending (keepalived 2.2 uses the pseudo-header, the default).
keepalived logs "Unknown keyword" for it and carries on, so a shared file still works for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import fields, replace
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from havip.config.diagnostics import Diagnostics
from havip.config.keepalived_keywords import GLOBAL_DEFS_NOT_IMPLEMENTED
from havip.config.model import GlobalDefs, NotifyFifoConfig
from havip.config.parser import Statement
from havip.config.sections import Handler, Section, walk
from havip.config.values import (
    UINT32_MAX,
    no_args,
    one_arg,
    parse_int,
    read_address,
    read_int,
    read_optional_bool,
    read_seconds,
)

_NFT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,255}")
CHECKSUM_MODES = ("pseudo_header", "message_only")


def read_whole_seconds(statement: Statement, diagnostics: Diagnostics) -> float | None:
    """keepalived's garp delays and refresh: whole seconds, 0 allowed."""
    value = read_int(statement, 0, UINT32_MAX // 1_000_000, diagnostics)
    return None if value is None else float(value)


def read_repeat(statement: Statement, diagnostics: Diagnostics) -> int | None:
    """A garp repeat count; keepalived turns 0 into 1 with a warning, and so does havip."""
    value = read_int(statement, 0, UINT32_MAX, diagnostics)
    if value == 0:
        diagnostics.warning(statement.location, f"{statement.keyword} must be at least 1; using 1")
        return 1
    return value


def _user_group(words: list[str] | tuple[str, ...]) -> tuple[str | None, str | None]:
    return (words[0] if words else None, words[1] if len(words) > 1 else None)


def read_global_defs(blocks: Iterable[Statement], diagnostics: Diagnostics) -> GlobalDefs:
    """All `global_defs` blocks merged in order (keepalived allows several)."""
    values: dict[str, Any] = {}
    min_garp = False
    explicit: set[str] = set()

    def store(field: str, value: object) -> None:
        if value is not None:
            values[field] = value
            explicit.add(field)

    def router_id(s: Statement) -> None:
        store("router_id", one_arg(s, "a name for this router", diagnostics))

    def vrrp_version(s: Statement) -> None:
        text = one_arg(s, "2 or 3", diagnostics)
        if text is not None and parse_int(text, 2, 3) is None:
            diagnostics.warning(
                s.location, f"vrrp_version must be 2 or 3, got '{text}'; ignored (as keepalived)"
            )
        elif text is not None:
            store("vrrp_version", int(text))

    def mcast_group(field: str, family: type[IPv4Address] | type[IPv6Address]) -> Handler:
        def read(s: Statement) -> None:
            address = read_address(s, diagnostics)
            if address is None:
                return
            if not isinstance(address, family) or not address.is_multicast:
                kind = "IPv4" if family is IPv4Address else "IPv6"
                diagnostics.error(
                    s.location, f"{s.keyword}: expected an {kind} multicast address, got {address}"
                )
                return
            store(field, address)

        return read

    def interval(field: str) -> Handler:
        """The gap between announcements on an interface; 0 (keepalived's default, in its
        sample file) means none."""

        def read(s: Statement) -> None:
            value = read_seconds(s, Decimal(0), Decimal(UINT32_MAX // 1_000_000), diagnostics)
            store(field, None if value is None else float(value))

        return read

    def startup_delay(s: Statement) -> None:
        """keepalived's vrrp_startup_delay: milliseconds resolution, from 1 ms."""
        value = read_seconds(s, Decimal("0.001"), Decimal(UINT32_MAX // 1_000_000), diagnostics)
        store("startup_delay", None if value is None else float(value))

    def nftables(s: Statement) -> None:
        """`nftables [TABLE]`: the no_accept firewall's table (keepalived's default name)."""
        if len(s.args) > 1:
            diagnostics.error(s.location, "nftables: expected '[TABLE]'")
        elif s.args and not _NFT_NAME.fullmatch(s.args[0]):
            diagnostics.error(s.location, f"nftables: '{s.args[0]}' is not a valid table name")
        else:
            store("nftables", s.args[0] if s.args else "keepalived")

    def delay_after_boot(s: Statement) -> None:
        """keepalived's vrrp_delay_after_boot: seconds since boot (the agent reads the uptime)."""
        value = read_seconds(s, Decimal("0.001"), Decimal(UINT32_MAX // 1_000_000), diagnostics)
        store("delay_after_boot", None if value is None else float(value))

    def flag(field: str) -> Handler:
        def read(s: Statement) -> None:
            if no_args(s, diagnostics):
                store(field, True)

        return read

    def optional_bool(field: str) -> Handler:
        def read(s: Statement) -> None:
            store(field, read_optional_bool(s, diagnostics))

        return read

    def min_garp_handler(s: Statement) -> None:
        nonlocal min_garp
        min_garp = bool(read_optional_bool(s, diagnostics))

    def script_user(s: Statement) -> None:
        if not s.args or len(s.args) > 2:
            diagnostics.error(s.location, "script_user: expected 'USERNAME [GROUPNAME]'")
            return
        store("script_user", s.args[0])
        store("script_group", s.args[1] if len(s.args) == 2 else None)

    fifos: dict[str, tuple[str, str | None, str | None]] = {}
    fifo_scripts: dict[str, tuple[Statement, str, str | None, str | None]] = {}

    def fifo(field: str) -> Handler:
        """`notify_fifo PATH [USER [GROUP]]`; keepalived keeps the first and ignores repeats."""

        def read(s: Statement) -> None:
            if not s.args or len(s.args) > 3:
                diagnostics.error(s.location, f"{s.keyword}: expected 'PATH [USER [GROUP]]'")
            elif field in fifos:
                diagnostics.warning(s.location, f"{s.keyword} already specified; ignored")
            else:
                fifos[field] = (s.args[0], *_user_group(s.args[1:]))

        return read

    def fifo_script(field: str) -> Handler:
        """`notify_fifo_script COMMAND [USER [GROUP]]`: runs with the FIFO's path appended."""

        def read(s: Statement) -> None:
            if not s.args or len(s.args) > 3:
                diagnostics.error(s.location, f"{s.keyword}: expected 'COMMAND [USER [GROUP]]'")
            elif field in fifo_scripts:
                diagnostics.warning(s.location, f"{s.keyword} already specified; ignored")
            else:
                fifo_scripts[field] = (s, s.args[0], *_user_group(s.args[1:]))

        return read

    def rlimit_rttime(s: Statement) -> None:
        if s.keyword == "vrrp_rlimit_rtime":
            diagnostics.warning(
                s.location,
                "vrrp_rlimit_rtime is deprecated (as in keepalived); use vrrp_rlimit_rttime",
            )
        store("rlimit_rttime", read_int(s, 1, UINT32_MAX, diagnostics))

    def checksum(s: Statement) -> None:
        text = one_arg(s, " or ".join(CHECKSUM_MODES), diagnostics)
        if text is not None and text not in CHECKSUM_MODES:
            diagnostics.error(
                s.location,
                f"havip_vrrp_v3_checksum: expected {' or '.join(CHECKSUM_MODES)}, got '{text}'",
            )
            return
        store("v3_checksum_mode", text)

    def v3_checksum_as_v2(s: Statement) -> None:
        """keepalived's name for havip_vrrp_v3_checksum message_only: the VRRPv3-over-IPv4
        checksum without the pseudo-header, as VRRPv2's (receiving accepts both forms)."""
        as_v2 = read_optional_bool(s, diagnostics)
        if as_v2 is not None:
            store("v3_checksum_mode", "message_only" if as_v2 else "pseudo_header")

    handlers = {
        "router_id": router_id,
        "vrrp_version": vrrp_version,
        "vrrp_mcast_group4": mcast_group("mcast_group4", IPv4Address),
        "vrrp_mcast_group6": mcast_group("mcast_group6", IPv6Address),
        "vrrp_garp_master_delay": lambda s: store(
            "garp_master_delay", read_whole_seconds(s, diagnostics)
        ),
        "vrrp_garp_master_repeat": lambda s: store(
            "garp_master_repeat", read_repeat(s, diagnostics)
        ),
        "vrrp_garp_master_refresh": lambda s: store(
            "garp_master_refresh", read_whole_seconds(s, diagnostics)
        ),
        "vrrp_garp_master_refresh_repeat": lambda s: store(
            "garp_master_refresh_repeat", read_repeat(s, diagnostics)
        ),
        "vrrp_garp_interval": interval("garp_interval"),
        "vrrp_gna_interval": interval("gna_interval"),
        "vrrp_startup_delay": startup_delay,
        "vrrp_delay_after_boot": delay_after_boot,
        "vrrp_min_garp": min_garp_handler,
        "vrrp_strict": flag("vrrp_strict"),
        "vrrp_skip_check_adv_addr": optional_bool("skip_check_adv_addr"),
        "enable_script_security": flag("enable_script_security"),
        "script_user": script_user,
        "notify_fifo": fifo("notify_fifo"),
        "vrrp_notify_fifo": fifo("vrrp_notify_fifo"),
        "notify_fifo_script": fifo_script("notify_fifo"),
        "vrrp_notify_fifo_script": fifo_script("vrrp_notify_fifo"),
        "vrrp_notify_priority_changes": optional_bool("notify_priority_changes"),
        "nftables": nftables,
        "nftables_priority": lambda s: store(
            "nftables_priority", read_int(s, -(2**31), 2**31 - 1, diagnostics)
        ),
        "nftables_counters": flag("nftables_counters"),
        "havip_vrrp_v3_checksum": checksum,
        "v3_checksum_as_v2": v3_checksum_as_v2,
        "vrrp_priority": lambda s: store("process_priority", read_int(s, -20, 19, diagnostics)),
        "vrrp_rt_priority": lambda s: store("realtime_priority", read_int(s, 1, 99, diagnostics)),
        "vrrp_rlimit_rttime": rlimit_rttime,
        "vrrp_rlimit_rtime": rlimit_rttime,
        "vrrp_no_swap": flag("no_swap"),
        "vrrp_lower_prio_no_advert": optional_bool("lower_prio_no_advert"),
        "vrrp_higher_prio_send_advert": optional_bool("higher_prio_send_advert"),
        "vrrp_garp_lower_prio_repeat": lambda s: store(
            "garp_lower_prio_repeat", read_int(s, 0, UINT32_MAX, diagnostics)
        ),
        "vrrp_garp_lower_prio_delay": lambda s: store(
            "garp_lower_prio_delay", read_whole_seconds(s, diagnostics)
        ),
        "vrrp_down_timer_adverts": lambda s: store(
            "down_timer_adverts", read_int(s, 1, 100, diagnostics)
        ),
        # havip always drops a unicast advert from a source not in unicast_peer
        "vrrp_check_unicast_src": lambda s: None,
    }
    section = Section("global_defs", handlers, ignored=GLOBAL_DEFS_NOT_IMPLEMENTED)
    for block in blocks:
        walk(section, block.block or (), diagnostics)
    for field, (path, user, group) in fifos.items():
        script = fifo_scripts.get(field)
        if script is None:
            store(field, NotifyFifoConfig(path, user, group))
        else:
            store(field, NotifyFifoConfig(path, user, group, *script[1:]))
    for field, (statement, *_rest) in fifo_scripts.items():
        if field not in fifos:
            diagnostics.warning(
                statement.location,
                f"{statement.keyword} without {field}: ignored (keepalived runs it only for a "
                "FIFO it opens)",
            )
    defaults = GlobalDefs(
        **{f.name: values[f.name] for f in fields(GlobalDefs) if f.name in values}
    )
    if min_garp:
        # keepalived's vrrp_min_garp: one ARP/NA, no second burst, unless set explicitly.
        changes: dict[str, Any] = {}
        if "garp_master_repeat" not in explicit:
            changes["garp_master_repeat"] = 1
        if "garp_master_delay" not in explicit:
            changes["garp_master_delay"] = 0.0
        defaults = replace(defaults, **changes)
    return defaults
