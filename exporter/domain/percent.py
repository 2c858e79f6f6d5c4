"""How a share reads as a percentage: floored, never rounded up, one precision for uptime and coverage.

    >>> floor_percent(0.99996), floor_percent(1.0), floor_percent(0.29), floor_percent(None)
    ('99.99%', '100.00%', '29.00%', None)

Rounding would show 100.00% for 99.996%: a day that missed a slot would read as
perfect. Flooring keeps "100.00%" for nothing missed.
"""

from __future__ import annotations

import math
from typing import Any

PRECISION = 2


def floor_percent(ratio: Any, digits: int = PRECISION) -> str | None:
    """A 0-1 ratio as ``"99.99%"``; None for a missing or non-finite ratio."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio):
        return None
    scaled = math.floor(round(ratio * 10 ** (digits + 2), 6))  # round(…, 6) only undoes float noise (0.29 * 1e4)
    return f"{scaled / 10 ** digits:.{digits}f}%"
