"""Waiting for something that happens on its own time (real I/O, another process), one way.

    doc = await eventually(lambda: store.get(path), within=10, what="the lock document")
    seconds = poll(lambda: proc.health(), within=30, what="/health", stop_if=proc.exited)
    if await reached(lambda: len(seen) >= 3, within=2): ...      # no failure: the test decides

``condition`` may be sync or async; the first truthy value is returned.
``stop_if()`` returning a text gives up at once with it (a process that
died); ``explain()`` adds text to the timeout's message (a log tail). Fake
time (``exporter.clock``) is the way to wait for the service's own
schedules; these are for the real world around it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Awaitable, Callable, TypeVar, Union

T = TypeVar("T")
Condition = Callable[[], Union[T, Awaitable[T]]]


async def _value(condition: Condition) -> Any:
    value = condition()
    return await value if inspect.isawaitable(value) else value


def _failure(what: str, within: float, explain: Callable[[], str] | None) -> AssertionError:
    extra = explain() if explain is not None else ""
    return AssertionError(f"{what}: not within {within:g}s" + (f"\n{extra}" if extra else ""))


async def eventually(condition: Condition, *, within: float, what: str, every: float = 0.05,
                     stop_if: Callable[[], str | None] | None = None,
                     explain: Callable[[], str] | None = None) -> Any:
    """The first truthy ``condition()``, checked every ``every`` seconds; AssertionError after ``within``."""
    deadline = time.monotonic() + within
    while True:
        value = await _value(condition)
        if value:
            return value
        if stop_if is not None and (reason := stop_if()):
            raise AssertionError(f"{reason} while waiting for {what}")
        if time.monotonic() > deadline:
            raise _failure(what, within, explain)
        await asyncio.sleep(every)


async def reached(condition: Condition, *, within: float, every: float = 0.02) -> bool:
    """True as soon as ``condition()`` is truthy, False once ``within`` seconds passed without it."""
    deadline = time.monotonic() + within
    while not await _value(condition):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


def poll(condition: Callable[[], T], *, within: float, what: str, every: float = 0.25,
         stop_if: Callable[[], str | None] | None = None, explain: Callable[[], str] | None = None) -> T:
    """``eventually`` for synchronous tests (real processes driven from the test thread)."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if stop_if is not None and (reason := stop_if()):
            raise AssertionError(f"{reason} while waiting for {what}")
        if time.monotonic() > deadline:
            raise _failure(what, within, explain)
        time.sleep(every)
