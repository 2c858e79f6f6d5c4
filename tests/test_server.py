"""``serve()`` runs its loops in one asyncio.TaskGroup: a loop that fails cancels the others,
and the failure reaches the caller as itself (``longrun run`` prints it and exits 1)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from exporter import server
from exporter.settings import Settings


class Broken(Exception):
    pass


async def test_a_loop_that_fails_cancels_the_others_and_is_raised(tmp_path, monkeypatch, unused_tcp_port):
    cancelled: list[str] = []
    real_loops = server._loops

    def watched(name, run):
        async def go(stop):
            try:
                await run(stop)
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
        return go

    async def broken(stop):
        await asyncio.sleep(0.2)
        raise Broken("the alert bridge fell over")

    def loops(runtime, app):
        return [(name, watched(name, run)) for name, run in real_loops(runtime, app)] + [("broken", broken)]

    monkeypatch.setattr(server, "_loops", loops)
    settings = Settings(store_url=f"sqlite:///{tmp_path / 'longrun.db'}", listen_port=unused_tcp_port, instance_id="a")
    stop = asyncio.Event()
    with pytest.raises(Broken, match="fell over"):
        await asyncio.wait_for(server.serve(settings, stop=stop), timeout=60)
    assert not stop.is_set(), "nobody asked it to stop: the failure did"
    assert {"scheduler", "alerts", "chatops", "connections"} <= set(cancelled)


async def test_a_port_in_use_is_a_startup_error_and_nothing_keeps_running(tmp_path, unused_tcp_port):
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", unused_tcp_port)
    try:
        settings = Settings(store_url=f"sqlite:///{tmp_path / 'longrun.db'}", listen_port=unused_tcp_port, instance_id="a")
        before = asyncio.all_tasks()
        with pytest.raises(server.StartupError, match="already in use"):
            await asyncio.wait_for(server.serve(settings), timeout=60)
        assert asyncio.all_tasks() - before == set(), "the refresh loop was left running"
    finally:
        blocker.close()
        await blocker.wait_closed()


async def test_the_gil_switch_interval_is_short_while_serving_and_given_back_after(tmp_path, monkeypatch, unused_tcp_port):
    """0.2 ms while ``longrun run`` serves (the SQLite worker and the loop then work at once, see
    benchmarks/webhook.py); whatever it was before once ``serve()`` returns, even by a failure."""
    seen: list[float] = []

    async def peek(stop):
        seen.append(sys.getswitchinterval())
        raise Broken("seen enough")

    monkeypatch.setattr(server, "_loops", lambda runtime, app: [("peek", peek)])
    before = sys.getswitchinterval()
    settings = Settings(store_url=f"sqlite:///{tmp_path / 'longrun.db'}", listen_port=unused_tcp_port, instance_id="a")
    with pytest.raises(Broken):
        await asyncio.wait_for(server.serve(settings, stop=asyncio.Event()), timeout=60)
    assert seen == [pytest.approx(server.SWITCH_INTERVAL_S)] and before > 10 * server.SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == before
