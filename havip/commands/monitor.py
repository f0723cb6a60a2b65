"""`havip monitor -i IFACE ...`: watch every VRRP group on a segment, whoever runs it.

A receive-only observer: it captures VRRP on the given interfaces, never sends and never
touches an address, and serves the census as /metrics, /status and /healthz on the same HTTP
server as the agent. `--table` also draws the census in the terminal: redrawn in place on a
TTY, and as a new block only when something other than the ages changed otherwise (a log).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from functools import partial
from typing import TextIO

import trio

from havip.monitor.loop import Monitor
from havip.monitor.segment import Limits, Segment
from havip.observe.census import build_census, format_census_table, table_rows
from havip.observe.http import HttpApp, serve_http
from havip.observe.logs import setup_logging
from havip.observe.metrics import thread_safe_trio_clock
from havip.observe.segment_metrics import SegmentMetrics

DEFAULT_LISTEN = "[::]:10114"
LISTEN_ENV = "HAVIP_MONITOR_LISTEN"
CLEAR_SCREEN = "\x1b[H\x1b[2J"

log = logging.getLogger("havip.monitor")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "monitor",
        help="watch every VRRP group on a segment (receive only)",
        description="Passively observe every VRRP group (v2/v3, IPv4/IPv6) heard on the given "
        "interfaces and export the census as metrics and /status. Never sends.",
    )
    parser.add_argument(
        "-i",
        "--interface",
        action="append",
        required=True,
        dest="interfaces",
        metavar="IFACE",
        help="an interface to watch; repeat for several",
    )
    parser.add_argument(
        "--metrics-listen",
        default=os.environ.get(LISTEN_ENV, DEFAULT_LISTEN),
        help=f"HOST:PORT for /metrics, /healthz and /status (env {LISTEN_ENV}; "
        f"default {DEFAULT_LISTEN}; 'off' disables it)",
    )
    parser.add_argument("--table", action="store_true", help="draw the census in the terminal")
    parser.add_argument(
        "--refresh", type=_positive, default=1.0, help="seconds between table redraws"
    )
    defaults = Limits()
    parser.add_argument("--max-groups", type=int, default=defaults.max_groups)
    parser.add_argument("--max-speakers", type=int, default=defaults.max_speakers)
    parser.add_argument(
        "--speaker-retention",
        type=_positive,
        default=defaults.speaker_retention,
        help="seconds a speaker that stopped advertising stays in the census",
    )
    parser.add_argument("--log-format", choices=("text", "json", "syslog"), default="text")
    parser.add_argument("--log-level", default=None, help="default INFO (WARNING with --table)")
    parser.set_defaults(func=run)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        limits = Limits(args.max_groups, args.max_speakers, args.speaker_retention)
    except ValueError as error:
        print(f"havip monitor: {error}", file=sys.stderr)
        return 2
    setup_logging(args.log_format, args.log_level or ("WARNING" if args.table else "INFO"))
    try:
        trio.run(partial(_serve, args, limits))
    except OSError as error:
        print(f"havip monitor: cannot capture: {error}", file=sys.stderr)
        return 1
    return 0


async def _serve(args: argparse.Namespace, limits: Limits) -> None:
    segment = Segment(tuple(args.interfaces), limits)
    metrics = SegmentMetrics(segment, lambda: monitor.wall_offset)
    monitor = Monitor(segment, args.interfaces, metrics.observe)
    clock = thread_safe_trio_clock()
    async with trio.open_nursery() as nursery:
        await nursery.start(monitor.run)
        log.info("monitoring VRRP on %s (receive only)", ", ".join(args.interfaces))
        if args.metrics_listen != "off":
            app = HttpApp(
                metrics.scrape,
                status=lambda: partial(build_census, segment, clock(), monitor.wall_offset),
                alive=lambda: monitor.running,
            )
            await nursery.start(serve_http, args.metrics_listen, app)
        if args.table:
            nursery.start_soon(draw_table, segment, monitor, args.refresh, sys.stdout)


async def draw_table(segment: Segment, monitor: Monitor, refresh: float, out: TextIO) -> None:
    """Redraw the census every `refresh` seconds (in place on a TTY, else when it changes)."""
    tty = out.isatty()
    shown: list[list[str]] | None = None
    while True:
        census = await trio.to_thread.run_sync(
            build_census, segment, trio.current_time(), monitor.wall_offset
        )
        if tty:
            out.write(CLEAR_SCREEN + format_census_table(census))
        else:
            rows = [row[:-2] + row[-1:] for row in table_rows(census)]  # ages aside
            if rows != shown:
                shown = rows
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(census["time"]))
                out.write(f"--- {stamp}\n" + format_census_table(census))
        out.flush()
        await trio.sleep(refresh)
