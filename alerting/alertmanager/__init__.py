"""The Alertmanager side: the webhook payload (version 4) as typed, validated data."""

from alerting.alertmanager.payload import Alert, Limits, PayloadError, WebhookPayload, notification_key, parse_payload

__all__ = ["Alert", "Limits", "PayloadError", "WebhookPayload", "notification_key", "parse_payload"]
