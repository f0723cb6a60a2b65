"""havip as a real Prometheus sees it: metrics, exemplars, the shipped alerts and dashboards.

One lab serves the whole module, because starting routers and a Prometheus server costs more
than every scenario here: routers r1 (priority 150) and r2 (priority 100) in VRRP group 51 with
PASS authentication, a "monitor" host running the Debian Prometheus that scrapes both every
second over the bridge, and an "attacker" host that crafts bad adverts with scapy. Each test
starts by waiting for the settled group (r1 master, r2 backup, both freshly scraped) and undoes
what it changes, so the tests pass alone or in any order.

The routers run with OTEL_TRACES_EXPORTER=console: the SDK prints every span as JSON into the
router's log, which is where the exemplar test looks for the trace an exemplar points at.

Each router also tracks an interface, trk0 (one end of a veth pair inside its own namespace),
runs a vrrp_script and a notify script. Setting trk0 down puts the instance in FAULT while
eth0, the interface Prometheus scrapes through, stays up: the FAULT alert needs the faulted
router's metrics. The script and notify give the tracker and notify dashboard panels data.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from havip.lab.configs import RouterSpec, keepalived_conf, prometheus_config
from havip.lab.netns import Host, Lab
from havip.lab.processes import METRICS_PORT, Router, start_havip, start_monitor, wait_for
from tests.observe.dashboard_queries import panel_queries, substitute_variables

from .conftest import NETNS_UNAVAILABLE, holders, wait_single_holder
from .prometheus import Prometheus, instant_values, prometheus_binary
from .test_bad_packets import CRAFTERS, SENDER

pytestmark = [pytest.mark.netns, pytest.mark.prometheus]

Json = dict[str, Any]

VIP = "192.0.2.100"
PASSWORD = "s3cret"
JOB = "havip-lab"
ADDRESSES = {"r1": "192.0.2.1", "r2": "192.0.2.2"}
PRIORITIES = {"r1": 150, "r2": 100}
NAMES = list(ADDRESSES)
MONITOR = "192.0.2.9/24"
ATTACKER = "192.0.2.66/24"  # the source address SENDER puts in its packets
SENDS = 3
TRACKED_LINK = "trk0"
REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "alerts" / "havip.rules.yml"
SEGMENT_JOB = "havip-monitor"
SEGMENT_PORT = 10114
"""`havip monitor` runs on the monitor host too, scraped as its own job, so that the segment
panels of the fleet dashboard have data (it hears the group, the failovers and the crafted
bad adverts)."""
DASHBOARDS = REPO / "dashboards"


def shipped_dashboards() -> dict[str, Json]:
    """The dashboard files users import (what the mixin rendered), by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


TRACING = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}
"""Spans printed as JSON to the router's log, in batches every 100 ms instead of 5 s."""

ALERT_FOR = "5s"
"""The shipped rules hold alerts pending for one to fifteen minutes (`for:`) so that a blip does
not page anyone. A test cannot wait that long, so Prometheus loads a copy of the rule file in
which only the `for:` values are shortened; expressions, labels and annotations are the shipped
ones. 5 s is still five evaluations, long enough to see each alert pending before it fires."""

RATE_INTERVAL = "4s"
"""Grafana's $__rate_interval for a 1 s scrape interval: max($__interval + scrape, 4 x scrape)."""

CHECK_SCRIPT = """
vrrp_script chk_alive {
    script "/bin/true"
    interval 1
}
"""


def router_config(priority: int) -> str:
    spec = RouterSpec(
        priority=priority,
        password=PASSWORD,
        extra=(
            "track_interface {",
            f"    {TRACKED_LINK}",
            "}",
            "track_script {",
            "    chk_alive",
            "}",
            "notify /bin/true",
        ),
    )
    return keepalived_conf(spec) + CHECK_SCRIPT


def add_tracked_link(host: Host) -> None:
    """A veth pair inside the host's own namespace: trk0 goes down without touching eth0."""
    host.exec("ip", "link", "add", TRACKED_LINK, "type", "veth", "peer", "name", "trk0p")
    host.exec("ip", "link", "set", "trk0p", "up")
    host.exec("ip", "link", "set", TRACKED_LINK, "up")


