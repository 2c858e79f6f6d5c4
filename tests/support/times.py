"""Times as requests carry them."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, to the microsecond (what Alertmanager sends)."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def iso_ms(moment: datetime) -> str:
    """``2026-03-01T08:00:00.000Z``: the admin API's examples (whole seconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
