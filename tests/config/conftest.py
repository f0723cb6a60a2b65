"""Shared helpers: write a configuration into a temporary directory and load it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from havip.config import ConfigError, LoadedConfig, load_config


@pytest.fixture
def write_conf(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "keepalived.conf") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def load_text(write_conf: Callable[..., Path]) -> Callable[[str], LoadedConfig]:
    def load(text: str) -> LoadedConfig:
        return load_config(write_conf(text))

    return load


@pytest.fixture
def errors_of(write_conf: Callable[..., Path]) -> Callable[[str], list[tuple[int, str]]]:
    """(line, message) of every error `text` produces; fails if it loads."""

    def errors(text: str) -> list[tuple[int, str]]:
        with pytest.raises(ConfigError) as raised:
            load_config(write_conf(text))
        return [(d.location.line, d.message) for d in raised.value.diagnostics]

    return errors
