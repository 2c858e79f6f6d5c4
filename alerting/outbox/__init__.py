"""The persisted Telegram outbox: save the message first, deliver it after.

One concept a module:

- ``messages``    what a message is: ``OutgoingMessage``, its id (``message_id``, ``messages_for``),
                  its priority (``priority_for``, ``BULK``) and states (``PENDING`` ... ``MERGED``).
- ``routes``      ``ChatRoutes``: the configured chats and where each moved to (supergroup migration).
- ``backoff``     ``backoff_delay``: the wait after a transient failure.
- ``collection``  ``Outbox``: the stored collection (enqueue, pending, digests' merge, backlog).
- ``worker``      ``OutboxWorker``: claim, pace, send, record; merges a chat's backlog into digests.

    outbox = Outbox(store, paths, clock)
    await outbox.enqueue(messages_for(notification_key(payload), render_group(payload, now=clock.now()),
                                      chats.configured))
    worker = OutboxWorker(store, paths, client, Pacer(clock), clock, chats)
    worker.wake()                       # after an enqueue: don't wait for the next poll
    await worker.run(stop_event)        # or: await worker.run_once()

Import from here (``from alerting.outbox import Outbox``); the modules are where each piece lives.
"""

from alerting.outbox.backoff import BACKOFF_CAP, backoff_delay
from alerting.outbox.collection import Outbox
from alerting.outbox.messages import (
    BULK, FAILED, MERGED, PENDING, SENT, OutgoingMessage, message_id, messages_for, priority_for,
)
from alerting.outbox.routes import ChatRoutes
from alerting.outbox.worker import PACING_MEMORY, OutboxStats, OutboxWorker, Pass

__all__ = [
    "BACKOFF_CAP", "BULK", "FAILED", "MERGED", "PACING_MEMORY", "PENDING", "SENT",
    "ChatRoutes", "Outbox", "OutboxStats", "OutboxWorker", "OutgoingMessage", "Pass",
    "backoff_delay", "message_id", "messages_for", "priority_for",
]
