"""notify_priority_changes: keepalived's MASTER_PRIORITY / BACKUP_PRIORITY FIFO lines."""

from __future__ import annotations

from pathlib import Path

from havip.config import load_config
from havip.hooks import Hooks
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.events import PriorityChanged
from havip.proto.model import State


def hooks(tmp_path: Path, *specs: RouterSpec, after: tuple[str, ...] = ()) -> tuple[Hooks, Path]:
    fifo = tmp_path / "notify.fifo"
    fifo.write_text("")  # a regular file collects the lines, as keepalived allows
    first = RouterSpec(
        **{
            **specs[0].__dict__,
            "global_extra": (f"notify_fifo {fifo}", "vrrp_notify_priority_changes"),
        }
    )
    path = tmp_path / "keepalived.conf"
    path.write_text(keepalived_conf(first, *specs[1:], after=after))
    return Hooks(load_config(path), lambda *_: None, lambda _: None, lambda _: None), fifo


def test_each_priority_change_is_a_line_named_after_the_state_it_happened_in(
    tmp_path: Path,
) -> None:
    built, fifo = hooks(tmp_path, RouterSpec(priority=100))
    for state, new in ((State.MASTER, 90), (State.BACKUP, 80), (State.FAULT, 70)):
        built.outputs("VI_1", [PriorityChanged(new + 10, new, "script chk", state)])
    built.outputs("VI_1", [PriorityChanged(70, 60, "file f", State.INIT)])  # not started yet
    built.close()
    assert fifo.read_text().splitlines() == [
        'INSTANCE "VI_1" MASTER_PRIORITY 90',
        'INSTANCE "VI_1" BACKUP_PRIORITY 80',
        'INSTANCE "VI_1" BACKUP_PRIORITY 70',
    ]


def test_an_instance_can_turn_off_what_global_defs_turns_on(tmp_path: Path) -> None:
    quiet = RouterSpec(
        priority=100, instance="VI_2", vrid=52, extra=("notify_priority_changes off",)
    )
    built, fifo = hooks(tmp_path, RouterSpec(priority=100), quiet)
    built.outputs("VI_2", [PriorityChanged(100, 90, "script chk", State.MASTER)])
    built.outputs("VI_1", [PriorityChanged(100, 90, "script chk", State.MASTER)])
    built.close()
    assert fifo.read_text().splitlines() == ['INSTANCE "VI_1" MASTER_PRIORITY 90']
