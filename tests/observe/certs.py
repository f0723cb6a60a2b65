"""Real certificates for the TLS tests, made by the openssl command line (a CA, a server and a
client certificate), the way an operator would make them, rather than by the code under test."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")


@dataclass(frozen=True)
class Certs:
    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A second CA that signed nothing the server trusts: its client is a stranger."""
    stranger_cert: Path
    stranger_key: Path


def _openssl(directory: Path, *args: str) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=directory, check=True, capture_output=True)


def _key_and_csr(directory: Path, name: str, subject: str) -> None:
    _openssl(
        directory, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
    )  # fmt: skip


def _ca(directory: Path, name: str) -> None:
    _openssl(
        directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
        "-subj", f"/CN={name}",
    )  # fmt: skip


def _sign(directory: Path, name: str, ca: str, extensions: str) -> None:
    (directory / f"{name}.ext").write_text(extensions + "\n")
    _openssl(
        directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt",
        "-CAkey", f"{ca}.key", "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
        "-extfile", f"{name}.ext",
    )  # fmt: skip


def make_certs(directory: Path, server_addresses: tuple[str, ...] = ("127.0.0.1",)) -> Certs:
    """A CA, a server certificate for `server_addresses` (and localhost), and client ones."""
    if OPENSSL is None:
        pytest.skip("openssl is not installed here (Debian package openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    _ca(directory, "ca")
    _ca(directory, "other-ca")
    sans = ",".join([*(f"IP:{address}" for address in server_addresses), "DNS:localhost"])
    _key_and_csr(directory, "server", "/CN=havip")
    _sign(directory, "server", "ca", f"subjectAltName={sans}\nextendedKeyUsage=serverAuth")
    _key_and_csr(directory, "client", "/CN=prometheus")
    _sign(directory, "client", "ca", "extendedKeyUsage=clientAuth")
    _key_and_csr(directory, "stranger", "/CN=stranger")
    _sign(directory, "stranger", "other-ca", "extendedKeyUsage=clientAuth")
    return Certs(
        directory,
        directory / "ca.crt",
        directory / "server.crt",
        directory / "server.key",
        directory / "client.crt",
        directory / "client.key",
        directory / "other-ca.crt",
        directory / "stranger.crt",
        directory / "stranger.key",
    )
