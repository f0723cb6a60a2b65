"""The shared timer scheduler, on trio's MockClock (no real sleeping)."""

from __future__ import annotations

import trio
import trio.testing

from havip.scheduler import COALESCE, TimerScheduler


async def test_fires_at_deadlines_in_order_and_coalesces_close_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fired: list[tuple[str, float, float]] = []
    scheduler: TimerScheduler[str] = TimerScheduler(
        lambda key, now: fired.append((key, now, trio.current_time()))
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        start = trio.current_time()
        scheduler.set("b", start + 2.0)
        scheduler.set("a", start + 1.0)
        scheduler.set("a2", start + 1.0 + COALESCE / 2)
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    assert [key for key, _, _ in fired] == ["a", "a2", "b"]
    (_, a_now, a_woke), (_, a2_now, a2_woke), (_, b_now, b_woke) = fired
    assert a_woke == a2_woke == start + 1.0  # one wake served both
    assert (a_now, a2_now) == (start + 1.0, start + 1.0 + COALESCE / 2)  # each sees its deadline
    assert b_woke == b_now == start + 2.0


async def test_moving_a_deadline_earlier_wakes_the_scheduler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fired: list[float] = []
    scheduler: TimerScheduler[str] = TimerScheduler(lambda _key, now: fired.append(now))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        start = trio.current_time()
        scheduler.set("x", start + 100.0)
        await trio.sleep(1)
        scheduler.set("x", start + 2.0)
        await trio.sleep(200)
        nursery.cancel_scope.cancel()
    assert fired == [start + 2.0]


async def test_moved_later_and_cancelled_deadlines_do_not_fire_early(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fired: list[tuple[str, float]] = []
    scheduler: TimerScheduler[str] = TimerScheduler(lambda key, now: fired.append((key, now)))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        start = trio.current_time()
        scheduler.set("later", start + 1.0)
        scheduler.set("gone", start + 1.5)
        scheduler.set("later", start + 5.0)
        scheduler.discard("gone")
        await trio.sleep(10)
        nursery.cancel_scope.cancel()
    assert fired == [("later", start + 5.0)]


async def test_a_fire_callback_may_reschedule_itself(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fired: list[float] = []
    scheduler: TimerScheduler[str] = TimerScheduler(lambda key, now: None)

    def fire(key: str, now: float) -> None:
        fired.append(now)
        if len(fired) < 5:
            scheduler.set(key, now + 0.01)

    scheduler = TimerScheduler(fire)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        start = trio.current_time()
        scheduler.set("advert", start + 0.01)
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert len(fired) == 5
    assert [round(t - start, 6) for t in fired] == [0.01, 0.02, 0.03, 0.04, 0.05]


async def test_after_batch_runs_once_per_wake_after_its_last_fire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A wake that fires three coalesced keys ends with one `after_batch` (the agent carries
    out their effects there, together); a wake that finds only moved deadlines has none."""
    events: list[str] = []
    scheduler: TimerScheduler[str] = TimerScheduler(
        lambda key, _now: events.append(key), lambda: events.append("after")
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(scheduler.run)
        start = trio.current_time()
        for key in ("a", "b", "c"):
            scheduler.set(key, start + 1.0)
        scheduler.set("d", start + 2.0)
        await trio.sleep(1.5)
        scheduler.set("d", start + 3.0)  # moved: the wake at 2.0 fires nothing
        await trio.sleep(2.0)
        nursery.cancel_scope.cancel()
    assert events == ["a", "b", "c", "after", "d", "after"]
