"""What the HTTP server did to protect itself, for /metrics (``longrun_http_*``).

    stats = HttpStats()
    stats.closed["header_timeout"] += 1
    stats.open, stats.limit

Plain counters, no aiohttp: the server (``exporter/web/server.py``) and the app's
guards write them, the metrics readers read them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class HttpStats:
    """``closed`` by reason and ``refused`` by cause: the label values of ``catalog.HTTP_CLOSE_REASONS``
    and ``catalog.HTTP_REFUSAL_CAUSES``."""

    open: int = 0
    limit: int = 0
    closed: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    accept_errors: int = 0