def rules_with_short_for(path: Path) -> Path:
    """A copy of alerts/havip.rules.yml with every `for:` set to ALERT_FOR (see there why)."""
    text = RULES.read_text()
    shortened, count = re.subn(
        r"^(\s+for:\s*)\S+[ \t]*$", rf"\g<1>{ALERT_FOR}", text, flags=re.MULTILINE
    )
    alerts = len(re.findall(r"^\s+- alert:", text, flags=re.MULTILINE))
    assert count == alerts, f"{count} `for:` lines for {alerts} alerts in {RULES}"
    path.write_text(shortened)
    return path


def target(name: str) -> str:
    """Prometheus' `instance` label of a router: the address and port it scrapes."""
    return f"{ADDRESSES[name]}:{METRICS_PORT}"


TARGETS = {name: target(name) for name in NAMES}


@dataclass
class Monitored:
    lab: Lab
    routers: dict[str, Router]
    prometheus: Prometheus
    started: float
    """Unix time before anything started: the start of every range query."""

    def logs(self, lines: int = 200) -> str:
        parts = [
            f"----- {r.kind} on {name} (exit {r.process.poll()})\n"
            + "\n".join(r.log_text().splitlines()[-lines:])
            for name, r in self.routers.items()
        ]
        prometheus_log = "\n".join(self.prometheus.log_text().splitlines()[-lines:])
        return "\n".join([*parts, f"----- prometheus\n{prometheus_log}"])


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    if NETNS_UNAVAILABLE is not None:
        pytest.skip(f"this machine cannot run namespace labs: {NETNS_UNAVAILABLE}")
    if prometheus_binary() is None:
        pytest.skip("prometheus is not installed here: run scripts/setup (Debian package)")
    workdir = tmp_path_factory.mktemp("prometheus-lab")
    started = time.time()
    with Lab() as lab:
        for name, address in ADDRESSES.items():
            add_tracked_link(lab.add_host(name, f"{address}/24"))
        monitor = lab.add_host("monitor", MONITOR)
        lab.add_host("attacker", ATTACKER)
        routers = {
            name: start_havip(
                lab.hosts[name], router_config(PRIORITIES[name]), workdir / name, env=TRACING
            )
            for name in NAMES
        }
        routers["segment-monitor"] = start_monitor(
            monitor, workdir / "segment-monitor", metrics_listen=f"0.0.0.0:{SEGMENT_PORT}"
        )
        rules = rules_with_short_for(workdir / "havip.rules.yml")
        config = json.loads(prometheus_config(list(TARGETS.values()), [str(rules)], job=JOB))
        config["scrape_configs"].append(
            {
                "job_name": SEGMENT_JOB,
                "static_configs": [{"targets": [f"{MONITOR.split('/')[0]}:{SEGMENT_PORT}"]}],
            }
        )
        prometheus = Prometheus(monitor, workdir / "prometheus", json.dumps(config, indent=2))
        try:
            prometheus.wait_ready()
            yield Monitored(lab, routers, prometheus, started)
        finally:
            prometheus.close()
            for router in routers.values():
                router.stop()


@pytest.fixture(autouse=True)
def logs_on_failure(monitored: Monitored, request: pytest.FixtureRequest) -> Iterator[None]:
    """The lab outlives each test, so conftest's `routers` fixture cannot show its logs."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(monitored.logs())


# --- reading Prometheus -------------------------------------------------------------------------


def by_router(prometheus: Prometheus, expr: str) -> dict[str, float]:
    """`expr`'s value per scraped router (its `instance` label)."""
    return {s["metric"]["instance"]: float(s["value"][1]) for s in prometheus.query(expr)}


def states(prometheus: Prometheus) -> dict[str, str]:
    """The state each router reports now, as Prometheus last scraped it."""
    return {
        s["metric"]["instance"]: s["metric"]["state"]
        for s in prometheus.query(f'havip_vrrp_state{{job="{JOB}", vrrp_instance="VI_1"}} == 1')
    }


