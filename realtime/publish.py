"""Publish real-time events after the transaction commits, without ever blocking the database thread.

Services call these functions inside their transactions. Each event is serialized once, here, and
queued when the transaction commits (``transaction.on_commit``), so no client ever sees a rolled-back
write. Under a server the queue is drained on the event loop by this process's hub, which delivers to
its own sockets at once and forwards to other processes through the channel layer with a timeout; in a
management command or a plain sync test there is no loop and the event goes to the layer directly.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

from django.db import transaction

from realtime import outbox

Audience = Literal["messages", "notifications", "all"]


def encode(frame: dict[str, Any]) -> str:
    """Serialize a frame exactly once for all its recipients (compact JSON, UTF-8 kept as is)."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)


def publish_frame(
    group: str,
    frame: dict[str, Any],
    *,
    audience: Audience,
    room: int | None = None,
    seq: int | None = None,
    sender: int | None = None,
) -> None:
    """Send ``frame`` to the sockets of ``audience`` in ``group`` once the current transaction commits."""
    envelope = {
        "group": group,
        "audience": audience,
        "frame": encode(frame),
        "room": room,
        "seq": seq,
        "sender": sender,
    }
    transaction.on_commit(partial(outbox.submit, envelope))


def publish_close(group: str, code: int, *, room: int | None = None) -> None:
    """Close every socket in ``group`` (only those following ``room``, if given) with ``code`` once the
    current transaction commits."""
    envelope = {"group": group, "audience": "all", "close": code, "room": room}
    transaction.on_commit(partial(outbox.submit, envelope))
