"""Alerting: Alertmanager webhooks in, Telegram messages out.

- ``alerting.alertmanager``  the webhook payload (version 4): parsing and validation, no I/O.
- ``alerting.telegram``      message formatting (pure), the Bot API client, and pacing.
- ``alerting.outbox``        the persisted outbox: messages are saved first, delivered after,
                             claimed with a conditional write so several senders are safe.

Dependencies point one way: ``alertmanager`` and ``telegram.format`` know nothing
of aiohttp or the store; ``outbox`` joins the store to the Telegram client.
"""
