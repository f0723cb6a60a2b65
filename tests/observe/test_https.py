"""The metrics listener under `--web.config.file`, spoken to by a real curl with certificates
made by openssl: TLS, basic auth on every path, client certificates, headers, and changes to
the file or the certificates taking effect on the next connection without a restart."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
import trio

from havip.cli import main
from havip.observe.http import serve_http
from havip.observe.webconfig import WebConfigWatcher

from .certs import Certs, make_certs
from .test_http import Agent

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed (Debian curl)")

PASSWORD = "s3cret-scrape"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
CURL_DEADLINE = 20.0


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@dataclass
class Curl:
    exit_code: int
    status: int
    headers: str
    body: str


async def curl(url: str, *options: str) -> Curl:
    """Run the real curl; `status` is 0 when no HTTP response came back."""
    assert CURL is not None
    with trio.fail_after(CURL_DEADLINE):
        done = await trio.run_process(
            [CURL, "--silent", "--noproxy", "*", "--max-time", "10", "--dump-header", "/dev/stderr",
             "--write-out", "\n%{http_code}", *options, url],
            capture_stdout=True, capture_stderr=True, check=False,
        )  # fmt: skip
    body, _, code = done.stdout.decode().rpartition("\n")
    return Curl(done.returncode, int(code or 0), done.stderr.decode(), body)


def web_config(path: Path, certs: Certs, extra: str = "") -> WebConfigWatcher:
    path.write_text(
        f"tls_server_config:\n  cert_file: {certs.server_cert}\n  key_file: {certs.server_key}\n"
        f"basic_auth_users:\n  prometheus: {HASH}\n{extra}"
    )
    return WebConfigWatcher(path)


async def serve(nursery: trio.Nursery, web: WebConfigWatcher) -> str:
    port = await nursery.start(serve_http, "127.0.0.1:0", Agent().app(web=web))  # type: ignore[arg-type]
    return f"https://127.0.0.1:{port}"


async def test_curl_reads_metrics_and_status_over_tls_with_basic_auth(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs
) -> None:
    url = await serve(nursery, web_config(tmp_path / "web.yml", certs))
    auth = ("--cacert", str(certs.ca), "--user", f"prometheus:{PASSWORD}")
    metrics = await curl(f"{url}/metrics", *auth)
    assert (metrics.exit_code, metrics.status) == (0, 200)
    assert 'havip_vrrp_state{state="master",vrrp_instance="VI_6"} 1.0' in metrics.body
    status = await curl(f"{url}/status", *auth)
    assert status.status == 200
    assert '"instances"' in status.body


@pytest.mark.parametrize("path", ["/metrics", "/status", "/healthz"])
async def test_every_path_needs_the_password(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs, path: str
) -> None:
    url = await serve(nursery, web_config(tmp_path / "web.yml", certs))
    anonymous = await curl(f"{url}{path}", "--cacert", str(certs.ca))
    assert anonymous.status == 401
    assert "www-authenticate: basic" in anonymous.headers.lower()
    assert "havip_" not in anonymous.body and "instances" not in anonymous.body
    wrong = await curl(f"{url}{path}", "--cacert", str(certs.ca), "--user", "prometheus:guess")
    assert wrong.status == 401
    stranger = await curl(f"{url}{path}", "--cacert", str(certs.ca), "--user", f"eve:{PASSWORD}")
    assert stranger.status == 401


async def test_plain_http_and_old_tls_get_nothing(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs
) -> None:
    web = web_config(tmp_path / "web.yml", certs, extra="")
    (tmp_path / "web.yml").write_text(
        (tmp_path / "web.yml")
        .read_text()
        .replace("basic_auth_users", "  min_version: TLS13\nbasic_auth_users")
    )
    url = await serve(nursery, web)
    auth = ("--cacert", str(certs.ca), "--user", f"prometheus:{PASSWORD}")
    plain_url = url.replace("https", "http") + "/metrics"
    plain = await curl(plain_url, "--user", f"prometheus:{PASSWORD}")
    assert plain.status == 0 and "havip_" not in plain.body
    old = await curl(f"{url}/metrics", *auth, "--tls-max", "1.2")
    assert old.status == 0 and old.exit_code != 0
    assert (await curl(f"{url}/metrics", *auth)).status == 200


async def test_client_certificates_are_required_and_verified(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs
) -> None:
    mtls = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {certs.ca}\n"
    path = tmp_path / "web.yml"
    web_config(path, certs)
    path.write_text(path.read_text().replace("basic_auth_users", mtls + "basic_auth_users"))
    url = await serve(nursery, WebConfigWatcher(path))
    auth = ("--cacert", str(certs.ca), "--user", f"prometheus:{PASSWORD}")
    without = await curl(f"{url}/metrics", *auth)
    assert without.status == 0
    stranger = await curl(
        f"{url}/metrics", *auth, "--cert", str(certs.stranger_cert), "--key",
        str(certs.stranger_key),
    )  # fmt: skip
    assert stranger.status == 0
    known = await curl(
        f"{url}/metrics", *auth, "--cert", str(certs.client_cert), "--key", str(certs.client_key)
    )
    assert known.status == 200


async def test_configured_headers_are_on_every_answer(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs
) -> None:
    headers = (
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
        "    X-Content-Type-Options: nosniff\n"
    )
    url = await serve(nursery, web_config(tmp_path / "web.yml", certs, headers))
    for reply in (
        await curl(f"{url}/metrics", "--cacert", str(certs.ca)),
        await curl(f"{url}/metrics", "--cacert", str(certs.ca), "--user", f"prometheus:{PASSWORD}"),
    ):
        assert "x-frame-options: deny" in reply.headers.lower()
        assert "x-content-type-options: nosniff" in reply.headers.lower()


async def test_a_changed_file_applies_from_the_next_connection(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs
) -> None:
    path = tmp_path / "web.yml"
    url = await serve(nursery, web_config(path, certs))
    auth = ("--cacert", str(certs.ca), "--user", f"prometheus:{PASSWORD}")
    assert (await curl(f"{url}/metrics", *auth)).status == 200
    path.write_text(path.read_text().replace("prometheus:", "grafana:"))
    assert (await curl(f"{url}/metrics", *auth)).status == 401
    grafana = ("--cacert", str(certs.ca), "--user", f"grafana:{PASSWORD}")
    assert (await curl(f"{url}/metrics", *grafana)).status == 200
    path.write_text("basic_auth_users: [not, a, mapping]\n")  # broken: the last good one stays
    assert (await curl(f"{url}/metrics", *grafana)).status == 200


async def test_a_renewed_certificate_is_served_without_a_restart(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs
) -> None:
    renewed = make_certs(tmp_path / "renewed")
    live_cert, live_key = tmp_path / "live.crt", tmp_path / "live.key"
    shutil.copy(certs.server_cert, live_cert)
    shutil.copy(certs.server_key, live_key)
    path = tmp_path / "web.yml"
    path.write_text(f"tls_server_config:\n  cert_file: {live_cert}\n  key_file: {live_key}\n")
    url = await serve(nursery, WebConfigWatcher(path))
    assert (await curl(f"{url}/healthz", "--cacert", str(certs.ca))).status == 200
    # certbot-style renewal: new files moved into place, the web config untouched
    for source, target in ((renewed.server_cert, live_cert), (renewed.server_key, live_key)):
        shutil.copy(source, target.with_suffix(".new"))
        target.with_suffix(".new").rename(target)
    assert (await curl(f"{url}/healthz", "--cacert", str(certs.ca))).status == 0
    assert (await curl(f"{url}/healthz", "--cacert", str(renewed.ca))).status == 200


async def test_havip_status_reads_a_tls_agent_with_its_password(
    nursery: trio.Nursery, tmp_path: Path, certs: Certs, capsys: pytest.CaptureFixture[str]
) -> None:
    url = await serve(nursery, web_config(tmp_path / "web.yml", certs))
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    base = ["status", "--url", url, "--cacert", str(certs.ca), "--user", "prometheus"]
    assert await trio.to_thread.run_sync(main, [*base, "--password-file", str(secret)]) == 0
    assert "VI_6" in capsys.readouterr().out
    secret.write_text("guess\n")
    assert await trio.to_thread.run_sync(main, [*base, "--password-file", str(secret)]) == 1
    err = capsys.readouterr().err
    assert "401" in err and "guess" not in err
