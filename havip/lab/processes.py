"""Starting havip and keepalived routers inside lab namespaces.

Both read the same generated keepalived.conf; each router gets its own directory for the
config, pid files and log, so several keepalived daemons can share one machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from havip.lab.netns import Host, LabError
from havip.observe.http import DEFAULT_PORT

METRICS_PORT = DEFAULT_PORT


@dataclass
class Router:
    """A VRRP daemon (havip or keepalived) running in a lab host."""

    kind: str
    host: Host
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def log_path(self) -> Path:
        return self.workdir / "log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signum)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def status(self) -> dict[str, Any]:
        """havip's /status, fetched from inside the router's namespace."""
        url = f"http://127.0.0.1:{METRICS_PORT}/status"
        text = self.host.exec(sys.executable, "-c", _FETCH, url).stdout
        result: dict[str, Any] = json.loads(text)
        return result

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
        return self.host.exec(sys.executable, "-c", _FETCH, url).stdout


_FETCH = (
    "import sys, urllib.request; "
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
)
"""Run in a child interpreter inside the namespace: the HTTP server is only reachable there."""


def havip_command() -> list[str]:
    """How to run this checkout's havip (the interpreter running us has it installed)."""
    return [sys.executable, "-m", "havip"]


def start_havip(
    host: Host,
    config: str,
    workdir: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    metrics_listen: str = f"0.0.0.0:{METRICS_PORT}",
    command: Sequence[str] | None = None,
) -> Router:
    """havip in `host`, serving /metrics on `metrics_listen` (`[::]:PORT` for IPv6 labs)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "keepalived.conf").write_text(config)
    log = (workdir / "log").open("ab")
    process = host.popen(
        [
            *(command or havip_command()),
            "run",
            "-f",
            str(workdir / "keepalived.conf"),
            "--metrics-listen",
            metrics_listen,
            # one record per router: the lab's routers share this machine's /run
            "--vip-record",
            str(workdir / "vips.json"),
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    return Router("havip", host, workdir, process)


def start_monitor(
    host: Host,
    workdir: Path,
    *extra: str,
    interfaces: tuple[str, ...] = ("eth0",),
    metrics_listen: str = f"0.0.0.0:{METRICS_PORT}",
) -> Router:
    """`havip monitor --table` in `host`; its table (not a TTY: a block per change) and its
    log go to the router's log file, /status and /metrics to `metrics_listen`."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "log").open("ab")
    options = [arg for interface in interfaces for arg in ("-i", interface)]
    process = host.popen(
        [
            *havip_command(),
            "monitor",
            *options,
            "--table",
            "--log-level",
            "INFO",
            "--metrics-listen",
            metrics_listen,
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return Router("monitor", host, workdir, process)


KEEPALIVED_ENV = "HAVIP_KEEPALIVED"
"""Path of another keepalived build to run as the lab's peer (e.g. 2.4 built from source)."""


def keepalived_path() -> str | None:
    """$HAVIP_KEEPALIVED if set, else the keepalived on PATH (the Debian package)."""
    override = os.environ.get(KEEPALIVED_ENV)
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("keepalived") or (
        "/usr/sbin/keepalived" if os.path.exists("/usr/sbin/keepalived") else None
    )


def keepalived_version(binary: str) -> tuple[int, ...]:
    """The release of a keepalived binary, e.g. (2, 2, 7), from `keepalived --version`."""
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    words = (result.stderr + result.stdout).split()
    release = next((w for w in words if w.startswith("v") and w[1:2].isdigit()), "v0")
    return tuple(int(part) for part in release[1:].split(".") if part.isdigit())


def start_keepalived(host: Host, config: str, workdir: Path) -> Router:
    binary = keepalived_path()
    if binary is None:
        raise LabError("keepalived is not installed (scripts/setup installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "keepalived.conf").write_text(config)
    log = (workdir / "log").open("ab")
    process = host.popen(
        [
            binary,
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--no-syslog",
            "--vrrp",
            # --opt=value: keepalived 2.4 reads `-f PATH` as -f without its optional argument
            f"--use-file={workdir / 'keepalived.conf'}",
            f"--pid={workdir / 'keepalived.pid'}",
            f"--vrrp_pid={workdir / 'vrrp.pid'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return Router("keepalived", host, workdir, process)


PROMETHEUS_PORT = 9090


def prometheus_path() -> str | None:
    return shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
    )


def start_prometheus(
    host: Host, config: str, workdir: Path, listen: str = f"0.0.0.0:{PROMETHEUS_PORT}"
) -> Router:
    """A Prometheus server in `host` with its configuration and storage under `workdir`."""
    binary = prometheus_path()
    if binary is None:
        raise LabError("prometheus is not installed (scripts/setup installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(config)
    with (workdir / "log").open("ab") as log:
        process = host.popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={listen}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Router("prometheus", host, workdir, process)


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.02,
    observed: Callable[[], object] | None = None,
) -> float:
    """Poll until `predicate()` holds; return the seconds it took, raise LabError on timeout.

    `observed`, if given, is called on timeout and its value put in the error, so a failure
    says what was seen at the end rather than only what was awaited.
    """
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            seen = f" (observed: {observed()})" if observed is not None else ""
            raise LabError(f"timed out after {timeout:g}s waiting for {what}{seen}")
        time.sleep(interval)
