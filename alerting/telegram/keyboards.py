"""Inline buttons on incident messages, and their signed ``callback_data``. Pure.

A button's ``callback_data`` (at most 64 bytes) is ``{action}.{ref}.{mac}``:

- ``action``: ``a`` acknowledge, ``r`` resolve, ``s`` silence 1 h;
- ``ref``: 16 characters naming the incident, an HMAC of its id (the store
  maps it back: ``{root}/chat_refs/{ref}``), so no incident id leaks into chats;
- ``mac``: 16 characters of HMAC over action and ref.

The key is derived from the bot token, which every instance has and no chat
member sees: a forged or edited ``callback_data`` (another action, another
incident) fails the check and changes nothing.

    buttons = Buttons(secret_from_token(token), silences=True)
    markup = buttons.markup(incident)           # only the actions that still apply, or None
    press = buttons.parse(callback_data)        # Press(action="ack", ref=...) or None when forged
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Mapping

ACTIONS = {"a": "ack", "r": "resolve", "s": "silence"}
CODES = {name: code for code, name in ACTIONS.items()}
LABELS = {"ack": "👀 Acknowledge", "resolve": "✅ Resolve", "silence": "🔕 Silence 1 h"}
MAX_CALLBACK_BYTES = 64
_PART = 16


@dataclass(frozen=True)
class Press:
    action: str
    ref: str


def secret_from_token(bot_token: str) -> bytes:
    return hashlib.sha256(b"longrun chat-ops buttons\0" + bot_token.encode()).digest()


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:_PART]


def applicable(incident: Mapping[str, Any], *, silences: bool) -> list[str]:
    """The actions that still make sense for the incident, in button order."""
    status = incident.get("status")
    if status == "open":
        actions = ["ack", "resolve"]
    elif status == "acknowledged":
        actions = ["resolve"]
    else:
        return []
    if silences and incident.get("source") == "alertmanager" and incident.get("labels"):
        actions.append("silence")
    return actions


class Buttons:
    def __init__(self, secret: bytes, *, silences: bool = False) -> None:
        self._secret = secret
        self.silences = silences

    def ref(self, incident_id: str) -> str:
        return _b64(hmac.new(self._secret, b"ref\0" + incident_id.encode(), hashlib.sha256).digest())

    def _mac(self, code: str, ref: str) -> str:
        return _b64(hmac.new(self._secret, f"press\0{code}\0{ref}".encode(), hashlib.sha256).digest())

    def data(self, action: str, incident_id: str) -> str:
        code, ref = CODES[action], self.ref(incident_id)
        data = f"{code}.{ref}.{self._mac(code, ref)}"
        assert len(data.encode()) <= MAX_CALLBACK_BYTES
        return data

    def parse(self, data: Any) -> Press | None:
        """The press a genuine ``callback_data`` stands for; None for anything forged or malformed."""
        if not isinstance(data, str) or len(data.encode()) > MAX_CALLBACK_BYTES:
            return None
        parts = data.split(".")
        if len(parts) != 3 or parts[0] not in ACTIONS:
            return None
        code, ref, mac = parts
        if not hmac.compare_digest(mac.encode(), self._mac(code, ref).encode()):
            return None
        return Press(ACTIONS[code], ref)

    def markup(self, incident: Mapping[str, Any]) -> dict[str, Any] | None:
        """The inline keyboard for the incident as it is now; None when no action applies."""
        incident_id = str(incident.get("incidentId") or "")
        actions = applicable(incident, silences=self.silences) if incident_id else []
        if not actions:
            return None
        row = [{"text": LABELS[a], "callback_data": self.data(a, incident_id)} for a in actions]
        return {"inline_keyboard": [row]}
