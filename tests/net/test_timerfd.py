"""The receive window's kernel timer, on trio's real clock (short waits)."""

from __future__ import annotations

import trio

from havip.net.timerfd import TimerFd


async def test_a_wait_returns_after_its_time_and_can_be_repeated() -> None:
    timer = TimerFd()
    try:
        for seconds in (0.02, 0.01):
            started = trio.current_time()
            await timer.wait(seconds)
            assert trio.current_time() - started >= seconds * 0.99
    finally:
        timer.close()


async def test_a_wait_is_cancellable_and_the_timer_stays_usable() -> None:
    timer = TimerFd()
    try:
        with trio.move_on_after(0.01) as scope:
            await timer.wait(10.0)
        assert scope.cancelled_caught
        started = trio.current_time()
        await timer.wait(0.01)  # re-armed: the cancelled 10 s no longer counts
        assert trio.current_time() - started < 5.0
    finally:
        timer.close()
