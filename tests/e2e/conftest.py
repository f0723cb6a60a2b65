"""Fixtures for tests that build network-namespace labs with real havip and keepalived routers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from havip.lab.frr import FrrRouter, FrrSpec, frr_unavailable_reason, start_frr
from havip.lab.netns import Host, Lab, netns_unavailable_reason
from havip.lab.processes import (
    Router,
    keepalived_path,
    start_havip,
    start_keepalived,
    start_monitor,
    wait_for,
)

NETNS_UNAVAILABLE = netns_unavailable_reason()


@pytest.fixture
def lab() -> Iterator[Lab]:
    if NETNS_UNAVAILABLE is not None:
        pytest.skip(f"this machine cannot run namespace labs: {NETNS_UNAVAILABLE}")
    with Lab() as built:
        yield built


@pytest.fixture
def keepalived_binary() -> str:
    path = keepalived_path()
    if path is None:
        pytest.skip("keepalived is not installed here: run scripts/setup (Debian package)")
    return path


@pytest.fixture
def frr_daemons() -> None:
    reason = frr_unavailable_reason()
    if reason is not None:
        pytest.skip(f"FRR cannot run here: {reason}")


class Routers:
    """Starts routers for one test and shows their logs when it fails."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Router] = []

    def havip(self, host: Host, config: str, *extra: str) -> Router:
        router = start_havip(
            host, config, self.workdir / f"{host.name}-{len(self.started)}", *extra
        )
        self.started.append(router)
        return router

    def keepalived(self, host: Host, config: str) -> Router:
        router = start_keepalived(host, config, self.workdir / f"{host.name}-{len(self.started)}")
        self.started.append(router)
        return router

    def frr(self, host: Host, spec: FrrSpec) -> FrrRouter:
        """FRR's vrrpd and zebra; the macvlans must exist (havip.lab.frr.add_vrrp_macvlans)."""
        router = start_frr(host, spec, self.workdir / f"{host.name}-{len(self.started)}")
        self.started.extend(router.daemons)
        return router

    def monitor(self, host: Host, *extra: str) -> Router:
        router = start_monitor(host, self.workdir / f"{host.name}-{len(self.started)}", *extra)
        self.started.append(router)
        return router

    def logs(self) -> str:
        return "\n".join(
            f"----- {r.kind} on {r.host.name} (exit {r.process.poll()})\n{r.log_text()}"
            for r in self.started
        )


@pytest.fixture
def routers(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Routers]:
    started = Routers(tmp_path)
    yield started
    for router in started.started:
        router.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(started.logs())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"rep_{report.when}", report)  # type: ignore[attr-defined]
    return report


def holders(lab: Lab, vip: str, names: list[str]) -> list[str]:
    """The lab hosts among `names` that have `vip` on eth0 right now."""
    return [name for name in names if vip in lab.hosts[name].addresses_on()]


def wait_single_holder(
    lab: Lab, vip: str, names: list[str], expected: str, timeout: float
) -> float:
    return wait_for(
        lambda: holders(lab, vip, names) == [expected],
        timeout,
        f"{vip} on {expected} only (now on {holders(lab, vip, names)})",
    )


def client_reaches(lab: Lab, client: str, vip: str) -> bool:
    ping = "ping6" if ":" in vip else "ping"
    result = lab.hosts[client].exec(ping, "-c", "1", "-W", "1", vip, check=False)
    return result.returncode == 0
