"""``longrun lock status|release``: refuse a live lease without --force; with it, print before and after."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from exporter.clock import RealClock
from exporter.domain.lease import lock_document, parse_lock
from exporter.jobs.leadership import Leadership
from exporter.settings import load_settings
from exporter.store import Paths, open_store
from tests.cli.conftest import tty


def hold_lock(cli, *, seconds_left: float, holder: str = "leader-a", generation: int = 4) -> None:
    now = datetime.now(timezone.utc)

    async def write(store, paths):
        doc = lock_document(holder, "deploy-1", now - timedelta(seconds=120 - seconds_left), 120, generation)
        await store.set(paths.lock(), doc)

    cli.with_store(write)


def stored_lock(cli):
    async def read(store, paths):
        doc = await store.get(paths.lock())
        return doc.data if doc else None

    return cli.with_store(read)


def test_status_of_a_free_a_held_and_an_expired_lock(cli):
    assert cli.ok("lock", "status", "--json").json()["state"] == "free"
    hold_lock(cli, seconds_left=90)
    held = cli.ok("lock", "status", "--json").json()
    assert (held["state"], held["holder"], held["generation"]) == ("held", "leader-a", 4)
    assert 80 < held["secondsLeft"] <= 90
    hold_lock(cli, seconds_left=-5)
    assert cli.ok("lock", "status").out.startswith("lock heartbeat-scheduler: expired (last holder leader-a")


def test_release_refuses_a_live_lease_and_says_who_holds_it_until_when(cli):
    hold_lock(cli, seconds_left=90)
    result = cli("lock", "release", "--yes")
    assert result.code == 1 and len(result.err_lines) == 1
    assert "lock heartbeat-scheduler is held by leader-a until 20" in result.err
    assert "release it now with --force" in result.err
    assert parse_lock(stored_lock(cli)).released is False


def test_force_prints_before_and_after_then_releases(cli):
    hold_lock(cli, seconds_left=90)
    result = cli.ok("lock", "release", "--force", "--yes")
    lines = result.out.splitlines()
    assert lines[0].startswith("before: lock heartbeat-scheduler: held by leader-a (generation 4) until")
    assert lines[1].startswith("after:  lock heartbeat-scheduler: released (last holder leader-a, generation 4")
    assert lines[2].startswith("released: lock heartbeat-scheduler: released")
    view = parse_lock(stored_lock(cli))
    assert view.released and view.lease_until <= datetime.now(timezone.utc)
    assert stored_lock(cli)["releasedBy"] == "cli-test"


def test_force_without_yes_refuses_when_nobody_can_answer(sqlite_cli):
    hold_lock(sqlite_cli, seconds_left=90)
    result = sqlite_cli("lock", "release", "--force")
    assert result.code == 64 and result.err_lines == [
        "longrun: refusing to release lock heartbeat-scheduler held by leader-a without --yes: stdin is not a terminal"]
    assert "before: lock heartbeat-scheduler: held by leader-a" in result.out
    assert parse_lock(stored_lock(sqlite_cli)).released is False
    declined = sqlite_cli("lock", "release", "--force", stdin=tty("no"))
    assert declined.code == 1 and parse_lock(stored_lock(sqlite_cli)).released is False


def test_an_expired_lease_needs_no_release(sqlite_cli):
    hold_lock(sqlite_cli, seconds_left=-30)
    result = sqlite_cli.ok("lock", "release")
    assert result.out.rstrip().endswith("; nothing to release")


async def test_the_holder_steps_down_after_a_forced_release(sqlite_cli, tmp_path):
    """The leader's next renewal is conditional on the version it wrote: it sees the release and stops leading."""
    store = open_store(load_settings())
    leader = Leadership(store, Paths(), RealClock(), instance_id="leader-a", lease=120, renew=60)
    await leader.maintain()
    assert leader.holds(datetime.now(timezone.utc))
    await asyncio.to_thread(sqlite_cli.ok, "lock", "release", "--force", "--yes")
    leader.retry_later(0)  # renew now rather than in a minute
    await leader.maintain()
    assert not leader.is_leader
    await store.close()