def scraped_since(prometheus: Prometheus, since: float, names: list[str]) -> bool:
    """Whether Prometheus holds a successful scrape of each router started after `since`."""
    # timestamp() must take the selector itself: of a computed vector (`up == 1`) it returns
    # the evaluation time, not the scrape's.
    stamps = by_router(prometheus, f'timestamp(up{{job="{JOB}"}})')
    up = by_router(prometheus, f'up{{job="{JOB}"}}')
    return all(
        stamps.get(TARGETS[name], 0.0) > since and up.get(TARGETS[name]) == 1.0 for name in names
    )


def wait_scraped(prometheus: Prometheus, names: list[str]) -> None:
    """Wait until what Prometheus answers reflects the lab as it is now."""
    since = time.time()
    wait_for(lambda: scraped_since(prometheus, since, names), 10, f"fresh scrapes of {names}")


def settle(m: Monitored) -> None:
    """Wait for the group every test starts from: r1 master, r2 backup, both scraped since."""
    wait_single_holder(m.lab, VIP, NAMES, "r1", timeout=20)
    wait_scraped(m.prometheus, NAMES)
    expected = {TARGETS["r1"]: "master", TARGETS["r2"]: "backup"}
    wait_for(lambda: states(m.prometheus) == expected, 10, f"Prometheus to see {expected}")


def active_alerts(prometheus: Prometheus, name: str) -> dict[str, Json]:
    """The pending or firing alerts named `name`, by the router (instance) they are about."""
    return {
        alert["labels"]["instance"]: alert
        for alert in prometheus.alerts()
        if alert["labels"]["alertname"] == name
    }


def alert_states(prometheus: Prometheus, name: str) -> dict[str, str]:
    """Router -> "pending" or "firing": the part of an alert that tests wait on and report."""
    return {instance: a["state"] for instance, a in active_alerts(prometheus, name).items()}


def wait_pending_then_firing(prometheus: Prometheus, name: str, expected: set[str]) -> None:
    """Wait to see alert `name` pending, then firing for exactly the routers `expected`."""
    wait_for(lambda: "pending" in alert_states(prometheus, name).values(), 20, f"{name} pending")
    firing = dict.fromkeys(expected, "firing")
    wait_for(
        lambda: alert_states(prometheus, name) == firing,
        20,
        f"{name} firing for {sorted(expected)} (now {alert_states(prometheus, name)})",
    )


def wait_no_alert(prometheus: Prometheus, name: str, timeout: float = 20) -> None:
    """Resolved alerts leave /api/v1/alerts, which lists only pending and firing ones."""
    wait_for(
        lambda: not active_alerts(prometheus, name),
        timeout,
        f"{name} to be inactive (now {alert_states(prometheus, name)})",
    )


# --- driving the lab ----------------------------------------------------------------------------


def send_crafted(m: Monitored, *kinds: str) -> None:
    """SENDS copies of each crafted advert (test_bad_packets.CRAFTERS) from the attacker."""
    packets = "[" + ", ".join(CRAFTERS[kind] for kind in kinds) + "]"
    script = SENDER.format(vip=VIP, pw=PASSWORD, packets=packets, count=SENDS)
    m.lab.hosts["attacker"].exec(sys.executable, "-c", script)


def set_tracked_link(m: Monitored, name: str, up: bool) -> None:
    """FAULT (down) or its end (up) for router `name`, with eth0 and its scrapes untouched."""
    m.lab.hosts[name].exec("ip", "link", "set", TRACKED_LINK, "up" if up else "down")


def exported_spans(log: str) -> list[Json]:
    """The spans ConsoleSpanExporter printed into a router's log (indented JSON objects)."""
    decoder = json.JSONDecoder()
    spans = []
    for start in re.finditer(r"^\{$", log, flags=re.MULTILINE):
        try:
            span, _ = decoder.raw_decode(log, start.start())
        except json.JSONDecodeError:
            continue  # a log line written in the middle of a span's JSON
        if isinstance(span, dict) and "context" in span:
            spans.append(span)
    return spans


