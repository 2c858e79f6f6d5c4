"""The Telegram side, one concept per module:

- ``format``  pure: alert groups and incident changes as HTML messages within 4096 units.
- ``pacing``  the Bot API rate limits, waited out through the injected Clock.
- ``client``  the ``sendMessage`` call over aiohttp, its answer classified.

Chat-ops (``alerting.chatops`` builds them from settings):

- ``bot_api``      getUpdates, answerCallbackQuery, editMessageText (and direct replies); the token redacted.
- ``access``       pure: who may act (TELEGRAM_ADMIN_IDS), from which chats, and how they are named.
- ``keyboards``    pure: the inline buttons and their signed ``callback_data``.
- ``refs``         the store entry mapping a button back to its incident.
- ``actions``      acknowledge / resolve through the incident service, with friendly refusals.
- ``silencing``    "Silence 1 h" through the maintenance windows' Alertmanager client.
- ``callbacks``    button presses: check, apply, answer, edit the message.
- ``commands``     /status, /incidents, /ack, /resolve, /maintenance.
- ``maintenance_command``  /maintenance DURATION REASON through the maintenance service.
- ``updates``      the leader's getUpdates loop: the offset and per-update claims in the store.
- ``texts``        pure: what chat-ops says (reminders, answers, /status).

Nothing is re-exported here, so importing the pure ``format`` does not pull in aiohttp.
"""
