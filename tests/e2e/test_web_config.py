"""A real Prometheus scrapes havip over TLS with basic auth, configured the way operators
configure node_exporter: `--web.config.file` on havip's side, `scheme: https`, `tls_config` and
`basic_auth` on Prometheus' side, with certificates made by openssl.

Also in the same lab: a scrape job with the wrong password is `up == 0` (havip says 401), and
the loopback health listener answers inside the router's namespace while the metrics port
demands the password.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest

from havip.lab.configs import RouterSpec, keepalived_conf
from havip.lab.netns import Lab
from havip.lab.processes import METRICS_PORT, Router, start_havip, wait_for
from havip.observe.http import DEFAULT_HEALTH_LISTEN

from ..observe.certs import make_certs
from .conftest import NETNS_UNAVAILABLE
from .prometheus import Prometheus, prometheus_binary

pytestmark = [pytest.mark.netns, pytest.mark.prometheus]

ROUTER = "192.0.2.1"
MONITOR = "192.0.2.9/24"
USER = "prometheus"
PASSWORD = "scrape-s3cret"
SCRAPE_WAIT = 30.0


@dataclass
class Scraped:
    lab: Lab
    router: Router
    prometheus: Prometheus


def scrape_job(name: str, password_file: Path, ca: Path) -> dict[str, object]:
    return {
        "job_name": name,
        "scheme": "https",
        "tls_config": {"ca_file": str(ca), "server_name": ROUTER},
        "basic_auth": {"username": USER, "password_file": str(password_file)},
        "static_configs": [{"targets": [f"{ROUTER}:{METRICS_PORT}"]}],
    }


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    if NETNS_UNAVAILABLE is not None:
        pytest.skip(f"this machine cannot run namespace labs: {NETNS_UNAVAILABLE}")
    if prometheus_binary() is None:
        pytest.skip("prometheus is not installed here: run scripts/setup (Debian package)")
    workdir = tmp_path_factory.mktemp("web-config-lab")
    certs = make_certs(workdir / "certs", server_addresses=(ROUTER,))
    web = workdir / "web.yml"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    web.write_text(
        f"tls_server_config:\n  cert_file: {certs.server_cert}\n  key_file: {certs.server_key}\n"
        f"basic_auth_users:\n  {USER}: {hashed}\n"
    )
    right, wrong = workdir / "right-password", workdir / "wrong-password"
    right.write_text(PASSWORD)
    wrong.write_text("guess")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            scrape_job("havip-tls", right, certs.ca),
            scrape_job("havip-wrong-password", wrong, certs.ca),
        ],
    }
    with Lab() as lab:
        router_host = lab.add_host("r1", f"{ROUTER}/24")
        monitor = lab.add_host("monitor", MONITOR)
        router = start_havip(
            router_host,
            keepalived_conf(RouterSpec(priority=150)),
            workdir / "r1",
            "--web.config.file",
            str(web),
        )
        prometheus = Prometheus(monitor, workdir / "prometheus", json.dumps(config))
        try:
            prometheus.wait_ready()
            yield Scraped(lab, router, prometheus)
        finally:
            prometheus.close()
            router.stop()


def health(scraped: Scraped, job: str) -> dict[str, object]:
    (target,) = [t for t in scraped.prometheus.targets() if t["labels"]["job"] == job]
    return target  # type: ignore[no-any-return]


def test_prometheus_scrapes_havip_over_tls_with_basic_auth(scraped: Scraped) -> None:
    def scraped_state() -> bool:
        return bool(scraped.prometheus.query('havip_vrrp_state{job="havip-tls"} == 1'))

    wait_for(scraped_state, SCRAPE_WAIT, "a scrape of havip over TLS with basic auth")
    assert health(scraped, "havip-tls")["health"] == "up"
    (up,) = scraped.prometheus.query('up{job="havip-tls"}')
    assert up["value"][1] == "1"


def test_the_wrong_password_gets_401_and_no_series(scraped: Scraped) -> None:
    def failed() -> bool:
        return health(scraped, "havip-wrong-password")["health"] == "down"

    wait_for(failed, SCRAPE_WAIT, "the scrape with the wrong password to fail")
    assert "401" in str(health(scraped, "havip-wrong-password")["lastError"])
    assert not scraped.prometheus.query('havip_vrrp_state{job="havip-wrong-password"}')


def test_probes_reach_the_health_listener_without_the_password(scraped: Scraped) -> None:
    host = scraped.router.host
    url = f"http://{DEFAULT_HEALTH_LISTEN}/healthz"

    def answered() -> bool:
        done = host.exec("curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}",
                         url, check=False)  # fmt: skip
        return done.stdout == "200"

    wait_for(answered, SCRAPE_WAIT, f"{url} inside the router's namespace")
    metrics = host.exec(
        "curl", "-s", "-k", "--noproxy", "*", "-o", "/dev/null", "-w", "%{http_code}",
        f"https://127.0.0.1:{METRICS_PORT}/healthz", check=False,
    )  # fmt: skip
    assert metrics.stdout == "401"
