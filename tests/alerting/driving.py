"""Drive workers through fake time while their HTTP calls run in real time.

``SteppingClock`` knows how many tasks are parked on it; ``drive`` moves the
clock to the next deadline only when every worker is parked, so fake time
never passes while a request is in flight and the fake server's clock-time
arrival stamps are exactly the moments the workers sent at.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Callable, Union

from exporter.clock import FakeClock
from tests import support


class SteppingClock(FakeClock):
    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.parked = 0

    async def sleep_until(self, when: datetime) -> None:
        if when <= self.now():
            await super().sleep_until(when)
            return
        self.parked += 1
        try:
            await super().sleep_until(when)
        finally:
            self.parked -= 1


async def drive(clock: SteppingClock, done: Callable[[], bool], *, workers: Union[int, Callable[[], int]] = 1,
                max_fake_seconds: float = 86400.0, real_timeout: float = 20.0) -> None:
    """Advance ``clock`` deadline by deadline while ``workers`` tasks (a number, or a function
    counting the live ones) are all parked, until ``done()``."""
    loop = asyncio.get_running_loop()
    real_deadline = loop.time() + real_timeout
    start = clock.now()
    while not done():
        assert loop.time() < real_deadline, "drive: real-time timeout (a worker is stuck?)"
        assert (clock.now() - start).total_seconds() <= max_fake_seconds, "drive: fake-time budget exceeded"
        deadline = clock.next_deadline()
        live = workers() if callable(workers) else workers
        if clock.parked >= live and deadline is not None:
            await clock.advance((deadline - clock.now()).total_seconds())
        else:
            await asyncio.sleep(0.001)


async def run_workers(clock: SteppingClock, workers: list, done: Callable[[], bool], **drive_kwargs) -> None:
    """Run each worker's ``run(stop)`` loop, drive the clock until ``done()``, then stop them."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        await drive(clock, lambda: done() or any(t.done() for t in tasks), workers=len(workers), **drive_kwargs)
        for task in tasks:
            if task.done():
                task.result()  # a worker loop that ended by itself failed: show why
    finally:
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=1.0)
        for task in pending:  # parked in a pacing wait the fake clock will not reach
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def eventually(condition: Callable[[], bool], real_timeout: float = 5.0) -> None:
    """Let real I/O run (fake time stands still) until ``condition()``."""
    await support.eventually(condition, within=real_timeout, what="eventually: condition still false", every=0.001)
