"""`havip lab`: three routers and a client in network namespaces, a failover drill, a live view.

It is what a newcomer runs first (`sudo scripts/lab`): each router gets a keepalived.conf
generated for it, the drill (havip/lab/drill.py) measures every step from the client's side
and from havip's own metrics, and each router's /metrics is forwarded to the machine's
127.0.0.1 so it can be browsed while the lab runs. Whatever ends it (the summary with --once,
Ctrl-C, SIGTERM, an error), every namespace and process it created is removed; nothing is
ever added to or changed in the machine's own namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import havip
from havip.lab.configs import RouterSpec, keepalived_conf, prometheus_config
from havip.lab.drill import Drill, LabRouter, RunningLab, StepResult, fetch_text, format_summary
from havip.lab.forward import Forwarder
from havip.lab.netns import Host, Lab, LabError, netns_unavailable_reason
from havip.lab.processes import (
    METRICS_PORT,
    PROMETHEUS_PORT,
    keepalived_path,
    prometheus_path,
    start_prometheus,
    wait_for,
)
from havip.lab.report import plotly_missing, write_report
from havip.lab.timeline import Recorder, drill_record
from havip.lab.view import Refresher, View, open_view

NAMESPACE_PREFIX = "hvlab"
ROUTERS = (("r1", 1, 150), ("r2", 2, 100), ("r3", 3, 120))
"""Name, host number and priority. r3 has the second priority, so that with --keepalived it
is the keepalived router that takes over from havip (and hands back) in the drill."""
CLIENT_HOST = 50
MONITOR_HOST = 60
VIP_HOST = 100
LAB_FORWARD_BASE = METRICS_PORT + 8
"""Router rN's metrics are relayed to 127.0.0.1:LAB_FORWARD_BASE+N (10121...), clear of the
ports a havip on this machine itself would use (10112 and 10113)."""
PASSWORD = "1111"
"""keepalived's classic example's auth_pass."""
PROMETHEUS_READY_TIMEOUT = 30.0
EXIT_OK = 0
EXIT_FAILED = 1


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: leave like Ctrl-C does (a BaseException, so that no
    `except Exception` on the way swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True, slots=True)
class LabPlan:
    """What lab to build, from the command-line options."""

    version: int
    advert_int: float
    password: str | None
    ipv6: bool
    keepalived: bool
    prometheus: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LabPlan:
        fast: bool = args.fast
        ipv6: bool = args.ipv6
        version = 3 if fast or ipv6 else 2
        return cls(
            version=version,
            advert_int=0.05 if fast else 1.0,
            password=PASSWORD if version == 2 else None,
            ipv6=ipv6,
            keepalived=args.keepalived,
            prometheus=args.prometheus,
        )

    def address(self, host: int) -> str:
        """A lab address with its prefix length: 192.0.2.N/24 or 2001:db8::N/64."""
        return f"2001:db8::{host}/64" if self.ipv6 else f"192.0.2.{host}/24"

    def describe(self) -> str:
        interval = (
            f"{self.advert_int:g} s" if self.advert_int >= 1 else f"{self.advert_int * 1000:.0f} ms"
        )
        parts = [f"VRRPv{self.version}", f"{interval} adverts"]
        if self.password:
            parts.append("PASS auth")
        parts.append("IPv6" if self.ipv6 else "IPv4")
        if self.keepalived:
            parts.append("r3 is keepalived")
        return ", ".join(parts)

    def router_config(self, name: str, priority: int) -> str:
        spec = RouterSpec(
            priority=priority,
            vips=(self.address(VIP_HOST),),
            version=self.version,
            advert_int=self.advert_int,
            password=self.password,
        )
        return keepalived_conf(spec, router_id=name)

    @property
    def metrics_listen(self) -> str:
        return f"[::]:{METRICS_PORT}" if self.ipv6 else f"0.0.0.0:{METRICS_PORT}"


@dataclass
class Monitor:
    """The lab's Prometheus, in its own namespace, with its web port forwarded."""

    forwarder: Forwarder
    rule_files: list[Path]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="build a VRRP lab in network namespaces and run a failover drill (root)",
        description=(
            "Build three havip routers and a client in network namespaces (192.0.2.0/24), "
            "run a failover drill measured from the client's side, show a live table and keep "
            "the lab running until Ctrl-C. Needs root; never touches the machine's own network."
        ),
    )
    parser.add_argument(
        "--once", action="store_true", help="exit after the drill's summary (for scripts)"
    )
    parser.add_argument("--fast", action="store_true", help="VRRPv3 with 50 ms adverts")
    parser.add_argument("--ipv6", action="store_true", help="an IPv6 lab (2001:db8::/64, VRRPv3)")
    parser.add_argument(
        "--keepalived", action="store_true", help="router r3 is the real keepalived"
    )
    parser.add_argument(
        "--prometheus",
        action="store_true",
        help="run Prometheus in the lab, scraping every havip router with the shipped rules",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        type=Path,
        help=(
            "after the drill, write a self-contained page with its timeline: states, the "
            "client's ping gaps, failover durations, priorities and trace ids (needs havip[lab])"
        ),
    )
    parser.set_defaults(func=lab_command)


