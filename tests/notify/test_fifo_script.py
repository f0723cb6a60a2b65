"""notify_fifo_script: keepalived's FIFO reader, started with the FIFO's path, run by havip."""

from __future__ import annotations

import os
from pathlib import Path

import trio

from havip.config import load_config
from havip.hooks import Hooks
from havip.lab.configs import RouterSpec, keepalived_conf
from havip.proto.model import State

READER = """#!/bin/sh
# keepalived's sample_notify_fifo.sh, reduced: every line read from the FIFO ($1) is kept.
exec 3< "$1"
echo "reading $1" >> {out}
while read -r line <&3; do
    echo "$line" >> {out}
done
echo "end of input" >> {out}
"""


async def test_the_fifo_script_reads_every_line_and_ends_with_the_fifo(tmp_path: Path) -> None:
    out = tmp_path / "seen.txt"
    script = tmp_path / "reader.sh"
    script.write_text(READER.format(out=out))
    os.chmod(script, 0o755)
    fifo = tmp_path / "notify.fifo"
    spec = RouterSpec(
        priority=100,
        global_extra=(
            "script_user root",
            f"vrrp_notify_fifo {fifo}",
            f'vrrp_notify_fifo_script "{script}"',
        ),
    )
    path = tmp_path / "keepalived.conf"
    path.write_text(keepalived_conf(spec))
    hooks = Hooks(load_config(path), lambda *_: None, lambda _: None, lambda _: None)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(hooks.run)
            while not out.exists():  # the reader has the FIFO open
                await trio.sleep(0.01)
            hooks.notify("INSTANCE", "VI_1", State.BACKUP, 100)
            hooks.notify("INSTANCE", "VI_1", State.MASTER, 100)
            hooks.notify("INSTANCE", "VI_1", State.STOP, 100)
            await hooks.drain_stop_notifications()  # closes the FIFO: the reader sees its end
            nursery.cancel_scope.cancel()
    hooks.close()
    assert out.read_text().splitlines() == [
        f"reading {fifo}",
        'INSTANCE "VI_1" BACKUP 100',
        'INSTANCE "VI_1" MASTER 100',
        'INSTANCE "VI_1" STOP 100',
        "end of input",
    ]
    assert not fifo.exists()  # created by havip, so removed by it
