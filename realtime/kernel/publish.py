"""Publish real-time events after the transaction commits, without ever blocking the database thread.

Services call ``publish`` inside their transactions; the event is queued when the transaction commits
(``transaction.on_commit``), so no client ever sees a rolled-back write. Under a server the queue is
drained on the event loop by this process's hub, which delivers to its own sockets at once and forwards
to other processes through the channel layer; in a management command or a plain sync test there is no
loop and the event goes to the layer directly. Async code (consumers, the hub) holds no transaction and
uses ``publish_now``, as do events that are never stored (typing).
"""

from __future__ import annotations

from functools import partial

from django.db import transaction

from realtime.kernel import outbox
from realtime.kernel.events import Event


def publish(event: Event) -> None:
    """Deliver ``event`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(outbox.submit, event))


def publish_now(event: Event) -> None:
    """Deliver ``event`` at once."""
    outbox.submit(event)
