"""Links into longrun's runbook (docs/runbook.md), whose base URL is the setting LONGRUN_RUNBOOK_URL.

    runbook_link("https://example.com/runbook.md", "missed_heartbeat")
    # 'https://example.com/runbook.md#incident-missed_heartbeat'

An alert brings its own ``runbook_url`` (the rules are rendered with the same
base); an incident longrun opened itself (the monitor, the watchdog) has none,
so its message links the section of its type.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def incident_anchor(incident_type: str) -> str:
    """The GitHub anchor of the heading ``### Incident: <type>``."""
    return "incident-" + _UNSAFE.sub("", str(incident_type).lower())


def runbook_link(base: str, incident_type: str) -> str:
    return f"{base}#{incident_anchor(incident_type)}" if base else ""
