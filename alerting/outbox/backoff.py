"""How long a message waits after a transient failure before it is sent again.

    delay = backoff_delay(attempt=3, rng=random.Random())   # between 2 and 4 seconds
"""

from __future__ import annotations

import random

# A chat's messages wait behind its first, so the cap is how late a Telegram outage's backlog
# notices recovery: a minute, at the cost of one request a minute per chat while it lasts.
BACKOFF_CAP = 60.0


def backoff_delay(attempt: int, rng: random.Random, base: float = 1.0, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with jitter: about base·2^(attempt-1), between half and all of it, capped."""
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 30))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)
