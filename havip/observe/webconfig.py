"""`--web.config.file`: the Prometheus exporter-toolkit YAML (TLS, basic auth, response headers).

node_exporter and the other exporters share this file format, so an operator who already has
one for them can point havip at the same file. The reader is strict like exporter-toolkit's
(an unknown key is an error) and every error names FILE:LINE. Keys of the format that Python's
`ssl` module cannot honour as written (Go cipher-suite and curve names, SAN allow-lists, client
certificates that are requested but not verified) are refused by name rather than silently
ignored, so nobody believes a policy is in force that is not.

The file is read with `yaml.compose` (nodes with line marks, no object construction), then
checked, and the TLS context is built at once so a bad certificate is a start-up error, not a
failed scrape hours later.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
UNVERIFIED_CLIENT_AUTH = frozenset({"RequestClientCert", "RequireAnyClientCert"})
ALLOWED_HEADERS = {
    "Content-Security-Policy": None,
    "X-Frame-Options": frozenset({"deny", "sameorigin"}),
    "X-Content-Type-Options": frozenset({"nosniff"}),
    "X-XSS-Protection": None,
    "Strict-Transport-Security": None,
}
"""The response headers exporter-toolkit lets the file set, with the values it accepts."""
UNSUPPORTED = {
    "cert": "give the certificate as cert_file",
    "key": "give the key as key_file",
    "client_ca": "give the client CA as client_ca_file",
    "cipher_suites": "Go cipher-suite names; havip uses OpenSSL's defaults for TLS 1.2",
    "curve_preferences": "Go curve names; havip uses OpenSSL's defaults",
    "client_allowed_sans": "havip cannot match client certificate SANs",
    "rate_limit": "havip caps connections per client instead",
}
BCRYPT_HASH = re.compile(r"\$2[abxy]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
MAX_FILE_BYTES = 1 << 20

log = logging.getLogger("havip.http")


class WebConfigError(Exception):
    """The web configuration file is unusable; the message starts with FILE:LINE."""


@dataclass(frozen=True, slots=True)
class WebConfig:
    """What one version of the file asks for; `tls` None means plain HTTP."""

    tls: ssl.SSLContext | None
    users: dict[str, bytes]
    """User name -> bcrypt hash; empty means no basic auth."""
    headers: tuple[tuple[str, str], ...]
    files: tuple[Path, ...]
    """The file itself and the certificate files it names: a change to any means re-read."""


def load_web_config(path: Path) -> WebConfig:
    """Read and check `path`; raise WebConfigError with FILE:LINE on anything wrong."""
    text = _read(path)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error)
        raise WebConfigError(f"{path}:{line}: error: not valid YAML: {problem}") from None
    reader = _Reader(path)
    if root is None or (isinstance(root, yaml.ScalarNode) and root.value == ""):
        return WebConfig(None, {}, (), (path,))
    top = reader.mapping(root, "the file")
    reader.known(top, {"tls_server_config", "http_server_config", "basic_auth_users"})
    files = [path]
    tls = None
    if "tls_server_config" in top:
        tls, tls_files = reader.tls(top["tls_server_config"])
        files.extend(tls_files)
    headers: tuple[tuple[str, str], ...] = ()
    if "http_server_config" in top:
        headers = reader.http(top["http_server_config"])
    users: dict[str, bytes] = {}
    if "basic_auth_users" in top:
        users = reader.users(top["basic_auth_users"])
    return WebConfig(tls, users, headers, tuple(files))


def fingerprint(files: tuple[Path, ...]) -> tuple[tuple[int, int, int], ...]:
    """Cheap identity of the files' contents (inode, size, mtime): a change means re-read."""
    marks = []
    for file in files:
        try:
            info = os.stat(file)
        except OSError:
            marks.append((0, -1, 0))
            continue
        marks.append((info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(marks)


def _read(path: Path) -> str:
    try:
        # O_NONBLOCK: opening a FIFO must not hang start-up; it is then refused as not regular.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise WebConfigError(f"{path}: error: not a regular file")
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise WebConfigError(f"{path}: error: cannot read: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise WebConfigError(f"{path}: error: larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise WebConfigError(f"{path}: error: not UTF-8 text") from None


class _Reader:
    """Checks nodes of one file; every error carries the node's line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[int, yaml.Node] = {}
        """Value node id -> its key node: errors about a value point at its key's line."""

    def fail(self, node: yaml.Node, message: str) -> WebConfigError:
        line = self._keys.get(id(node), node).start_mark.line + 1
        return WebConfigError(f"{self.path}:{line}: error: {message}")

    def mapping(self, node: yaml.Node, what: str) -> dict[str, yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what}: expected a mapping")
        result: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = self.string(key, f"a key of {what}")
            if name in result:
                raise self.fail(key, f"{name}: given twice")
            result[name] = value
            self._keys[id(value)] = key
        return result

    def known(self, keys: dict[str, yaml.Node], allowed: set[str]) -> None:
        for name, value in keys.items():
            if name in UNSUPPORTED:
                raise self.fail(value, f"{name}: not supported by havip ({UNSUPPORTED[name]})")
            if name not in allowed:
                raise self.fail(value, f"{name}: unknown key; expected one of {sorted(allowed)}")

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            raise self.fail(node, f"{what}: expected a string")
        return str(node.value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":bool"):
            raise self.fail(node, f"{what}: expected true or false")
        return str(node.value).lower() in ("true", "yes", "on", "y")

    def tls(self, node: yaml.Node) -> tuple[ssl.SSLContext, list[Path]]:
        keys = self.mapping(node, "tls_server_config")
        self.known(
            keys,
            {
                "cert_file",
                "key_file",
                "client_ca_file",
                "client_auth_type",
                "min_version",
                "max_version",
                "prefer_server_cipher_suites",
            },
        )
        for required in ("cert_file", "key_file"):
            if required not in keys:
                raise self.fail(node, f"tls_server_config: {required} is missing")
        cert = self.file(keys["cert_file"], "cert_file")
        key = self.file(keys["key_file"], "key_file")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as error:
            raise self.fail(keys["cert_file"], f"cannot load {cert} with {key}: {error}") from None
        context.minimum_version = self.version(keys.get("min_version"), "TLS12")
        context.maximum_version = self.version(keys.get("max_version"), "TLS13")
        if context.minimum_version > context.maximum_version:
            raise self.fail(node, "min_version is above max_version")
        if "prefer_server_cipher_suites" in keys and not self.boolean(
            keys["prefer_server_cipher_suites"], "prefer_server_cipher_suites"
        ):
            context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
        files = [cert, key]
        auth_node = keys.get("client_auth_type")
        auth = self.string(auth_node, "client_auth_type") if auth_node else "NoClientCert"
        if auth in UNVERIFIED_CLIENT_AUTH:
            raise self.fail(
                auth_node or node,
                f"client_auth_type {auth}: not supported by havip (it accepts client "
                "certificates without verifying them); use RequireAndVerifyClientCert",
            )
        if auth not in CLIENT_AUTH:
            raise self.fail(auth_node or node, f"client_auth_type: unknown value {auth!r}")
        if "client_ca_file" in keys:
            if auth == "NoClientCert":
                raise self.fail(
                    keys["client_ca_file"],
                    "client_ca_file is set but client_auth_type is NoClientCert",
                )
            ca = self.file(keys["client_ca_file"], "client_ca_file")
            try:
                context.load_verify_locations(ca)
            except (ssl.SSLError, OSError) as error:
                raise self.fail(keys["client_ca_file"], f"cannot load {ca}: {error}") from None
            files.append(ca)
        elif auth != "NoClientCert":
            raise self.fail(auth_node or node, f"client_auth_type {auth} needs client_ca_file")
        context.verify_mode = CLIENT_AUTH[auth]
        return context, files

    def file(self, node: yaml.Node, what: str) -> Path:
        """A path, relative ones taken from the web config file's directory."""
        name = self.string(node, what)
        if not name:
            raise self.fail(node, f"{what}: empty")
        return self.path.parent / name

    def version(self, node: yaml.Node | None, default: str) -> ssl.TLSVersion:
        if node is None:
            return TLS_VERSIONS[default]
        name = self.string(node, "TLS version")
        if name not in TLS_VERSIONS:
            raise self.fail(node, f"unknown TLS version {name!r}; expected {list(TLS_VERSIONS)}")
        return TLS_VERSIONS[name]

    def http(self, node: yaml.Node) -> tuple[tuple[str, str], ...]:
        keys = self.mapping(node, "http_server_config")
        self.known(keys, {"headers", "http2"})
        if "http2" in keys:
            self.boolean(keys["http2"], "http2")  # accepted: havip serves HTTP/1.1 only
        headers: list[tuple[str, str]] = []
        for name, value_node in self.mapping(keys.get("headers", _NULL), "headers").items():
            if name not in ALLOWED_HEADERS:
                raise self.fail(value_node, f"HTTP header {name!r} cannot be configured")
            value = self.string(value_node, name)
            allowed = ALLOWED_HEADERS[name]
            if allowed is not None and value.lower() not in allowed:
                raise self.fail(value_node, f"{name}: expected one of {sorted(allowed)}")
            if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
                raise self.fail(value_node, f"{name}: control characters are not allowed")
            if value:
                headers.append((name, value))
        return tuple(headers)

    def users(self, node: yaml.Node) -> dict[str, bytes]:
        users: dict[str, bytes] = {}
        for name, hash_node in self.mapping(node, "basic_auth_users").items():
            hashed = self.string(hash_node, f"the password hash of {name}")
            if not BCRYPT_HASH.fullmatch(hashed):
                raise self.fail(hash_node, f"the password of {name!r} is not a bcrypt hash")
            users[name] = hashed.encode()
        return users


_NULL: Any = yaml.ScalarNode("tag:yaml.org,2002:null", "")


class WebConfigWatcher:
    """The web configuration in force, re-read when the file or a certificate it names changes.

    Like exporter-toolkit, which reads the file on every request, a new certificate is used
    from the next connection on without a restart. `current()` is called per connection and
    costs a few `stat` calls; a version that fails to load is logged once and the last good one
    stays in force (as with an invalid keepalived.conf on SIGHUP).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = load_web_config(path)
        self._mark = fingerprint(self.config.files)

    def current(self) -> WebConfig:
        mark = fingerprint(self.config.files)
        if mark != self._mark:
            self._mark = mark
            try:
                self.config = load_web_config(self.path)
            except WebConfigError as error:
                log.error("%s; keeping the previous web configuration", error)
            else:
                self._mark = fingerprint(self.config.files)
                log.info("re-read the web configuration %s", self.path)
        return self.config