def spans_of_trace(router: Router, trace_id: str) -> list[Json]:
    """The exported spans of one trace; exemplars give the id without the JSON's 0x."""
    return [
        span
        for span in exported_spans(router.log_text())
        if span["context"]["trace_id"] == f"0x{trace_id}"
    ]


# --- issue 4: observability, live ---------------------------------------------------------------


def test_exactly_one_master_across_the_group(monitored: Monitored) -> None:
    m, prometheus = monitored, monitored.prometheus
    wait_single_holder(m.lab, VIP, NAMES, "r1", timeout=20)
    wait_scraped(prometheus, NAMES)

    health = {
        t["labels"]["instance"]: t["health"]
        for t in prometheus.targets()
        if t["labels"]["job"] == JOB
    }
    assert health == dict.fromkeys(TARGETS.values(), "up")
    masters = prometheus.query(f'havip_vrrp_state{{job="{JOB}", state="master"}} == 1')
    assert [s["metric"]["instance"] for s in masters] == [TARGETS["r1"]]
    total = f'sum(havip_vrrp_state{{job="{JOB}", state="master"}})'
    assert instant_values(prometheus.query(total)) == [1.0]
    assert states(prometheus) == {TARGETS["r1"]: "master", TARGETS["r2"]: "backup"}
    # The shipped recording rule groups the two routers into one VRRP group with one master.
    wait_for(
        lambda: instant_values(prometheus.query("havip:vrrp_group_masters:count")) == [1.0],
        10,
        "havip:vrrp_group_masters:count to be evaluated as one group with one master",
    )


def test_failover_is_counted_and_its_exemplar_names_the_transition_span(
    monitored: Monitored,
) -> None:
    m, prometheus = monitored, monitored.prometheus
    settle(m)
    new = TARGETS["r2"]
    failovers = f'havip_vrrp_failover_duration_seconds_count{{instance="{new}"}}'
    master_down = (
        f'sum(havip_vrrp_transitions_total{{instance="{new}", reason="master_down"}}) or vector(0)'
    )
    failovers_before = instant_values(prometheus.query(failovers))
    master_down_before = instant_values(prometheus.query(master_down))
    assert len(failovers_before) == 1, "the failover histogram exists from start-up"

    cut_at = time.time()
    m.lab.cut("r1")
    try:
        wait_for(lambda: holders(m.lab, VIP, ["r2"]) == ["r2"], 15, "r2 to take over the VIP")
        wait_scraped(prometheus, ["r2"])

        masters = prometheus.query(f'havip_vrrp_state{{job="{JOB}", state="master"}} == 1')
        assert [s["metric"]["instance"] for s in masters] == [new]
        assert instant_values(prometheus.query(failovers))[0] > failovers_before[0]
        assert instant_values(prometheus.query(master_down))[0] > master_down_before[0]

        buckets = f'havip_vrrp_failover_duration_seconds_bucket{{instance="{new}"}}'

        def exemplars_since_cut() -> list[Json]:
            found = prometheus.query_exemplars(buckets, cut_at - 1, time.time() + 1)
            return [e for s in found for e in s["exemplars"] if e["timestamp"] >= cut_at]

        wait_for(lambda: bool(exemplars_since_cut()), 10, "the failover's exemplar")
        trace_ids = {e["labels"]["trace_id"] for e in exemplars_since_cut()}
        assert len(trace_ids) == 1, f"one failover since the cut, exemplars say {trace_ids}"
        trace_id = trace_ids.pop()

        router = m.routers["r2"]
        wait_for(lambda: bool(spans_of_trace(router, trace_id)), 10, f"span of trace {trace_id}")
        transitions = [
            s for s in spans_of_trace(router, trace_id) if s["name"] == "vrrp.transition"
        ]
        assert len(transitions) == 1
        attributes = transitions[0]["attributes"]
        assert attributes["vrrp.instance"] == "VI_1"
        assert (attributes["vrrp.from"], attributes["vrrp.to"]) == ("backup", "master")
        assert attributes["vrrp.reason"] == "master_down"
    finally:
        m.lab.restore("r1")


