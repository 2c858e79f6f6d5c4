"""``longrun lock status`` / ``longrun lock release [--force]``: the scheduler lease (runbook procedure 1).

    longrun lock status --json
    longrun lock release            # refuses while the lease is live: says who holds it and until when
    longrun lock release --force    # releases now (prints before and after; asks unless --yes)

A forced release is a conditional write on the version just read, so a renewal
that lands in between wins and nothing is released. The holder notices at its
next renewal (the version changed, the lock says released) and steps down; a
standby takes over at once.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from exporter.cli.common import CliError, Context, add_json, add_yes
from exporter.domain.lease import LeaseView, parse_lock, release_fields
from exporter.domain.slots import iso
from exporter.store import PreconditionFailed
from exporter.store.paths import LOCK_NAME


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("lock", help="show or release the scheduler lease", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="who holds the lease, until when")
    release = actions.add_parser("release", help="release the lease (refused while live unless --force)")
    release.add_argument("--force", action="store_true", help="release a live lease now")
    add_yes(release)
    for sub in (status, release):
        sub.add_argument("--name", default=LOCK_NAME, help=f"lock name (default {LOCK_NAME})")
        add_json(sub)
    status.set_defaults(handler=lock_status)
    release.set_defaults(handler=lock_release)


def lock_state(view: LeaseView | None, now: datetime) -> dict[str, Any]:
    """free (no document), released, expired or held; with the holder and the time left."""
    if view is None:
        return {"state": "free", "holder": None, "generation": None, "leaseUntil": None, "secondsLeft": None}
    left = (view.lease_until - now).total_seconds()
    state = "released" if view.released else "held" if view.holder and left > 0 else "expired"
    return {"state": state, "holder": view.holder, "generation": view.generation,
            "leaseUntil": iso(view.lease_until), "secondsLeft": round(left, 3) if state == "held" else 0}


def describe(name: str, state: dict[str, Any]) -> str:
    if state["state"] == "free":
        return f"lock {name}: free (no lock document)"
    if state["state"] == "held":
        return (f"lock {name}: held by {state['holder']} (generation {state['generation']}) until "
                f"{state['leaseUntil']} ({state['secondsLeft']:g}s left)")
    return f"lock {name}: {state['state']} (last holder {state['holder']}, generation {state['generation']}, lease until {state['leaseUntil']})"


async def lock_status(ctx: Context) -> int:
    async with ctx.runtime() as runtime:
        doc = await runtime.locks.read(ctx.args.name)
        state = lock_state(parse_lock(doc.data if doc else None), runtime.clock.now())
    ctx.emit({"lock": ctx.args.name, **state}, [describe(ctx.args.name, state)])
    return 0


async def lock_release(ctx: Context) -> int:
    name = ctx.args.name
    async with ctx.runtime() as runtime:
        doc = await runtime.locks.read(name)
        before = lock_state(parse_lock(doc.data if doc else None), runtime.clock.now())
        if before["state"] != "held":
            ctx.emit({"lock": name, "released": False, "before": before}, [describe(name, before) + "; nothing to release"])
            return 0
        if not ctx.args.force:
            raise CliError(f"lock {name} is held by {before['holder']} until {before['leaseUntil']} "
                           f"({before['secondsLeft']:g}s left); it expires on its own, or release it now with --force")
        after = lock_state(parse_lock({**doc.data, **release_fields(runtime.clock.now())}), runtime.clock.now())
        ctx.say(f"before: {describe(name, before)}")
        ctx.say(f"after:  {describe(name, after)}; the holder steps down at its next renewal")
        ctx.confirm(f"release lock {name} held by {before['holder']}")
        try:
            await runtime.locks.release(name, by=runtime.identity.instance_id, seen=doc)
        except PreconditionFailed:
            raise CliError(f"lock {name} changed while you decided (renewed or taken over); nothing released, run again") from None
        final = await runtime.locks.read(name)
        state = lock_state(parse_lock(final.data if final else None), runtime.clock.now())
    ctx.emit({"lock": name, "released": True, "before": before, "after": state}, [f"released: {describe(name, state)}"])
    return 0

