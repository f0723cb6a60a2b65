"""The VIP record file: what it keeps, and that a bad or unwritable one never stops havip."""

from __future__ import annotations

import json
import logging
from ipaddress import ip_interface
from pathlib import Path

import pytest

from havip.net.viprecord import RecordedVip, VipRecord

VIPS = [
    RecordedVip("eth0", ip_interface("192.0.2.100/24")),
    RecordedVip("eth1", ip_interface("2001:db8::7/64")),
]


def test_saved_vips_are_loaded_back(tmp_path: Path) -> None:
    record = VipRecord(tmp_path / "run" / "havip" / "vips.json")
    record.save(reversed(VIPS))
    assert VipRecord(record.path).load() == VIPS
    assert (record.path.stat().st_mode & 0o777) == 0o600
    assert (record.path.parent.stat().st_mode & 0o777) == 0o700
    record.save([])
    assert record.load() == []


def test_no_record_means_nothing_to_remove(tmp_path: Path) -> None:
    assert VipRecord(tmp_path / "absent.json").load() == []


@pytest.mark.parametrize(
    "text",
    [
        "{half",
        json.dumps({"format": 99, "vips": []}),
        json.dumps({"format": 1, "vips": [{"device": "eth0", "address": "not-an-address"}]}),
        json.dumps({"format": 1, "vips": [{"device": "../etc", "address": "192.0.2.1/24"}]}),
        json.dumps({"format": 1, "vips": [{"device": "x" * 16, "address": "192.0.2.1/24"}]}),
        json.dumps({"format": 1, "vips": ["eth0"]}),
        json.dumps([1, 2]),
    ],
)
def test_an_unreadable_record_is_ignored_with_a_warning(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vips.json"
    path.write_text(text)
    assert VipRecord(path).load() == []
    assert "ignoring the unreadable VIP record" in caplog.text


def test_an_unwritable_record_is_logged_once_and_havip_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    record = VipRecord(blocker / "vips.json")
    with caplog.at_level(logging.WARNING):
        record.save(VIPS)
        record.save(VIPS)
    assert caplog.text.count("cannot write the VIP record") == 1