@pytest.mark.parametrize(
    ("crafted", "expr"),
    [
        pytest.param(
            "auth_password",
            'havip_vrrp_auth_failures_total{vrrp_instance="VI_1", reason="password"}',
            id="wrong-password-auth-failures",
        ),
        pytest.param(
            "ttl",
            'havip_vrrp_packets_rejected_total{vrrp_instance="VI_1", reason="ttl"}',
            id="ttl-64-rejected",
        ),
    ],
)
def test_bad_adverts_raise_their_counter_in_prometheus(
    monitored: Monitored, crafted: str, expr: str
) -> None:
    m, prometheus = monitored, monitored.prometheus
    settle(m)
    per_router = f"sum by (instance) ({expr})"
    before = by_router(prometheus, per_router)
    assert set(before) == set(TARGETS.values()), "the series exist from start-up"

    send_crafted(m, crafted)

    def counted() -> bool:
        now = by_router(prometheus, per_router)
        return all(now.get(t, 0.0) >= before[t] + SENDS for t in TARGETS.values())

    wait_for(counted, 10, f"{SENDS} more {expr} on both routers (was {before})")
    assert holders(m.lab, VIP, NAMES) == ["r1"]


# --- issue 7: alert rules and dashboards, live --------------------------------------------------


def test_rule_file_loads_with_every_alert_healthy(monitored: Monitored) -> None:
    prometheus = monitored.prometheus
    shipped = re.findall(r"^\s+- alert:\s*(\S+)", RULES.read_text(), flags=re.MULTILINE)
    wait_for(
        lambda: all(
            rule["health"] == "ok" for group in prometheus.rule_groups() for rule in group["rules"]
        ),
        10,
        "every rule evaluated without error",
    )
    loaded = [
        rule["name"]
        for group in prometheus.rule_groups()
        for rule in group["rules"]
        if rule["type"] == "alerting"
    ]
    assert loaded == shipped


def test_split_brain_alert_fires_while_vrrp_is_cut_and_clears_after(
    monitored: Monitored,
) -> None:
    m, prometheus = monitored, monitored.prometheus
    settle(m)
    wait_no_alert(prometheus, "HavipSplitBrain")

    for name in NAMES:  # they stop hearing each other; the monitor still reaches both
        m.lab.isolate(name)
    try:
        wait_pending_then_firing(prometheus, "HavipSplitBrain", set(TARGETS.values()))
        for alert in active_alerts(prometheus, "HavipSplitBrain").values():
            assert alert["labels"]["severity"] == "critical"
            assert alert["labels"]["vrid"] == "51"
            assert alert["labels"]["vrrp_instance"] == "VI_1"
            assert float(alert["value"]) == 2.0  # masters in the group
        assert sorted(holders(m.lab, VIP, NAMES)) == NAMES
    finally:
        for name in NAMES:
            m.lab.isolate(name, False)
    wait_no_alert(prometheus, "HavipSplitBrain")
    assert holders(m.lab, VIP, NAMES) == ["r1"]


def test_instance_fault_alert_fires_for_the_faulted_router(monitored: Monitored) -> None:
    m, prometheus = monitored, monitored.prometheus
    settle(m)
    wait_no_alert(prometheus, "HavipInstanceFault")

    set_tracked_link(m, "r1", up=False)
    try:
        wait_pending_then_firing(prometheus, "HavipInstanceFault", {TARGETS["r1"]})
        alert = active_alerts(prometheus, "HavipInstanceFault")[TARGETS["r1"]]
        assert alert["labels"]["severity"] == "warning"
        assert alert["labels"]["vrrp_instance"] == "VI_1"
        assert alert["labels"]["interface"] == "eth0"
        assert holders(m.lab, VIP, NAMES) == ["r2"]
    finally:
        set_tracked_link(m, "r1", up=True)
    wait_no_alert(prometheus, "HavipInstanceFault")


LABEL_VALUES = re.compile(r"^label_values\((?P<match>.+),\s*(?P<label>\w+)\)$")

CHOSEN = {"job": JOB, "router": TARGETS["r2"], "vrrp_instance": "VI_1"}
"""Values for single-value variables. r2 is the router whose drill-down has everything: it took
over from r1 (failover and takeover histograms, exemplars), received r1's priority-0 advert
and gave the VIP back (VIP removals)."""


