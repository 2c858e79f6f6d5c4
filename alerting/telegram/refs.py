"""Buttons for incident messages, with the store entry that maps a button back to its incident.

``markup`` writes ``{root}/chat_refs/{ref}`` = ``{incidentId}`` (idempotent:
the ref is an HMAC of the id) before handing out the keyboard, so every button
Telegram shows can be resolved by any instance; ``incident_id`` reads it back.

    refs = ButtonRefs(store, paths, buttons)
    markup = await refs.markup(incident)     # None when no action applies
    incident_id = await refs.incident_id(press.ref)
"""

from __future__ import annotations

from typing import Any, Mapping

from alerting.telegram.keyboards import Buttons
from exporter.store import DocumentStore, Paths


class ButtonRefs:
    def __init__(self, store: DocumentStore, paths: Paths, buttons: Buttons) -> None:
        self._store = store
        self._collection = f"{paths.root}/chat_refs"
        self.buttons = buttons

    async def markup(self, incident: Mapping[str, Any]) -> dict[str, Any] | None:
        markup = self.buttons.markup(incident)
        if markup is not None:
            incident_id = str(incident["incidentId"])
            await self._store.set(f"{self._collection}/{self.buttons.ref(incident_id)}", {"incidentId": incident_id})
        return markup

    async def incident_id(self, ref: str) -> str | None:
        doc = await self._store.get(f"{self._collection}/{ref}")
        value = doc.get("incidentId") if doc is not None else None
        return value if isinstance(value, str) else None
