"""`havip check`: read a keepalived.conf as havip would, and say what it means or what is wrong.

Exit 0 prints a short summary of the instances (stdout) after any warnings (stderr); exit 2
prints every error and warning (stderr), one per line as `FILE:LINE: severity: message`.
It only reads files: no interface, address or user is looked up.
"""

from __future__ import annotations

import argparse
import sys

from havip.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    LoadedConfig,
    SyncGroup,
    VirtualAddress,
    VrrpInstance,
    load_config,
)
from havip.config.diagnostics import in_file_order

EXIT_OK = 0
EXIT_INVALID = 2


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check a keepalived.conf and summarise its VRRP instances",
        description="Read a keepalived.conf as havip would and report every problem at once.",
    )
    parser.add_argument(
        "-f",
        "--use-file",
        default=str(DEFAULT_CONFIG_PATH),
        metavar="FILE",
        help=f"configuration file (default {DEFAULT_CONFIG_PATH})",
    )
    parser.set_defaults(func=check_command)


def check_command(args: argparse.Namespace) -> int:
    path: str = args.use_file
    try:
        config = load_config(path)
    except ConfigError as error:
        for diagnostic in in_file_order((*error.diagnostics, *error.warnings), error.files):
            print(diagnostic, file=sys.stderr)
        return EXIT_INVALID
    for warning in config.warnings:
        print(warning, file=sys.stderr)
    print("\n".join(summarize(path, config)))
    return EXIT_OK


def summarize(path: str, config: LoadedConfig) -> list[str]:
    """A few lines per instance: what a reviewer wants to see before switching over."""
    groups = {member: group for group in config.sync_groups for member in group.members}
    lines = [
        f"{path}: OK: {_count(len(config.instances), 'VRRP instance')}, "
        f"{_count(len(config.sync_groups), 'sync group')}, "
        f"{_count(len(config.warnings), 'warning')}"
    ]
    if len(config.files) > 1:
        lines.append(f"files read: {', '.join(config.files)}")
    for instance in config.instances:
        lines.extend(_instance_lines(instance, groups.get(instance.name)))
    lines.extend(
        f"sync group {group.name}: {', '.join(group.members)}" for group in config.sync_groups
    )
    return lines


def _instance_lines(instance: VrrpInstance, group: SyncGroup | None) -> list[str]:
    facts = [
        f"{instance.interface} VRID {instance.vrid}",
        f"VRRPv{instance.version} IPv{instance.family}",
        f"priority {instance.priority}",
        instance.initial_state or "initial state BACKUP",
        f"advert_int {instance.advert_int:g}s",
    ]
    if instance.authentication is not None:
        facts.append("auth PASS")
    if instance.nopreempt:
        facts.append("nopreempt")
    if group is not None:
        facts.append(f"sync group {group.name}")
    lines = [f"  {instance.name}: {', '.join(facts)}"]
    lines.append(f"    VIPs: {_addresses(instance.vips) or 'none'}")
    if instance.excluded_vips:
        lines.append(f"    excluded VIPs: {_addresses(instance.excluded_vips)}")
    if instance.unicast_peers:
        peers = ", ".join(str(peer) for peer in instance.unicast_peers)
        source = instance.unicast_src_ip or "primary address"
        lines.append(f"    unicast from {source} to {peers}")
    if instance.virtual_routes:
        lines.append(f"    routes: {'; '.join(map(str, instance.virtual_routes))}")
    if instance.virtual_rules:
        lines.append(f"    rules: {'; '.join(map(str, instance.virtual_rules))}")
    trackers = _trackers(instance)
    if trackers:
        lines.append(f"    tracks: {'; '.join(trackers)}")
    return lines


def _addresses(addresses: tuple[VirtualAddress, ...]) -> str:
    described = []
    for address in addresses:
        text = str(address.interface)
        for option, value in (
            ("dev", address.device),
            ("label", address.label),
            ("scope", address.scope),
            ("brd", address.broadcast),
        ):
            if value is not None:
                text += f" {option} {value}"
        described.append(text)
    return ", ".join(described)


def _trackers(instance: VrrpInstance) -> list[str]:
    def weight(value: int | None) -> str:
        return "" if value is None else f" weight {value}"

    return [
        *(f"interface {t.name}{weight(t.weight)}" for t in instance.track_interfaces),
        *(f"script {t.name}{weight(t.weight)}" for t in instance.track_scripts),
        *(f"file {t.name}{weight(t.weight)}" for t in instance.track_files),
        *(f"process {t.name}{weight(t.weight)}" for t in instance.track_processes),
    ]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
