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

    @property
    def incident_keys(self) -> str:
        """One document per active (type, subject), naming its incident."""
        return f"{self.root}/incident_keys"

    @property
    def alert_subjects(self) -> str:
        """One document per (type, subject) an alert opened, naming its newest incident."""
        return f"{self.root}/alert_subjects"

    # documents
    @property
    def config(self) -> str:
        return f"{self.root}/config/current"

    @property
    def state(self) -> str:
        return f"{self.root}/state/current"

    @property
    def watchdog_state(self) -> str:
        """When any instance last heard Alertmanager's Watchdog."""
        return f"{self.root}/state/watchdog"

    def outbound_probe_state(self, instance_id: str) -> str:
        """The document the outbound probe of one instance writes and reads back."""
        return f"{self.root}/state/{validate_id(f'outbound-probe-{instance_id}')}"

    def lock(self, name: str = LOCK_NAME) -> str:
        return f"{self.locks}/{validate_id(name)}"

    def lock_release(self, name: str = LOCK_NAME) -> str:
        """The notice a forced release of lock ``name`` leaves for its holder to watch."""
        return f"{self.root}/state/lock-release-{validate_id(name)}"

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

    def incident_key(self, open_key: str) -> str:
        return f"{self.incident_keys}/{validate_id(open_key)}"

    def alert_subject(self, open_key: str) -> str:
        return f"{self.alert_subjects}/{validate_id(open_key)}"

    def inbound_token(self, token_hash: str) -> str:
        """An inbound probe waiting for its message, by the token's hash (never the token)."""
        return f"{self.root}/inbound_tokens/{validate_id(token_hash)}"
