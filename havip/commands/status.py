"""`havip status`: ask a running agent for /status and print it as a table (or raw JSON).

It reads the same HTTP endpoint Prometheus scrapes, so it works from any machine that can
reach the agent and needs neither root nor the configuration file. Pointed at a `havip monitor`
(`--url http://MONITOR:10114`), it prints the monitor's census table instead.
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from havip.observe.census import format_census_table
from havip.observe.http import DEFAULT_PORT
from havip.observe.status import format_status_table

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
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
    parser.add_argument(
        "--cacert", help="CA certificate that signed the agent's (for an https:// URL)"
    )
    parser.add_argument("--user", help="basic auth user (the agent's --web.config.file)")
    parser.add_argument(
        "--password-file", help="file holding the basic auth password (never on the command line)"
    )
    parser.add_argument("--json", action="store_true", help="print the raw /status document")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the agent's status; exit status 1 if it cannot be reached or answers nonsense."""
    url = args.url.rstrip("/") + "/status"
    try:
        auth = None
        if args.user is not None:
            secret = Path(args.password_file).read_text() if args.password_file else ""
            auth = (args.user, secret.rstrip("\n"))
        status = fetch_status(url, cafile=args.cacert, auth=auth)
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


def fetch_status(
    url: str, *, cafile: str | None = None, auth: tuple[str, str] | None = None
) -> dict[str, Any]:
    """GET `url` (verified against `cafile` if given, with basic `auth` if given) and decode
    the JSON object it returns."""
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    context = ssl.create_default_context(cafile=cafile) if cafile is not None else None
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT, context=context) as response:
        document = json.load(response)
    if not isinstance(document, dict):
        raise ValueError("the answer is not a JSON object")
    return document
