"""Every metric longrun exports: name, type, help and labels, in one list.

This is data, not registration: the exporter builds its collectors from it,
and the shipped Prometheus rules and Grafana dashboards are tested against it,
so a renamed metric breaks the test that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exporter.domain import vocabulary

PREFIX = "longrun_"

# Label values initialised to 0 so that every series exists from the first scrape.
WINDOWS = ("1h", "24h", "7d")
INCIDENT_TYPES = tuple(vocabulary.INCIDENT_TYPES)
PROBE_TYPES, PROBE_RESULTS, SEVERITIES = vocabulary.PROBE_TYPES, vocabulary.PROBE_RESULTS, vocabulary.SEVERITIES
JOBS = ("lease", "heartbeat", "outbound_probe", "queue_probe", "inbound_probe", "monitor", "rollup", "retention", "refresh")
TELEGRAM_RESULTS = ("sent", "retried", "failed")
ALERT_STATUSES = ("firing", "resolved")
# What the webhook answers when it refuses a call: 400 payload, 401 token, 403 no token configured,
# 413 size, 503 store down or too slow (Alertmanager retries only that one).
WEBHOOK_ERROR_CODES = ("400", "401", "403", "413", "503")
INCIDENT_SOURCES = ("monitor", "alertmanager", "manual")
# What became of a Telegram update (chat-ops): a press or command applied, refused, and why.
CHATOPS_OUTCOMES = ("applied", "already", "refused", "forged", "foreign_chat", "unknown", "too_long", "store_error",
                    "duplicate", "error")
CHATOPS_POLL_ERRORS = ("telegram", "store", "conflict", "internal")
# Acknowledgement times (seconds): around the runbook's response times, 300 / 900 / 3600.
ACK_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0)
# Why the HTTP server closed a connection, and why it refused a request before any route saw it.
HTTP_CLOSE_REASONS = ("header_timeout", "body_timeout", "idle_timeout", "write_timeout", "over_limit")
HTTP_REFUSAL_CAUSES = ("malformed", "header_too_long", "host")


@dataclass(frozen=True)
class MetricSpec:
    name: str  # without the longrun_ prefix; counters without _total
    kind: Literal["gauge", "counter", "info", "histogram"]
    help: str
    labels: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return PREFIX + self.name

    @property
    def sample_names(self) -> tuple[str, ...]:
        """The names that appear in the exposition (and so in PromQL)."""
        if self.kind == "counter":
            return (self.full_name + "_total",)
        if self.kind == "info":
            return (self.full_name + "_info",)
        if self.kind == "histogram":
            return tuple(self.full_name + suffix for suffix in ("_bucket", "_count", "_sum"))
        return (self.full_name,)


CATALOG: tuple[MetricSpec, ...] = (
    # heartbeats
    MetricSpec("heartbeat_last_timestamp_seconds", "gauge", "When the newest heartbeat of any instance was written (epoch seconds)."),
    MetricSpec("heartbeat_interval_seconds", "gauge", "Configured heartbeat interval."),
    MetricSpec("heartbeat_max_gap_seconds", "gauge",
               "Longest gap between heartbeats in the window, edges included (NaN: no slot expected yet).", ("window",)),
    MetricSpec("heartbeat_coverage_ratio", "gauge",
               "Heartbeats written over heartbeats expected in the window (0-1; NaN: no slot expected yet).", ("window",)),
    MetricSpec("heartbeat_missed", "gauge", "Heartbeat slots without a document in the window.", ("window",)),
    MetricSpec("heartbeat_drift_seconds", "gauge", "Write time minus slot start of this instance's last heartbeat."),
    MetricSpec("heartbeats_written", "counter", "Heartbeat documents this instance wrote."),
    # probes
    MetricSpec("probe_success", "gauge",
               "1 when the probe's last scheduled result was PASS, 0 FAIL; NaN never run or SKIP (manual runs not counted).",
               ("type",)),
    MetricSpec("probe_skipped", "gauge",
               "1 when the probe's last scheduled result was SKIP (not configured), 0 when it ran; NaN never run.", ("type",)),
    MetricSpec("probe_last_run_timestamp_seconds", "gauge", "When the probe last ran.", ("type",)),
    MetricSpec("probe_latency_seconds", "gauge", "Latency of the probe's last run.", ("type",)),
    MetricSpec("probe_consecutive_failures", "gauge", "FAIL results in a row, newest first.", ("type",)),
    MetricSpec("probe_runs", "counter", "Probe runs by result.", ("type", "result")),
    # incidents
    MetricSpec("incidents_open", "gauge", "Open or acknowledged incidents.", ("type", "severity")),
    MetricSpec("incidents", "counter", "Incidents opened.", ("type", "severity")),
    MetricSpec("incidents_last_24h", "gauge", "Incidents that started in the last 24 hours."),
    MetricSpec("incidents_opened", "counter", "Incidents opened by this instance, by source.", ("source",)),
    MetricSpec("incidents_resolved", "counter", "Incidents resolved by this instance, by source.", ("source",)),
    # leadership and store
    MetricSpec("leader", "gauge", "1 when this instance holds the scheduler lease."),
    MetricSpec("lock_generation", "gauge", "Generation (fencing token) of the scheduler lease."),
    MetricSpec("lock_lease_expiry_timestamp_seconds", "gauge", "When the current scheduler lease expires."),
    MetricSpec("store_up", "gauge", "1 when the last store operation succeeded."),
    MetricSpec("store_errors", "counter", "Store operations that failed.", ("operation",)),
    MetricSpec("config_errors", "counter", "Runtime config documents rejected as invalid (last good kept)."),
    # jobs
    MetricSpec("job_last_success_timestamp_seconds", "gauge", "When the job last finished without error.", ("job",)),
    MetricSpec("job_last_duration_seconds", "gauge", "How long the job's last run took.", ("job",)),
    MetricSpec("job_runs", "counter", "Job runs started.", ("job",)),
    MetricSpec("job_failures", "counter", "Job runs that raised.", ("job",)),
    MetricSpec("rollup_last_day_timestamp_seconds", "gauge", "Start of the newest UTC day that has a rollup."),
    MetricSpec("rollup_uptime_ratio", "gauge", "Uptime of the newest rolled-up day (0-1)."),
    # monitored target
    MetricSpec("target_up", "gauge", "1 when the monitored service answered its status request."),
    MetricSpec("connected_accounts", "gauge", "Accounts the monitored service reports connected."),
    MetricSpec("expected_accounts", "gauge", "Accounts expected connected (config document)."),
    MetricSpec("reconnecting_accounts", "gauge", "Accounts the monitored service reports reconnecting."),
    MetricSpec("needs_qr_accounts", "gauge", "Accounts that need a new QR login."),
    MetricSpec("queue_depth", "gauge", "Outgoing queue depth of the monitored service."),
    MetricSpec("target_reconnects", "counter", "Reconnects the monitored service reports (its own counter)."),
    # thresholds from the config document, so rules follow edits
    MetricSpec("alert_threshold", "gauge", "Alert thresholds of the runtime config document.", ("name",)),
    # alert bridge and Telegram
    MetricSpec("alertmanager_alerts", "counter", "Alerts received from Alertmanager, by their own status.", ("status",)),
    MetricSpec("alertmanager_webhook_errors", "counter",
               "Webhook calls refused, by HTTP status (401: Alertmanager's token is wrong; 503: the store).", ("code",)),
    MetricSpec("alertmanager_watchdog_last_seen_timestamp_seconds", "gauge",
               "When this instance last received Alertmanager's Watchdog (0: not since it started)."),
    MetricSpec("telegram_messages", "counter", "Telegram sends by outcome.", ("result",)),
    MetricSpec("outbox_depth", "gauge", "Messages waiting in the outbox."),
    MetricSpec("outbox_oldest_timestamp_seconds", "gauge", "When the oldest waiting message was queued (0 when empty)."),
    # response times (chat-ops)
    MetricSpec("incident_ack_seconds", "histogram",
               "Seconds from an incident being known to its first acknowledgement (or a person resolving it).",
               ("severity",)),
    MetricSpec("telegram_updates", "counter",
               "Telegram updates (button presses, commands) handled by the leader, by outcome.", ("outcome",)),
    MetricSpec("telegram_poll_errors", "counter",
               "getUpdates failures by kind (telegram, store, conflict: a webhook set or another poller).", ("kind",)),
    MetricSpec("incident_reminders", "counter", "Reminders of unacknowledged incidents saved for delivery."),
    # maintenance windows
    MetricSpec("maintenance_active", "gauge", "1 while a maintenance window runs (planned work: not counted, not paged)."),
    MetricSpec("maintenance_seconds", "counter", "Seconds inside maintenance windows since this process started."),
    MetricSpec("maintenance_silence_failures", "counter",
               "Alertmanager silence calls for maintenance windows that failed (retried until the window ends)."),
    # the HTTP server protecting itself (exporter/web/server.py)
    MetricSpec("http_connections", "gauge", "HTTP connections open now."),
    MetricSpec("http_connection_limit", "gauge",
               "Most HTTP connections held at once (LONGRUN_HTTP_MAX_CONNECTIONS, lowered under ulimit -n)."),
    MetricSpec("http_connections_closed", "counter",
               "HTTP connections the server closed: past a deadline, or to stay under the cap.", ("reason",)),
    MetricSpec("http_requests_refused", "counter",
               "Requests refused before any route: not valid HTTP, a header too long, a Host not allowed.", ("cause",)),
    MetricSpec("http_accept_errors", "counter", "accept() calls that failed for want of file descriptors."),
    # identity
    MetricSpec("build", "info", "Version, commit and instance of this process.", ("version", "commit", "instance_id")),
)

THRESHOLD_NAMES = (
    "missedHbPerHour", "consecutiveProbeFails", "queueDepthThreshold", "reconnectLoop",
    "maxIncidentsPerDay", "insufficientDataThreshold", "coverageAlertRatio",
)


def by_name() -> dict[str, MetricSpec]:
    return {spec.full_name: spec for spec in CATALOG}


def exposed_names() -> set[str]:
    """Every sample name a scrape can contain, for checking rules and dashboards."""
    names: set[str] = set()
    for spec in CATALOG:
        names.update(spec.sample_names)
    return names
