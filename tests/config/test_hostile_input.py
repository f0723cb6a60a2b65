"""Nothing an operator (or a broken generator) feeds `havip check` makes a traceback or a hang:
each file below gets exit 2 and a FILE:LINE error that says what was expected."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from havip.cli import main
from havip.config import ConfigError, load_config
from havip.config.diagnostics import MAX_SUGGESTIONS
from havip.config.parser import MAX_BLOCK_DEPTH
from havip.config.source import MAX_FILES, MAX_INCLUDE_DEPTH, MAX_PATTERNS


def instance(priority: str) -> str:
    return (
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n"
        f"    priority {priority}\n    virtual_ipaddress {{\n        192.0.2.1\n    }}\n}}\n"
    )


def check(path: Path | str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["check", "-f", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return err


def test_a_non_ascii_digit_is_not_a_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "k.conf"
    path.write_text(instance("²"))
    assert f"{path}:4: error: priority: expected a whole number from 1 to 255, got '²'" in check(
        path, capsys
    )


def test_a_4301_digit_number_is_out_of_range_and_not_echoed_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "k.conf"
    path.write_text(instance("9" * 4301))
    err = check(path, capsys)
    assert f"{path}:4: error: priority: expected a whole number from 1 to 255" in err
    assert max(len(line) for line in err.splitlines()) < 400


def test_blocks_nested_too_deep_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "k.conf"
    path.write_text("global_defs " + "{ a " * 495 + "}" * 495 + "\n")
    assert f"nested deeper than {MAX_BLOCK_DEPTH} levels" in check(path, capsys)


def test_a_long_include_chain_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(329):
        (tmp_path / f"inc{index}.conf").write_text(f"include inc{index + 1}.conf\n")
    assert f"includes nested deeper than {MAX_INCLUDE_DEPTH} files" in check(
        tmp_path / "inc0.conf", capsys
    )


def test_an_endless_device_is_refused_before_reading(capsys: pytest.CaptureFixture[str]) -> None:
    assert "/dev/zero: error: cannot read /dev/zero: not a regular file" in check(
        "/dev/zero", capsys
    )


def test_a_directory_is_not_a_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert f"cannot read {tmp_path}" in check(tmp_path, capsys)


@pytest.mark.parametrize("odd", ["\v", "\f", "\x1c", "\x85", "\u2028", "\u2029", "\r"])
def test_only_newlines_count_as_line_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], odd: str
) -> None:
    path = tmp_path / "k.conf"
    path.write_text(f"# a comment{odd} with{odd} odd breaks\n" + instance("999"))
    err = check(path, capsys)
    assert err.splitlines() == [
        f"{path}:5: error: priority: expected a whole number from 1 to 255, got '999'"
    ]


def test_windows_line_endings_are_read_as_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "k.conf"
    path.write_bytes(instance("999").replace("\n", "\r\n").encode())
    assert f"{path}:4: error: priority" in check(path, capsys)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_errors_never_exceptions(data: bytes) -> None:
    with tempfile.NamedTemporaryFile(suffix=".conf") as file:
        file.write(data)
        file.flush()
        try:
            load_config(file.name)
        except ConfigError as error:
            assert error.diagnostics


@pytest.mark.parametrize(
    ("block", "name"),
    [
        ("vrrp_instance", '"VI_1\\nINSTANCE \\"VI_2\\" MASTER 100"'),  # would forge a FIFO line
        ("vrrp_instance", "'VI \"1'"),
        ("vrrp_script", '"chk\\tone"'),
        ("vrrp_sync_group", '"G\\e[31m"'),
        ("vrrp_track_file", "'file\\'s'"),
    ],
)
def test_names_with_control_characters_or_quotes_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], block: str, name: str
) -> None:
    path = tmp_path / "k.conf"
    path.write_text(f"\n{block} {name} {{\n}}\n" + instance("100"))
    err = check(path, capsys)
    assert f"{path}:2: error: {block}: the name " in err
    assert "use letters, digits and punctuation other than quotes" in err


def check_in_a_child(path: Path) -> str:
    """`havip check` in its own process, so a regression to a hang fails instead of hanging."""
    done = subprocess.run(
        [sys.executable, "-m", "havip", "check", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "k.conf"
    os.mkfifo(fifo)
    assert f"cannot read {fifo}: not a regular file" in check_in_a_child(fifo)


def test_braces_that_expand_to_millions_of_patterns_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("include " + "{a,b}" * 22 + ".conf\n")
    err = check_in_a_child(path)
    assert f"{path}:1: error: include " in err
    assert f"braces expand to more than {MAX_PATTERNS} patterns" in err


def test_files_that_all_include_each_other_stop_at_the_file_limit(tmp_path: Path) -> None:
    for index in range(8):
        (tmp_path / f"f{index}.conf").write_text("include *.conf\n")
    err = check_in_a_child(tmp_path / "f0.conf")
    assert f"more than {MAX_FILES} files" in err
    assert err.count(f"more than {MAX_FILES} files") == 1


def test_many_unknown_keywords_get_suggestions_only_for_the_first_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "k.conf"
    path.write_text("".join(f"vrrp_instanse_{index} 1\n" for index in range(MAX_SUGGESTIONS + 50)))
    lines = check(path, capsys).splitlines()
    assert len(lines) == MAX_SUGGESTIONS + 50
    assert all("(did you mean 'vrrp_instance'?)" in line for line in lines[:MAX_SUGGESTIONS])
    assert not any("did you mean" in line for line in lines[MAX_SUGGESTIONS:])
