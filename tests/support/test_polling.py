"""The waiting helpers fail when they should, and return what they waited for."""

import asyncio

import pytest

from tests.support import eventually, iso, iso_ms, poll, reached


async def test_eventually_returns_the_first_truthy_value_of_a_sync_or_async_condition():
    calls = []

    async def later():
        calls.append(1)
        return "ready" if len(calls) >= 3 else None

    assert await eventually(later, within=5, what="ready", every=0.001) == "ready" and len(calls) == 3
    assert await eventually(lambda: 7, within=1, what="seven") == 7


async def test_eventually_names_what_it_waited_for_and_stops_early_when_told():
    with pytest.raises(AssertionError, match=r"the lock: not within 0.05s\nlog tail"):
        await eventually(lambda: None, within=0.05, what="the lock", every=0.01, explain=lambda: "log tail")
    with pytest.raises(AssertionError, match="process exited while waiting for the lock"):
        await asyncio.wait_for(eventually(lambda: None, within=60, what="the lock", stop_if=lambda: "process exited"), 5)


async def test_reached_says_whether_without_failing():
    assert await reached(lambda: True, within=0.1)
    assert not await reached(lambda: False, within=0.05)


def test_poll_is_the_same_for_synchronous_tests():
    values = iter([0, 0, "up"])
    assert poll(lambda: next(values), within=5, what="up", every=0.001) == "up"
    with pytest.raises(AssertionError, match="down: not within"):
        poll(lambda: False, within=0.02, what="down", every=0.005)


def test_times_as_requests_carry_them():
    from datetime import datetime, timezone
    moment = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=timezone.utc)
    assert (iso(moment), iso_ms(moment)) == ("2026-03-01T08:00:00.123456Z", "2026-03-01T08:00:00.000Z")
