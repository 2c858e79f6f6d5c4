"""Changing the runtime config document: the one implementation the admin API and the CLI call.

    editor = ConfigEditor(store, paths, clock, source)
    edit = await editor.plan({"alertThresholds": {"missedHbPerHour": 5}})   # validated, nothing written
    edit.before["alertThresholds.missedHbPerHour"], edit.changes[...]        # 3 -> 5, to show or confirm
    config = await editor.apply(edit, by="admin")   # conditional: only if nobody wrote since the plan

``plan`` validates the edit as ``runtime_config.validate_patch`` does (any bad,
unknown or read-only field refuses all of it) against the stored document as
the jobs will read it (a missing document reads as the defaults), and writes
nothing. ``apply`` writes only the changed fields, on the version the plan
read (creating the document with the defaults first when the plan found none):
an edit that lands in between wins and this one raises ``PreconditionFailed``
with nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.clock import Clock
from exporter.domain import runtime_config
from exporter.services.config import ConfigSource
from exporter.store import DocumentStore, Paths, PreconditionFailed

NOTHING_TO_CHANGE = "nothing to change: give at least one editable field"


class InvalidConfigEdit(ValueError):
    """The edit was refused; ``errors`` are ``"path: what is wrong"`` strings."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ConfigEdit:
    changes: dict[str, Any]  # dotted path -> new value
    before: dict[str, Any]  # dotted path -> the value the jobs use now
    version: str | None  # of the document the edit was validated against


def leaves(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted path -> value for every leaf (an empty map is a leaf)."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            out.update(leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class ConfigEditor:
    def __init__(self, store: DocumentStore, paths: Paths, clock: Clock, source: ConfigSource) -> None:
        self.store, self.paths, self.clock, self.source = store, paths, clock, source

    async def plan(self, patch: Any) -> ConfigEdit:
        """Validate ``patch`` (nested fields) against the stored document. Raises InvalidConfigEdit."""
        doc = await self.store.get(self.paths.config)
        current = runtime_config.validate(doc.data if doc is not None else {}, last_good=self.source.current).config
        result = runtime_config.validate_patch(patch, current)
        if result.errors:
            raise InvalidConfigEdit(result.errors)
        changes = {path: value for path, value in leaves(patch).items() if path not in runtime_config.META}
        if not changes:
            raise InvalidConfigEdit([NOTHING_TO_CHANGE])
        before = {path: runtime_config.get_path(current, path, None) for path in changes}
        return ConfigEdit(changes, before, doc.version if doc is not None else None)

    async def apply(self, edit: ConfigEdit, *, by: str) -> dict[str, Any]:
        """Write the planned fields if the document is still the one planned on; the config after.

        The running jobs read the edit at their next run (``ConfigSource.load``), not here.
        """
        version = edit.version
        if version is None:  # planned on the defaults: they must still be what is stored
            if not await self.source.ensure():
                raise PreconditionFailed(f"{self.paths.config} was created while this edit was planned")
            version = (await self.store.get(self.paths.config)).version
        fields = {**edit.changes, "updatedAt": self.clock.now(), "updatedBy": by}
        await self.store.update(self.paths.config, fields, if_version=version)
        return await self.stored()

    async def stored(self) -> dict[str, Any]:
        """The config the jobs will use at their next run, from the stored document."""
        doc = await self.store.get(self.paths.config)
        return runtime_config.validate(doc.data if doc is not None else {}, last_good=self.source.current).config

    async def update(self, patch: Any, *, by: str) -> tuple[ConfigEdit, dict[str, Any]]:
        """Plan and apply at once (no one to ask in between)."""
        edit = await self.plan(patch)
        return edit, await self.apply(edit, by=by)
