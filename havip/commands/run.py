"""`havip run`: the agent, as operators run it on their routers (keepalived's `-f` works)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from havip.agent import Agent
from havip.config import ConfigError, LoadedConfig, load_config
from havip.net.system import SystemNet
from havip.net.viprecord import DEFAULT_PATH as VIP_RECORD_PATH
from havip.observe.fanout import FanoutObserver
from havip.observe.http import (
    DEFAULT_HEALTH_LISTEN,
    DEFAULT_LISTEN,
    HEALTH_LISTEN_ENV,
    LISTEN_ENV,
    HealthApp,
    HttpApp,
    serve_health,
    serve_http,
)
from havip.observe.logs import LogObserver, setup_logging
from havip.observe.metrics import MetricsObserver, thread_safe_trio_clock
from havip.observe.status import build_status
from havip.observe.tracing import TracingObserver, setup_tracing
from havip.observe.tracking_metrics import TrackingMetrics
from havip.observe.webconfig import WebConfigError, WebConfigWatcher
from havip.observer import Observer
from havip.process_settings import apply_process_settings

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"
WEB_CONFIG_ENV = "HAVIP_WEB_CONFIG_FILE"
VIP_RECORD_ENV = "HAVIP_VIP_RECORD"

log = logging.getLogger("havip")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run", help="run the VRRP agent", description="Run the VRRP instances of a keepalived.conf."
    )
    parser.add_argument("-f", "--use-file", default=DEFAULT_CONFIG, help="keepalived.conf path")
    parser.add_argument(
        "--metrics-listen",
        default=os.environ.get(LISTEN_ENV, DEFAULT_LISTEN),
        help=f"HOST:PORT for /metrics, /healthz and /status (env {LISTEN_ENV}; "
        f"default {DEFAULT_LISTEN}; 'off' disables it)",
    )
    parser.add_argument(
        "--health-listen",
        default=os.environ.get(HEALTH_LISTEN_ENV, DEFAULT_HEALTH_LISTEN),
        help=f"HOST:PORT for /healthz alone, plain HTTP with its own connection slots, for "
        f"kubelet and systemd probes (env {HEALTH_LISTEN_ENV}; default {DEFAULT_HEALTH_LISTEN}; "
        "'off' disables it)",
    )
    parser.add_argument(
        "--web.config.file",
        "--web-config-file",
        dest="web_config_file",
        default=os.environ.get(WEB_CONFIG_ENV),
        help="exporter-toolkit web configuration (TLS, basic auth, headers) for the metrics "
        f"listener, re-read when it changes (env {WEB_CONFIG_ENV})",
    )
    parser.add_argument(
        "--vip-record",
        default=os.environ.get(VIP_RECORD_ENV, str(VIP_RECORD_PATH)),
        help="file recording the VIPs havip holds, so a restart after a crash removes them on "
        f"any kernel (env {VIP_RECORD_ENV}; default {VIP_RECORD_PATH}; 'off' disables it)",
    )
    parser.add_argument("--log-format", choices=("text", "json", "syslog"), default="text")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    path = Path(args.use_file)
    try:
        config = load_config(path)
    except ConfigError as error:
        for diagnostic in sorted(
            (*error.diagnostics, *error.warnings), key=lambda d: (d.location.file, d.location.line)
        ):
            print(diagnostic, file=sys.stderr)
        return 2
    web = None
    if args.web_config_file:
        try:
            web = WebConfigWatcher(Path(args.web_config_file))
        except WebConfigError as error:
            print(error, file=sys.stderr)
            return 2
    setup_logging(args.log_format, args.log_level)
    logging.getLogger("pyroute2").setLevel(logging.WARNING)
    for warning in config.warnings:
        log.warning("%s", warning)
    listeners = Listeners(args.metrics_listen, args.health_listen, web)
    record = None if args.vip_record == "off" else Path(args.vip_record)
    apply_process_settings(config.global_defs)  # on this thread, the one trio.run loops on
    trio.run(partial(_serve, config, path, listeners, record))
    return 0


@dataclass(frozen=True, slots=True)
class Listeners:
    """Where to serve HTTP ('off' for none) and the web configuration of the main listener."""

    metrics: str
    health: str
    web: WebConfigWatcher | None


async def _serve(
    config: LoadedConfig, path: Path, listeners: Listeners, record: Path | None
) -> None:
    """The agent and its observers (and the HTTP listeners not turned 'off')."""
    provider = setup_tracing(os.environ)
    tracing = TracingObserver(provider)
    metrics = MetricsObserver(thread_safe_trio_clock())
    logs = LogObserver(trio.current_time)
    tracking = TrackingMetrics(
        metrics.registry,
        scripts=config.scripts,
        interfaces={
            tracked.name
            for tracks in (
                *(i.track_interfaces for i in config.instances),
                *(g.track_interfaces for g in config.sync_groups),
            )
            for tracked in tracks
        },
        instances=[instance.name for instance in config.instances],
        processes=config.track_processes,
    )
    observers: list[Observer] = [metrics, logs, tracking, tracing]
    agent = Agent(
        config,
        FanoutObserver(observers),
        reload_config=partial(load_config, path),
        net=partial(SystemNet, record),
    )
    try:
        async with trio.open_nursery() as nursery:
            alive = partial(_alive, agent)
            if listeners.health != "off":
                await nursery.start(serve_health, listeners.health, HealthApp(alive))
            if listeners.metrics != "off":
                app = HttpApp(
                    metrics.scrape,
                    status=lambda: partial(
                        build_status,
                        agent.runtimes,
                        trio.current_time(),
                        agent.wall_offset,
                        counters=metrics.counters,
                        trace_id=tracing.latest_trace_id,
                    ),
                    alive=alive,
                    web=listeners.web,
                )
                await nursery.start(serve_http, listeners.metrics, app)
            await agent.run()
            nursery.cancel_scope.cancel()
    finally:
        provider.shutdown()


def _alive(agent: Agent) -> bool:
    return not agent.stopped.is_set()
