"""A real Prometheus server in a lab namespace, and the parts of its HTTP API the tests read.

Why a real server and not promtool alone: alerts/tests prove the rules' logic on series written
by hand; a live server proves the rules and dashboards against what havip really exports, scraped
the way operators scrape it (OpenMetrics negotiated, exemplars stored), with nothing but the
Debian package between the two.

Prometheus listens inside its namespace, where the test process cannot connect; a
havip.lab.forward.Forwarder relays a free 127.0.0.1 port of the machine into the namespace, so
every API call is one plain HTTP request and no interface or route of the machine changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from havip.lab.forward import Forwarder
from havip.lab.netns import Host, LabError

PORT = 9090
READY_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0

Json = dict[str, Any]


class PrometheusError(RuntimeError):
    """Prometheus answered a request with an error (bad PromQL, unknown endpoint...)."""


def prometheus_binary() -> str | None:
    """The Prometheus server of the Debian package (scripts/setup installs it), if any."""
    found = shutil.which("prometheus")
    if found is not None:
        return found
    return "/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None


def instant_values(result: Iterable[Json]) -> list[float]:
    """The sample values of an instant-vector result."""
    return [float(series["value"][1]) for series in result]


class Prometheus:
    """One Prometheus server in `host`, its configuration and TSDB under `workdir`.

    `features` go to --enable-feature; exemplar-storage is on by default because without it
    Prometheus parses exemplars from OpenMetrics scrapes and throws them away.
    """

    def __init__(
        self,
        host: Host,
        workdir: Path,
        config: str,
        features: Sequence[str] = ("exemplar-storage",),
    ) -> None:
        binary = prometheus_binary()
        if binary is None:
            raise LabError("prometheus is not installed (scripts/setup installs it)")
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(config)
        self.log_path = workdir / "log"
        args = [
            binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=0.0.0.0:{PORT}",
            "--log.level=info",
        ]
        if features:
            args.append(f"--enable-feature={','.join(features)}")
        with self.log_path.open("ab") as log:
            self.process = host.popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._forwarder = Forwarder(host.namespace, ("127.0.0.1", PORT), preferred_port=0)
        # The forwarder's port is on the machine's loopback: keep any configured HTTP proxy
        # from intercepting requests to it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def url(self) -> str:
        """Where the API answers, from this process (the forwarder on 127.0.0.1)."""
        return self._forwarder.url

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait for /-/ready: the TSDB is open and the rule files are loaded."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise LabError(
                    f"prometheus exited with {self.process.returncode}:\n{self.log_text()}"
                )
            try:
                with self._opener.open(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise LabError(f"prometheus not ready after {timeout:g}s:\n{self.log_text()}")
            time.sleep(0.1)

    def close(self) -> None:
        """Stop relaying and stop the server (the lab would kill it too, later)."""
        self._forwarder.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # --- the HTTP API -------------------------------------------------------------------------

    def api(self, path: str, params: Mapping[str, str | Sequence[str]] | None = None) -> Any:
        """GET /api/v1/`path` and return its `data`; PrometheusError with its message if not."""
        query = urllib.parse.urlencode(params or {}, doseq=True)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with self._opener.open(url, timeout=REQUEST_TIMEOUT) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            raise PrometheusError(
                f"{path} {dict(params or {})}: HTTP {error.code}: {text}"
            ) from None
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {dict(params or {})}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[Json]:
        """An instant query: the result list (series with `metric` and `value`)."""
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        data = self.api("query", params)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[Json] = data["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Json]:
        """A range query: series with `metric` and `values` [[time, "value"], ...]."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        result: list[Json] = self.api("query_range", params)["result"]
        return result

    def query_exemplars(self, expr: str, start: float, end: float) -> list[Json]:
        """Exemplars of the series `expr` selects: [{seriesLabels, exemplars: [...]}, ...]."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        result: list[Json] = self.api("query_exemplars", params)
        return result

    def label_values(self, label: str, match: str, start: float, end: float) -> list[str]:
        """What Grafana's label_values(match, label) variable query lists."""
        params = {"match[]": [match], "start": f"{start:.3f}", "end": f"{end:.3f}"}
        values: list[str] = self.api(f"label/{label}/values", params)
        return values

    def alerts(self) -> list[Json]:
        """Active alerts (pending or firing): labels, annotations, state, activeAt, value."""
        alerts: list[Json] = self.api("alerts")["alerts"]
        return alerts

    def targets(self) -> list[Json]:
        """Active scrape targets: labels, scrapeUrl, health, lastError, lastScrape."""
        targets: list[Json] = self.api("targets", {"state": "active"})["activeTargets"]
        return targets

    def rule_groups(self) -> list[Json]:
        """The loaded rule groups with their rules' health and, for alerts, their `duration`."""
        groups: list[Json] = self.api("rules")["groups"]
        return groups