def dashboard_targets(board: Json) -> list[tuple[str, Json]]:
    """(panel title, query target) of every panel, in the order panel_queries gives."""
    found = [
        (nested["title"], query)
        for panel in board["panels"]
        for nested in [panel, *panel.get("panels", [])]
        for query in nested.get("targets", [])
    ]
    assert [query["expr"] for _, query in found] == panel_queries(board)
    return found


def resolve_variables(
    prometheus: Prometheus, board: Json, start: float, end: float
) -> dict[str, str]:
    """Each template variable's value, found the way Grafana finds it.

    A query variable's options come from its label_values() query on this Prometheus (earlier
    variables filled in); the lab's value must be among them. Multi-value variables with
    "All" take their allValue, single-value ones the value in CHOSEN. The datasource appears
    in no expression.
    """
    values = {"__rate_interval": RATE_INTERVAL}
    for variable in board["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "datasource":
            values[name] = "prometheus"
            continue
        parsed = LABEL_VALUES.match(variable["definition"])
        assert parsed is not None, f"variable {name}: {variable['definition']}"
        match = substitute_variables(parsed["match"], values)
        options = prometheus.label_values(parsed["label"], match, start, end)
        assert CHOSEN[name] in options, f"variable {name} lists {options}"
        values[name] = variable["allValue"] if variable["includeAll"] else CHOSEN[name]
    return values


"""Panels that ask Prometheus for exemplars which havip does not export, with the reason."""

MOVED_BY_BAD_ADVERTS = ("Rejected packets by reason", "Authentication failures by reason")
"""Panels that must show more than zeros once the scenario has sent bad adverts."""


def finite(samples: list[list[Any]]) -> list[float]:
    """The values Grafana can draw: NaN (e.g. a quantile with no observations) is no data."""
    return [float(v) for _, v in samples if math.isfinite(float(v))]


def test_every_dashboard_query_returns_data(monitored: Monitored) -> None:
    """Every query of every panel, variables filled in, returns something Grafana can draw.

    A zero is data (a flat line at 0 is what a healthy lab shows for most rates); NaN is not.
    The scenario makes the rare events happen so their panels are not empty: bad adverts
    (rejected packets and authentication failures, which must also be non-zero), and a
    FAULT of the master that hands the VIP to r2 by a priority-0 advert and back by
    preemption (failover and takeover durations, priority-0 adverts, VIP changes,
    announcements, notify runs, tracked interface down).
    """
    m, prometheus = monitored, monitored.prometheus
    settle(m)
    send_crafted(m, "ttl", "auth_password", "length")
    set_tracked_link(m, "r1", up=False)
    try:
        wait_for(lambda: holders(m.lab, VIP, NAMES) == ["r2"], 15, "r2 to take over")
    finally:
        set_tracked_link(m, "r1", up=True)
    settle(m)
    end = time.time()
    # Range steps are start + k s; starting a whole number of seconds before `end` makes `end`
    # itself the last step, so the rate windows there include the scrape that saw the last event.
    start = end - math.ceil(end - m.started)

    empty: list[str] = []
    for file_name, board in shipped_dashboards().items():
        values = resolve_variables(prometheus, board, start, end)
        for title, query in dashboard_targets(board):
            expr = substitute_variables(query["expr"], values)
            where = f"{file_name} / {title} / {query['refId']}: {expr}"
            if query["instant"]:
                samples = [s["value"] for s in prometheus.query(expr, at=end)]
            else:
                series = prometheus.query_range(expr, start, end, step=1)
                samples = [sample for s in series for sample in s["values"]]
            drawn = finite(samples)
            if not drawn:
                empty.append(where)
            elif title in MOVED_BY_BAD_ADVERTS and max(drawn) <= 0:
                empty.append(f"{where} (only zeros after bad adverts were sent)")
            if query["exemplar"]:
                stored = bool(prometheus.query_exemplars(expr, start, end))
                if not stored:
                    empty.append(f"{where} (no exemplars)")
    assert not empty, "panels without data:\n" + "\n".join(empty)
