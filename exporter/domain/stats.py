"""Percentiles, MTTR percentiles and pass rates: the numbers every report quotes.

Percentiles use the **nearest-rank** method: the p-th percentile of n sorted
values is the value at rank ``ceil(p / 100 * n)`` (1-based; rank 1 for p = 0).
It never interpolates, so every percentile is a value that was really observed
("half the incidents were fixed within 90 s" names an actual incident).

    >>> percentile([15, 20, 35, 40, 50], 40)
    20
    >>> mttr_percentiles([30, 60, 90, 600])
    Percentiles(p50=60, p90=600, p95=600)
    >>> pass_rate_pct(passed=99, failed=1)
    99.0
"""

from __future__ import annotations

import math
from typing import Iterable, NamedTuple, Sequence


class Percentiles(NamedTuple):
    p50: float | None
    p90: float | None
    p95: float | None


def is_number(value: object) -> bool:
    """A finite int or float; ``True``/``False`` are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank p-th percentile of ``values`` (any order); None when empty.

    Raises ValueError when ``p`` is outside [0, 100].
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside [0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    # 1e-9 absorbs float noise such as 0.95 * 20 = 19.000000000000004.
    rank = max(1, math.ceil(p / 100 * len(ordered) - 1e-9))
    return ordered[rank - 1]


def mttr_percentiles(mttr_seconds: Iterable[object]) -> Percentiles:
    """P50/P90/P95 of the usable repair times; all None when there are none.

    Values that are not finite non-negative numbers (None, strings, NaN,
    negative durations from corrupt documents) are left out.
    """
    usable = [v for v in mttr_seconds if is_number(v) and v >= 0]
    return Percentiles(percentile(usable, 50), percentile(usable, 90), percentile(usable, 95))


def pass_rate_pct(passed: int, failed: int) -> float | None:
    """Percent of PASS over PASS + FAIL (SKIP never counts); None when no run."""
    runs = passed + failed
    if runs <= 0:
        return None
    return 100.0 * passed / runs
