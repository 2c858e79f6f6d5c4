"""Where each canonical document lives under the root (``wa_metrics/longrun`` by default).

    >>> Paths("wa_metrics/longrun").heartbeat("2026-01-01T00-00-00")
    'wa_metrics/longrun/heartbeats/2026-01-01T00-00-00'
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.store.base import validate_id

LOCK_NAME = "heartbeat-scheduler"


@dataclass(frozen=True)
class Paths:
    root: str = "wa_metrics/longrun"

    # collections
    @property
    def config_collection(self) -> str:
        return f"{self.root}/config"

    @property
    def locks(self) -> str:
        return f"{self.root}/locks"

    @property
    def heartbeats(self) -> str:
        return f"{self.root}/heartbeats"

    @property
    def probes(self) -> str:
        return f"{self.root}/probes"

    @property
    def incidents(self) -> str:
        return f"{self.root}/incidents"

    @property
    def rollups(self) -> str:
        return f"{self.root}/rollups"

    @property
    def outbox(self) -> str:
        return f"{self.root}/outbox"

    @property
    def maintenance_windows(self) -> str:
        return f"{self.root}/maintenance"

    # documents
    @property
    def config(self) -> str:
        return f"{self.root}/config/current"

    @property
    def state(self) -> str:
        return f"{self.root}/state/current"

    def lock(self, name: str = LOCK_NAME) -> str:
        return f"{self.locks}/{validate_id(name)}"

    def heartbeat(self, bucket_id: str) -> str:
        return f"{self.heartbeats}/{validate_id(bucket_id)}"

    def probe(self, probe_key: str) -> str:
        return f"{self.probes}/{validate_id(probe_key)}"

    def incident(self, incident_id: str) -> str:
        return f"{self.incidents}/{validate_id(incident_id)}"

    def rollup(self, day: str) -> str:
        return f"{self.rollups}/{validate_id(day)}"

    def maintenance(self, window_id: str) -> str:
        return f"{self.maintenance_windows}/{validate_id(window_id)}"
