"""Per-interface settings are put back as havip found them (a /proc/sys/net of files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from havip.net.sysctl import InterfaceSettings


def _setting(root: Path, value: str) -> Path:
    path = root / "ipv4" / "conf" / "eth0" / "promote_secondaries"
    path.parent.mkdir(parents=True)
    path.write_text(value + "\n")
    return path


def test_the_first_value_found_is_the_one_restored(tmp_path: Path) -> None:
    path = _setting(tmp_path, "0")
    settings = InterfaceSettings(tmp_path)
    settings.set("ipv4", "eth0", "promote_secondaries", "1")
    assert path.read_text() == "1"
    settings.set("ipv4", "eth0", "promote_secondaries", "1")  # again: still "0" to restore
    settings.restore()
    assert path.read_text() == "0"


def test_an_interface_gone_before_the_restore_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _setting(tmp_path, "0")
    settings = InterfaceSettings(tmp_path)
    settings.set("ipv4", "eth0", "promote_secondaries", "1")
    path.unlink()
    path.parent.rmdir()
    settings.restore()
    assert "cannot restore" in caplog.text
