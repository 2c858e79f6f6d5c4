"""How report figures read: one formatter per kind of number, shared by every renderer.

    >>> pct(99.87654), seconds(2760), ratio(0.5)
    ('99.87%', '2760 s (46m)', '50.00%')
    >>> pct(None), ratio(0.99996)
    ('n/a', '99.99%')

Percentages are floored to ``exporter.domain.percent.PRECISION`` decimals, the
same as the status page: 100.00% means nothing was missed.
"""

from __future__ import annotations

from typing import Any, Mapping

from exporter.domain.percent import PRECISION, floor_percent

NA = "n/a"


def pct(value: float | None, digits: int = PRECISION) -> str:
    """A value already in percent (uptimePct), floored."""
    return NA if value is None else floor_percent(value / 100, digits) or NA


def ratio(value: float | None) -> str:
    """A 0-1 ratio as a percentage, floored."""
    return NA if value is None else floor_percent(value) or NA


def seconds(value: float | None) -> str:
    """Seconds, with a human reading when it is a minute or more."""
    if value is None:
        return NA
    text = f"{value:g} s"
    return f"{text} ({duration(value)})" if value >= 60 else text


def duration(value: float) -> str:
    """``46m``, ``2h05m``, ``1d03h``."""
    total = round(value)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m" + (f"{secs:02d}s" if secs else "")
    return f"{secs}s"


def mttr(window: Any) -> str:
    """``P50 60 s / P90 300 s / P95 600 s`` of a WindowReport."""
    return percentiles(window.mttr)


def mtta(window: Any) -> str:
    """The same for a WindowReport's acknowledgement times."""
    return percentiles(window.mtta)


def percentiles(m: Any) -> str:
    return " / ".join(f"{name} {NA if v is None else f'{v:g} s'}" for name, v in (("P50", m.p50), ("P90", m.p90), ("P95", m.p95)))


def rates(pass_rates: Mapping[str, float | None]) -> str:
    return ", ".join(f"{kind} {pct(rate, 2)}" for kind, rate in pass_rates.items())


def counts(by_key: Mapping[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(by_key.items())) or "none"