def lab_command(args: argparse.Namespace) -> int:
    problem = why_unavailable(args)
    if problem is not None:
        print(f"havip lab: {problem}", file=sys.stderr)
        return EXIT_FAILED
    plan = LabPlan.from_args(args)
    view = open_view(f"havip lab ({plan.describe()})")
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.getsignal(signum) for signum in handled}
    # SIGINT explicitly too: a shell starts background jobs with SIGINT ignored, and Python
    # then leaves it ignored, so `havip lab &` (or a test or script running it) would never stop
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        return run_lab(plan, view, once=args.once, report=args.report)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def why_unavailable(args: argparse.Namespace) -> str | None:
    """What stops the lab from running here, as advice; None when it can run."""
    if os.geteuid() != 0:
        return (
            "the lab builds network namespaces, which needs root: run `sudo scripts/lab` "
            "(or `sudo .venv/bin/havip lab`)"
        )
    reason = netns_unavailable_reason()
    if reason is not None:
        return f"network namespaces are unavailable here: {reason}"
    if args.keepalived and keepalived_path() is None:
        return "--keepalived needs keepalived (Debian package; scripts/setup installs it)"
    if args.prometheus and prometheus_path() is None:
        return "--prometheus needs prometheus (Debian package; scripts/setup installs it)"
    if args.report is not None:
        if not args.report.parent.is_dir():
            return f"--report: no directory {args.report.parent} to write {args.report.name} in"
        return plotly_missing()
    return None


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def run_lab(plan: LabPlan, view: View, once: bool, report: Path | None = None) -> int:
    """Build, drill, summarise (and write the report), then wait for Ctrl-C; always remove
    what was built.

    Exit status: 0 when the drill completed (also when Ctrl-C then ends the lab), 1 when the
    lab failed (its files are kept for the logs), 128+N when signal N interrupted the drill.
    """
    workdir = Path(tempfile.mkdtemp(prefix="havip-lab-"))
    failed = False
    drilled = False
    cleanup = contextlib.ExitStack()
    cleanup.callback(_remove_files, workdir, lambda: failed, view)
    try:
        running, monitor = build(plan, workdir, view, cleanup)
        recorder = Recorder()
        refresher = Refresher(view, running, record=recorder.sample)
        cleanup.callback(view.close)
        refresher.start()
        cleanup.callback(refresher.stop)
        drill = Drill(running, view.headline, view.say, on_action=recorder.act)
        started = time.time()
        results = drill.run()
        ended = time.time()
        drilled = True
        view.headline("drill done")
        for line in summary(plan, running, monitor, results, once):
            view.say(line)
        if report is not None:
            record = drill_record(
                plan.describe(), running, drill, results, recorder, started, ended
            )
            write_report(report, record)
            view.say(f"report: {report.resolve()}")
        if once:
            return EXIT_OK
        view.headline("the lab is running; Ctrl-C removes it")
        while True:
            time.sleep(3600)
    except LabError as error:
        failed = True
        view.say(f"havip lab: {error}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        view.say("havip lab: interrupted: removing the lab")
        return EXIT_OK if drilled else 128 + signal.SIGINT
    except Terminated as terminated:
        view.say(f"havip lab: {terminated}: removing the lab")
        return EXIT_OK if drilled else 128 + terminated.signum
    finally:
        _ignore_signals()
        cleanup.close()


def _ignore_signals() -> None:
    """While the lab is being removed, a second Ctrl-C must not leave half of it behind."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


def _remove_files(workdir: Path, keep: Callable[[], bool], view: View) -> None:
    if keep():
        view.say(f"havip lab: the routers' configurations and logs are kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a namespace is created and recorded, so that an
    interruption can never leave a namespace the cleanup does not know about."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def build(
    plan: LabPlan, workdir: Path, view: View, cleanup: contextlib.ExitStack
) -> tuple[RunningLab, Monitor | None]:
    """The namespaces, forwarders and (with --prometheus) Prometheus; routers start in the
    drill's election. Everything is registered on `cleanup` as soon as it exists."""
    view.headline("building the lab")
    with _signals_deferred():
        lab = Lab(NAMESPACE_PREFIX)
        cleanup.callback(_close_lab, lab, view)
    routers = []
    for name, number, priority in ROUTERS:
        with _signals_deferred():
            host = lab.add_host(name, plan.address(number))
        kind = "keepalived" if plan.keepalived and name == "r3" else "havip"
        router = LabRouter(
            name=name,
            kind=kind,
            priority=priority,
            address=plan.address(number).split("/")[0],
            host=host,
            config=plan.router_config(name, priority),
            workdir=workdir,
            metrics_listen=plan.metrics_listen,
        )
        (workdir / f"{name}.conf").write_text(router.config)
        if kind == "havip":
            target = ("127.0.0.1", METRICS_PORT)
            router.forwarder = Forwarder(host.namespace, target, LAB_FORWARD_BASE + number)
            cleanup.callback(router.forwarder.close)
        routers.append(router)
    with _signals_deferred():
        client = lab.add_host("client", plan.address(CLIENT_HOST))
    monitor_host = None
    if plan.prometheus:
        with _signals_deferred():
            monitor_host = lab.add_host("monitor", plan.address(MONITOR_HOST))
    if plan.ipv6:
        lab.wait_link_local()
    for router in routers:
        router.own_addresses = frozenset(router.host.addresses_on())
    running = RunningLab(
        lab, routers, client, plan.address(VIP_HOST).split("/")[0], plan.advert_int
    )
    addresses = ", ".join(f"{router.name} {router.address}" for router in routers)
    view.say(
        f"lab: namespaces {lab.prefix}-{{sw,{','.join(lab.hosts)}}}; {addresses}, "
        f"client {client.addresses[0].split('/')[0]}, VIP {running.vip}"
    )
    view.say(f"lab: configurations and logs in {workdir}")
    monitor = None
    if monitor_host is not None:
        monitor = start_monitor(plan, running, monitor_host, workdir, cleanup)
    return running, monitor


def _close_lab(lab: Lab, view: View) -> None:
    namespaces = len(lab.hosts) + 1
    lab.close()
    view.say(f"lab removed: {namespaces} namespaces ({lab.prefix}-*) and their processes")


def shipped_rule_files() -> list[Path]:
    """The repository's alert rules (alerts/*.rules.yml next to the havip package)."""
    alerts = Path(havip.__file__).resolve().parent.parent / "alerts"
    return sorted(alerts.glob("*.rules.yml"))


def start_monitor(
    plan: LabPlan,
    running: RunningLab,
    host: Host,
    workdir: Path,
    cleanup: contextlib.ExitStack,
) -> Monitor:
    """Prometheus in the monitor namespace, scraping every havip router each second."""
    targets = [
        f"[{router.address}]:{METRICS_PORT}" if plan.ipv6 else f"{router.address}:{METRICS_PORT}"
        for router in running.routers
        if router.kind == "havip"
    ]
    rules = shipped_rule_files()
    config = prometheus_config(targets, [str(path) for path in rules])
    listen = f"[::]:{PROMETHEUS_PORT}" if plan.ipv6 else f"0.0.0.0:{PROMETHEUS_PORT}"
    daemon = start_prometheus(host, config, workdir / "prometheus", listen)
    forwarder = Forwarder(host.namespace, ("127.0.0.1", PROMETHEUS_PORT), PROMETHEUS_PORT)
    cleanup.callback(forwarder.close)
    wait_for(
        lambda: (
            daemon.process.poll() is None and fetch_text(forwarder.url + "/-/ready") is not None
        ),
        PROMETHEUS_READY_TIMEOUT,
        f"Prometheus to be ready (log: {daemon.log_path})",
        interval=0.2,
    )
    return Monitor(forwarder, rules)


def summary(
    plan: LabPlan,
    running: RunningLab,
    monitor: Monitor | None,
    results: list[StepResult],
    once: bool,
) -> list[str]:
    """The drill's table, what its columns mean, and where to look while the lab runs."""
    lines = [
        "",
        f"Drill summary ({plan.describe()}; the client pings {running.vip} every 10 ms):",
        *format_summary(results),
        "CLIENT OUTAGE: the largest gap between the client's ping replies around the step.",
        "HAVIP FAILOVER: what the new master recorded in havip_vrrp_failover_duration_seconds "
        "(old master's last advert heard -> VIPs announced).",
        "",
        "While the lab runs, from this machine:",
    ]
    for router in running.routers:
        if router.forwarder is None:
            lines.append(f"  {router.name} ({router.kind}): no /metrics (keepalived has none)")
        else:
            url = router.forwarder.url
            lines.append(
                f"  {router.name} (havip): {url}/metrics  (and /status: havip status --url {url})"
            )
    if monitor is not None:
        url = monitor.forwarder.url
        lines.append(f"  Prometheus: {url}  ({prometheus_facts(monitor)})")
        lines.append(f"    open {url}/alerts, or graph havip_vrrp_state == 1 at {url}/graph")
    lines.append(
        f"  inside the lab: sudo ip netns exec {running.client.namespace} ping {running.vip}"
    )
    if once:
        lines.append("--once: removing the lab now.")
    else:
        lines.append("The lab keeps running with the live table below; Ctrl-C removes it.")
    return lines


def prometheus_facts(monitor: Monitor) -> str:
    """Targets up, rules loaded and alerts firing, as Prometheus's API reports them now."""
    base = monitor.forwarder.url + "/api/v1/"
    targets = _api(base + "targets").get("activeTargets", [])
    up = sum(1 for target in targets if target.get("health") == "up")
    groups = _api(base + "rules").get("groups", [])
    rules = sum(len(group.get("rules", [])) for group in groups)
    firing = sorted(
        {
            alert["labels"]["alertname"]
            for alert in _api(base + "alerts").get("alerts", [])
            if alert.get("state") == "firing"
        }
    )
    rule_files = ", ".join(path.name for path in monitor.rule_files) or "none found"
    return (
        f"{up}/{len(targets)} targets up, {rules} rules from {rule_files}, "
        f"alerts firing: {', '.join(firing) or 'none'}"
    )


def _api(url: str) -> dict[str, Any]:
    text = fetch_text(url)
    if text is None:
        return {}
    try:
        data = json.loads(text).get("data", {})
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
