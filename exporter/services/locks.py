"""Releasing a lease by hand (runbook Procedure 1): the one implementation the admin API and the CLI call.

    locks = LockService(store, paths, clock)
    doc = await locks.read("heartbeat-scheduler")                 # None: no lock document
    done = await locks.release("heartbeat-scheduler", by="admin")  # now, on the version it reads
    done = await locks.release(name, by="cli-host-1", seen=doc)   # on the version the operator saw

The release is a conditional write: a renewal or a takeover that lands between
the read and the write wins (``PreconditionFailed``) and nothing is released.
The holder and the generation stay, so the next holder's generation is one
higher. A notice (``Paths.lock_release``) naming the released generation is
written after it: the holder follows that notice while it leads and steps
down within a second, instead of at its next renewal (up to a minute of two
leaders otherwise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exporter.clock import Clock
from exporter.domain.lease import release_fields
from exporter.store import Document, DocumentStore, NotFound, Paths, StoreError

log = logging.getLogger("longrun.lease")


@dataclass(frozen=True)
class Released:
    name: str
    before: dict[str, Any]  # the lock document as it was
    after: dict[str, Any]  # as written
    at: datetime


class LockService:
    def __init__(self, store: DocumentStore, paths: Paths, clock: Clock) -> None:
        self.store, self.paths, self.clock = store, paths, clock

    async def read(self, name: str) -> Document | None:
        return await self.store.get(self.paths.lock(name))

    async def release(self, name: str, *, by: str, seen: Document | None = None) -> Released:
        """End the lease now, on the version of ``seen`` (default: read it now).

        Raises NotFound (no lock document) and PreconditionFailed (it changed since it was read).
        """
        current = seen if seen is not None else await self.read(name)
        if current is None:
            raise NotFound(f"no lock {name}")
        now = self.clock.now()
        fields = {**release_fields(now), "releasedBy": by}
        await self.store.update(self.paths.lock(name), fields, if_version=current.version)
        generation = current.data.get("generation")
        try:
            await self.store.set(self.paths.lock_release(name), {"lockName": name, "generation": generation,
                                                                 "releasedBy": by, "releasedAt": now})
        except StoreError as exc:  # the release stands; the holder then learns at its next renewal
            log.warning("lock %s released, but the notice to its holder was not written (%s): it steps down "
                        "at its next renewal instead of at once", name, exc.__class__.__name__)
        return Released(name, dict(current.data), {**current.data, **fields}, now)
