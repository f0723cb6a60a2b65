"""`havip run`: the agent, as operators run it on their routers (keepalived's `-f` works)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import trio

from havip.agent import Agent
from havip.config import ConfigError, LoadedConfig, load_config
from havip.proto.events import Output, StateChanged
from havip.runtime import InstanceRuntime, QuietObserver

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
DEFAULT_METRICS_LISTEN = "[::]:9650"

log = logging.getLogger("havip")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run", help="run the VRRP agent", description="Run the VRRP instances of a keepalived.conf."
    )
    parser.add_argument("-f", "--use-file", default=DEFAULT_CONFIG, help="keepalived.conf path")
    parser.add_argument(
        "--metrics-listen",
        default=os.environ.get("HAVIP_METRICS_LISTEN", DEFAULT_METRICS_LISTEN),
        help="HOST:PORT for /metrics, /healthz and /status (env HAVIP_METRICS_LISTEN; "
        f"default {DEFAULT_METRICS_LISTEN}; 'off' disables it)",
    )
    parser.add_argument("--log-format", choices=("text", "json", "syslog"), default="text")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    path = Path(args.use_file)
    try:
        config = load_config(path)
    except ConfigError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s havip[%(process)d]: %(message)s"
    )
    for warning in config.warnings:
        log.warning("%s", warning)
    trio.run(partial(_serve, config, path))
    return 0


async def _serve(config: LoadedConfig, path: Path) -> None:
    agent = Agent(config, _TransitionLog(), reload_config=partial(load_config, path))
    await agent.run()


class _TransitionLog(QuietObserver):
    """keepalived's wording for state changes."""

    def outputs(self, runtime: InstanceRuntime, outputs: Sequence[Output], now: float) -> None:
        for output in outputs:
            if isinstance(output, StateChanged):
                log.info(
                    "VRRP_Instance(%s) Entering %s STATE (%s)",
                    runtime.name,
                    output.new.value.upper(),
                    output.reason.value,
                )
