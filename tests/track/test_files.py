"""track_file: the value read as keepalived reads it, and a poller that reports changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from havip.track.files import (
    FileTracker,
    initialise_track_file,
    parse_track_value,
    read_track_file,
)


@pytest.mark.parametrize(
    ("content", "value"),
    [
        (b"42\n", 42),
        (b"  -17 trailing words", -17),
        (b"+5", 5),
        (b"0x1f", 31),
        (b"-0X10", -16),
        (b"017", 15),
        (b"08", 0),
        (b"0x", 0),
        (b"", 0),
        (b"abc", 0),
        (b"\t\n 3", 3),
        (b"100000", 254),
        (b"-100000", -254),
    ],
)
def test_the_value_is_parsed_like_strtol_base_0_and_clamped(content: bytes, value: int) -> None:
    assert parse_track_value(content) == value


def test_only_the_first_127_bytes_count(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b" " * 127 + b"9")
    assert read_track_file(str(path)) == 0
    path.write_bytes(b" " * 126 + b"9")
    assert read_track_file(str(path)) == 9


def test_a_missing_file_counts_as_zero(tmp_path: Path) -> None:
    assert read_track_file(str(tmp_path / "missing")) == 0


def test_init_file_writes_a_missing_file_and_overwrites_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert initialise_track_file(str(path), 5, overwrite=False) is None
    assert path.read_text() == "5\n"
    assert initialise_track_file(str(path), 7, overwrite=False) is None
    assert path.read_text() == "5\n"
    assert initialise_track_file(str(path), 7, overwrite=True) is None
    assert path.read_text() == "7\n"
    problem = initialise_track_file(str(tmp_path / "no-dir" / "f"), 1, overwrite=False)
    assert problem is not None
    assert problem.startswith("Unable to initialise track file")


async def test_the_tracker_reports_each_new_value_and_a_deleted_file_as_zero(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f"
    path.write_text("3\n")
    changes: list[tuple[str, int]] = []
    tracker = FileTracker(
        "f", str(path), lambda name, value: changes.append((name, value)), poll_interval=0.02
    )
    assert tracker.value == 3

    async def until(count: int) -> None:
        while len(changes) < count:
            await trio.sleep(0.01)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(tracker.run)
            path.write_text("-2\n")
            await until(1)
            path.write_text("-2 unchanged value\n")
            path.write_text("9\n")
            await until(2)
            path.unlink()
            await until(3)
            nursery.cancel_scope.cancel()
    assert changes == [("f", -2), ("f", 9), ("f", 0)]
    assert tracker.value == 0
