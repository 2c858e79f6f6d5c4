"""The words longrun stores, exports and prints: defined once, imported everywhere.

    from exporter.domain.vocabulary import PROBE_TYPES, SCHEDULE_KEY
    hours = config["probeSchedules"][SCHEDULE_KEY["outbound"]]     # "outboundHours"

A probe type, a result or a severity spelled anywhere else is a bug waiting
for the day one copy changes.
"""

from __future__ import annotations

# ---------------------------------------------------------------- probes

PROBE_TYPES = ("outbound", "queue", "inbound")
PROBE_RESULTS = ("PASS", "FAIL", "SKIP")
# The config document's probeSchedules key holding each type's slot length in hours.
SCHEDULE_KEY = {"outbound": "outboundHours", "queue": "queueHours", "inbound": "inboundHours"}
