"""The `havip` command line: a small dispatcher over the subcommands in havip/commands/.

To add a subcommand, write a module with `add_parser(subparsers)` (which sets `func`, a
callable from the parsed arguments to the exit code) and list it in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from havip import __version__
from havip.commands import check, lab, monitor, run, status

COMMANDS = (run, check, status, lab, monitor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="havip",
        description="An observable VRRP agent that reads keepalived.conf.",
    )
    parser.add_argument("--version", action="version", version=f"havip {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for usage errors, as argparse does)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_usage(sys.stderr)
        print("havip: error: a command is required", file=sys.stderr)
        return 2
    return int(func(args))
