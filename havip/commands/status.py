"""`havip status`: ask a running agent for /status and print it as a table (or raw JSON).

It reads the same HTTP endpoint Prometheus scrapes, so it works from any machine that can
reach the agent and needs neither root nor the configuration file. Pointed at a `havip monitor`
(`--url http://MONITOR:9655`), it prints the monitor's census table instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from havip.observe.census import format_census_table
from havip.observe.status import format_status_table

DEFAULT_URL = "http://127.0.0.1:9650"
FETCH_TIMEOUT = 5.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `havip status [--url URL] [--json]`; the command runs `args.func(args)`."""
    parser = subparsers.add_parser(
        "status",
        help="show the state of a running agent's VRRP instances",
        description="Fetch /status from a running havip agent and print one row per instance.",
    )
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the agent's metrics address (default {DEFAULT_URL})",
    )
    parser.add_argument("--json", action="store_true", help="print the raw /status document")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the agent's status; exit status 1 if it cannot be reached or answers nonsense."""
    url = args.url.rstrip("/") + "/status"
    try:
        status = fetch_status(url)
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"havip status: cannot read {url}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
    elif "groups" in status:  # a `havip monitor`: the census of its segment
        sys.stdout.write(format_census_table(status))
    else:
        sys.stdout.write(format_status_table(status))
    return 0


def fetch_status(url: str) -> dict[str, Any]:
    """GET `url` and decode the JSON object it returns."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
        document = json.load(response)
    if not isinstance(document, dict):
        raise ValueError("the answer is not a JSON object")
    return document
