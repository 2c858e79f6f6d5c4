"""Loads ``config/current`` before each job run and keeps the last good version.

    source = ConfigSource(store, paths, seed=defaults(...), clock=clock)
    await source.ensure()           # create with defaults when missing
    config = await source.load()    # re-read; invalid fields keep their last good value
"""

from __future__ import annotations

import logging
from typing import Any

from exporter.clock import Clock
from exporter.domain import runtime_config
from exporter.store import AlreadyExists, DocumentStore, Paths, StoreError

log = logging.getLogger("longrun.config")


class ConfigSource:
    def __init__(self, store: DocumentStore, paths: Paths, seed: dict[str, Any], clock: Clock) -> None:
        self.store, self.paths, self.clock = store, paths, clock
        self.seed = seed
        self.current: dict[str, Any] = dict(seed)
        self.errors_total = 0
        self.last_errors: list[str] = []
        self.raw: dict[str, Any] = {}
        self._reported_version: str | None = None

    async def ensure(self) -> bool:
        """Create the document with the defaults when missing; True when this call created it.

        ``create`` is atomic, so two instances starting together cannot both
        write their own idea of the defaults.
        """
        now = self.clock.now()
        try:
            await self.store.create(self.paths.config, {**self.seed, "createdAt": now, "updatedAt": now})
        except AlreadyExists:
            await self.load()
            self._warn_about_mirrors()
            return False
        log.info("✅ Config initialized at %s with the runbook's defaults", self.paths.config)
        return True

    async def load(self) -> dict[str, Any]:
        """Re-read the document. On a store failure keep the last good config and say so."""
        try:
            doc = await self.store.get(self.paths.config)
        except StoreError as exc:
            log.warning("config: store unreachable (%s); using the last good config", exc.__class__.__name__)
            return self.current
        if doc is None:
            return self.current
        self.raw = doc.data
        result = runtime_config.validate(doc.data, last_good=self.current)
        self.current = result.config
        self.last_errors = result.errors
        if result.errors:
            self.errors_total += 1
        if doc.version != self._reported_version:
            # Say it once per edit, not on every job run.
            self._reported_version = doc.version
            if result.errors:
                log.error(
                    "config: %s has invalid fields, keeping their last good values: %s. "
                    "Fix them with `longrun config set` or PATCH /api/admin/longrun/config",
                    self.paths.config,
                    "; ".join(result.errors),
                )
            for warning in result.warnings:
                log.warning("config: %s", warning)
        return self.current

    def _warn_about_mirrors(self) -> None:
        for path in runtime_config.READ_ONLY:
            stored = runtime_config.get_path(self.raw, path, None)
            wanted = runtime_config.get_path(self.seed, path, None)
            if stored != wanted:
                log.warning(
                    "config: %s says %s=%s but this process runs with %s; the process setting wins",
                    self.paths.config, path, stored, wanted,
                )
