"""The notify FIFO: keepalived's lines, non-blocking writes, keepalived's create/remove rules."""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from havip.notify.fifo import NOTIFY_STATES, NotifyFifo, fifo_line
from havip.proto.model import State


def test_lines_are_keepalived_s_format() -> None:
    assert fifo_line("INSTANCE", "VI_1", "MASTER", 100) == 'INSTANCE "VI_1" MASTER 100\n'
    assert fifo_line("GROUP", "G1", "BACKUP", 0) == 'GROUP "G1" BACKUP 0\n'
    assert fifo_line("INSTANCE", "VI 2", "STOP", 254) == 'INSTANCE "VI 2" STOP 254\n'


def test_every_notified_state_has_keepalived_s_word_and_init_has_none() -> None:
    words = {state: NOTIFY_STATES.get(state.value) for state in State}
    assert words == {
        State.INIT: None,
        State.BACKUP: "BACKUP",
        State.MASTER: "MASTER",
        State.FAULT: "FAULT",
        State.STOP: "STOP",
    }


@contextmanager
def reader(path: Path) -> Iterator[int]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        yield fd
    finally:
        os.close(fd)


def test_a_missing_fifo_is_created_written_in_order_and_removed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "notify.fifo"
    fifo = NotifyFifo(str(path))
    fifo.open()
    assert stat.S_ISFIFO(path.stat().st_mode)
    with reader(path) as fd:
        assert fifo.write(fifo_line("INSTANCE", "VI_1", "BACKUP", 100))
        assert fifo.write(fifo_line("INSTANCE", "VI_1", "MASTER", 100))
        assert os.read(fd, 4096) == b'INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\n'
    fifo.close()
    assert not path.exists()


def test_an_existing_fifo_is_used_and_left_in_place(tmp_path: Path) -> None:
    path = tmp_path / "notify.fifo"
    os.mkfifo(path)
    fifo = NotifyFifo(str(path))
    fifo.open()
    fifo.close()
    assert stat.S_ISFIFO(path.stat().st_mode)


def test_an_existing_regular_file_collects_the_lines_as_in_keepalived(tmp_path: Path) -> None:
    path = tmp_path / "notify.log"
    path.write_text("")
    fifo = NotifyFifo(str(path))
    fifo.open()
    assert fifo.write(fifo_line("GROUP", "G1", "FAULT", 0))
    fifo.close()
    assert path.read_text() == 'GROUP "G1" FAULT 0\n'


def test_when_no_one_reads_a_line_is_dropped_and_counted_instead_of_blocking(
    tmp_path: Path,
) -> None:
    fifo = NotifyFifo(str(tmp_path / "notify.fifo"))
    fifo.open()
    line = fifo_line("INSTANCE", "VI_1", "MASTER", 100)
    written = 0
    while fifo.write(line):
        written += 1
    assert written > 0
    assert fifo.dropped == 1
    fifo.close()


def test_writing_to_a_closed_fifo_is_a_counted_drop(tmp_path: Path) -> None:
    fifo = NotifyFifo(str(tmp_path / "notify.fifo"))
    assert not fifo.write(fifo_line("INSTANCE", "VI_1", "MASTER", 100))
    assert fifo.dropped == 1


def test_a_created_fifo_is_given_to_its_configured_owner(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file away")
    nobody = pwd.getpwnam("nobody")
    path = tmp_path / "notify.fifo"
    fifo = NotifyFifo(str(path), (nobody.pw_uid, nobody.pw_gid))
    fifo.open()
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    fifo.close()


def test_an_existing_fifo_keeps_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "notify.fifo"
    os.mkfifo(path)
    before = path.stat()
    fifo = NotifyFifo(str(path), (before.st_uid + 1, before.st_gid + 1))
    fifo.open()
    after = path.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    fifo.close()
