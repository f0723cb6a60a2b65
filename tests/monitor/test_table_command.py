"""`havip monitor --table`: redrawn in place on a terminal, a new block per change otherwise."""

from __future__ import annotations

import io
from ipaddress import IPv4Address

import trio
import trio.testing

from havip.commands.monitor import CLEAR_SCREEN, draw_table
from havip.monitor.loop import Monitor
from havip.monitor.segment import Segment
from tests.monitor.test_segment import packet

A = IPv4Address("192.0.2.1")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def draw(out: io.StringIO, seconds: float, change_at: float | None = None) -> None:
    async def main() -> None:
        segment = Segment(("eth0",))
        segment.receive(packet(A, 150), trio.current_time())
        monitor = Monitor(segment, ["eth0"], lambda events: None)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(draw_table, segment, monitor, 1.0, out)
            if change_at is not None:
                await trio.sleep(change_at)
                segment.receive(packet(A, 120), trio.current_time())
                await trio.sleep(seconds - change_at)
            else:
                await trio.sleep(seconds)
            nursery.cancel_scope.cancel()

    # The census is built in a worker thread: the virtual clock must not jump while it runs,
    # only while every task sleeps, so it waits a little real time before it jumps.
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0.2))


def test_a_terminal_gets_the_table_redrawn_in_place_every_refresh() -> None:
    out = Terminal()
    draw(out, 3.5)
    frames = out.getvalue().split(CLEAR_SCREEN)
    assert frames[0] == "" and len(frames) == 5  # at 0, 1, 2 and 3 s
    assert all("192.0.2.1" in frame for frame in frames[1:])


def test_a_log_gets_a_new_table_only_when_more_than_the_ages_changed() -> None:
    out = io.StringIO()
    draw(out, 5.5, change_at=2.5)
    text = out.getvalue()
    assert CLEAR_SCREEN not in text
    blocks = text.split("--- ")[1:]
    assert len(blocks) == 2
    assert " 150 " in blocks[0] and " 120 " in blocks[1]
