"""Hand a document this instance just wrote to whoever shows it, in the same moment.

    runner.listeners.append(feed.take_own)
    tell(runner.listeners, doc)          # after the store accepted the write

The metrics and the status page take the leader's own heartbeats and probe
results this way instead of waiting for the next refresh. A listener that
raises is logged; the write it was told about stands.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("longrun.listeners")

Listener = Callable[[dict[str, Any]], None]


def tell(listeners: list[Listener], doc: dict[str, Any]) -> None:
    for listener in listeners:
        try:
            listener(doc)
        except Exception:
            log.exception("showing a document this instance wrote failed; /metrics and the page catch up at the next refresh")
