"""keepalived.conf -> frozen dataclasses, with every problem reported as `file:line`.

`load_config(path)` reads a keepalived.conf (and what it includes), keeps the VRRP part, and
returns a `LoadedConfig` whose `warnings` list what was skipped or adjusted; it raises
`ConfigError` carrying every error found. It reads files and nothing else: no interface,
address or user is looked up on the system.
"""

from __future__ import annotations

from pathlib import Path

from havip.config.diagnostics import ConfigError, Diagnostic, Location, Severity, in_file_order
from havip.config.model import (
    Authentication,
    GlobalDefs,
    IPAddress,
    LoadedConfig,
    SyncGroup,
    TrackedFile,
    TrackedInterface,
    TrackedScript,
    TrackFile,
    VirtualAddress,
    VirtualRoute,
    VirtualRule,
    VrrpInstance,
    VrrpScript,
)
from havip.config.source import read_tree
from havip.config.vrrp import build_config

DEFAULT_CONFIG_PATH = Path("/etc/keepalived/keepalived.conf")


def load_config(path: str | Path) -> LoadedConfig:
    """The VRRP configuration in `path`; raises ConfigError listing every error found."""
    statements, files, diagnostics = read_tree(str(path))
    config = build_config(statements, files, diagnostics)
    if diagnostics.errors:
        raise ConfigError(in_file_order(diagnostics.errors, files), config.warnings, files)
    return config


__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Authentication",
    "ConfigError",
    "Diagnostic",
    "GlobalDefs",
    "IPAddress",
    "LoadedConfig",
    "Location",
    "Severity",
    "SyncGroup",
    "TrackFile",
    "TrackedFile",
    "TrackedInterface",
    "TrackedScript",
    "VirtualAddress",
    "VirtualRoute",
    "VirtualRule",
    "VrrpInstance",
    "VrrpScript",
    "load_config",
]
