"""`--web.config.file` as exporter-toolkit writes it: what is accepted, and every refusal
with FILE:LINE (and exit 2 from `havip run`, before anything starts)."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import bcrypt
import pytest

from havip.cli import main
from havip.observe.webconfig import WebConfigError, WebConfigWatcher, load_web_config

from .certs import Certs, make_certs

ALICE_HASH = bcrypt.hashpw(b"wonderland", bcrypt.gensalt(4)).decode()
HTPASSWD_STYLE = ALICE_HASH.replace("$2b$", "$2y$", 1)
"""htpasswd -B writes the $2y$ variant; exporter-toolkit's own example uses it."""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return path


def test_the_exporter_toolkit_example_is_accepted(tmp_path: Path, certs: Certs) -> None:
    path = write(
        tmp_path,
        f"""# as in exporter-toolkit's docs/web-config.yml
tls_server_config:
  cert_file: {certs.server_cert}
  key_file: {certs.server_key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {certs.ca}
  min_version: TLS13
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: {HTPASSWD_STYLE}
""",
    )
    config = load_web_config(path)
    assert config.tls is not None
    assert config.tls.minimum_version == ssl.TLSVersion.TLSv1_3
    assert config.tls.verify_mode == ssl.CERT_REQUIRED
    assert config.users == {"alice": HTPASSWD_STYLE.encode()}
    assert config.headers == (
        ("X-Frame-Options", "deny"),
        ("Strict-Transport-Security", "max-age=31536000"),
    )
    assert set(config.files) == {path, certs.server_cert, certs.server_key, certs.ca}


def test_an_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    config = load_web_config(write(tmp_path, "# nothing yet\n"))
    assert (config.tls, config.users, config.headers) == (None, {}, ())


def test_relative_certificate_paths_are_taken_from_the_files_directory(
    tmp_path: Path, certs: Certs
) -> None:
    path = certs.directory / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
    assert load_web_config(path).tls is not None


BAD = [
    ("tls_server_config:\n  cert_file: [\n", 3, "not valid YAML"),
    ("tls_config:\n  cert_file: a\n", 1, "tls_config: unknown key"),
    ("tls_server_config:\n  key_file: {key}\n", 1, "cert_file is missing"),
    ("tls_server_config:\n  cert_file: {key}\n  key_file: {key}\n", 2, "cannot load"),
    (
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n  min_version: TLS14\n",
        4,
        "unknown TLS version 'TLS14'",
    ),
    (
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "  client_auth_type: RequireAnyClientCert\n  client_ca_file: {ca}\n",
        4,
        "without verifying them",
    ),
    (
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "  client_auth_type: RequireAndVerifyClientCert\n",
        4,
        "needs client_ca_file",
    ),
    (
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n  client_ca_file: {ca}\n",
        4,
        "client_auth_type is NoClientCert",
    ),
    (
        "tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
        "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
        4,
        "cipher_suites: not supported by havip",
    ),
    ("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", 3, "'Set-Cookie' cannot be"),
    ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", 3, "expected one of"),
    ("basic_auth_users:\n  alice: wonderland\n", 2, "is not a bcrypt hash"),
    ("basic_auth_users:\n  alice: x\nbasic_auth_users: {{}}\n", 3, "given twice"),
    ("rate_limit:\n  interval: 1s\n", 1, "rate_limit: not supported by havip"),
    ("- a list\n", 1, "expected a mapping"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_bad_files_are_refused_with_file_and_line(
    tmp_path: Path, certs: Certs, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text.format(cert=certs.server_cert, key=certs.server_key, ca=certs.ca))
    with pytest.raises(WebConfigError) as raised:
        load_web_config(path)
    assert str(raised.value).startswith(f"{path}:{line}: error: ")
    assert message in str(raised.value)


def test_a_missing_file_or_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match="cannot read"):
        load_web_config(tmp_path / "absent.yml")
    fifo = tmp_path / "fifo.yml"
    os.mkfifo(fifo)
    with pytest.raises(WebConfigError, match="not a regular file"):
        load_web_config(fifo)


def test_havip_run_exits_2_on_a_bad_web_config_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keepalived = tmp_path / "keepalived.conf"
    keepalived.write_text(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n"
        " virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
    )
    web = write(tmp_path, "basic_auth_users:\n  alice: plain-text\n")
    assert main(["run", "-f", str(keepalived), "--web.config.file", str(web)]) == 2
    err = capsys.readouterr().err
    assert f"{web}:2: error: the password of 'alice' is not a bcrypt hash" in err
    assert "Traceback" not in err


def test_the_watcher_rereads_a_changed_file_and_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, f"basic_auth_users:\n  alice: {ALICE_HASH}\n")
    watcher = WebConfigWatcher(path)
    assert set(watcher.current().users) == {"alice"}
    path.write_text(f"basic_auth_users:\n  bob: {ALICE_HASH}\n  carol: {ALICE_HASH}\n")
    assert set(watcher.current().users) == {"bob", "carol"}
    path.write_text("basic_auth_users:\n  bob: not-a-hash\n")
    assert set(watcher.current().users) == {"bob", "carol"}
    assert "is not a bcrypt hash; keeping the previous web configuration" in caplog.text
